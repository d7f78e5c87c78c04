// Package splitter turns one uploaded batch file into queued ops: it reads
// the S3 event, streams the object twice (a structural check, then the
// split), enqueues every valid op with bounded concurrency and retries, and
// writes a report next to the batch. It knows S3, SQS and the report store
// only through the small interfaces below.
package splitter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// Ref names one version of one object. Version may be empty (unversioned
// bucket); ETag then pins the content that is read. EventTime and
// Sequencer come from the S3 event that announced the upload and make the
// batch's stamp (record.NewStamp); they are zero when the split was not
// started by an event.
type Ref struct {
	Bucket, Key, Version, ETag string
	EventTime                  time.Time
	Sequencer                  string
}

// Objects reads batch files and writes reports.
type Objects interface {
	// Open streams the object named by ref. It returns an error wrapping
	// ErrNotFound when the object or version no longer exists.
	Open(ctx context.Context, ref Ref) (io.ReadCloser, error)
	// Put writes a small object.
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
}

// ErrNotFound is returned (wrapped) by Objects.Open for a missing object.
var ErrNotFound = errors.New("object not found")

// MaxSendBatch is SQS's limit of entries in one SendMessageBatch call.
const MaxSendBatch = 10

// SendFailure is one entry of a send call that SQS did not accept.
type SendFailure struct {
	// Index is the entry's position in the slice passed to SendBatch.
	Index int
	// Reason is SQS's code and message.
	Reason string
	// Permanent is true when SQS blames the sender (retrying cannot help).
	Permanent bool
}

// Queue enqueues ops.
type Queue interface {
	// SendBatch sends at most MaxSendBatch messages in one call. A non-nil
	// error means the call failed as a whole (nothing is known to be
	// sent); otherwise the failures list the entries that were not sent.
	SendBatch(ctx context.Context, msgs []record.Message) ([]SendFailure, error)
}

// Config tunes a Service. Zero fields take the defaults.
type Config struct {
	// Concurrency is the number of SendMessageBatch calls in flight.
	Concurrency int // default 8
	Retry       retry.Policy
	// Margin is kept free before the invocation's deadline to write a
	// "failed" report when the batch cannot be split in time.
	Margin  time.Duration // default 2s
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics Metrics
}

// Metrics receives the splitter's counters (CloudWatch EMF in Lambda).
type Metrics interface {
	Split(Counts)
}

// Counts are the splitter's counters for one split batch.
type Counts struct {
	// Enqueued and Rejected are the report's totals.
	Enqueued, Rejected int
	// SendCalls is the number of SendMessageBatch calls, Retries the
	// number of them that were retries.
	SendCalls, Retries int
}

// DefaultConcurrency is the default number of send calls in flight.
const DefaultConcurrency = 8

// Service splits batches.
type Service struct {
	objects Objects
	queue   Queue
	cfg     Config
}

// New returns a Service using objects and queue.
func New(objects Objects, queue Queue, cfg Config) *Service {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Retry.Attempts == 0 {
		cfg.Retry = retry.Default
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Margin == 0 {
		cfg.Margin = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{objects: objects, queue: queue, cfg: cfg}
}

// Handle is the Lambda handler: it splits every batch named by the event's
// records and ignores the rest. It returns an error only when a batch could
// not be split for a reason a retry may fix; S3's asynchronous invocation
// then retries the whole event, which is safe because splitting is
// idempotent (compute writes are keyed by op name).
func (s *Service) Handle(ctx context.Context, ev events.S3Event) error {
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-s.cfg.Margin))
		defer cancel()
	}
	var errs []error
	for _, rec := range ev.Records {
		ref, ok, err := s.batchRef(rec)
		if err != nil {
			s.cfg.Logger.Warn("ignoring record", "event", rec.EventName, "key", rec.S3.Object.Key, "error", err)
			continue
		}
		if !ok {
			s.cfg.Logger.Debug("ignoring object", "event", rec.EventName, "key", ref.Key)
			continue
		}
		if _, err := s.Split(ctx, ref); err != nil {
			errs = append(errs, fmt.Errorf("split s3://%s/%s: %w", ref.Bucket, ref.Key, err))
		}
	}
	return errors.Join(errs...)
}

// batchRef decodes a record's key and says whether it names a batch.
func (s *Service) batchRef(rec events.S3EventRecord) (Ref, bool, error) {
	// Keys arrive URL-encoded ('+' for a space). Decode the raw key here
	// rather than trust URLDecodedKey, which only JSON decoding fills in.
	key, err := url.QueryUnescape(rec.S3.Object.Key)
	if err != nil {
		return Ref{}, false, fmt.Errorf("undecodable key: %w", err)
	}
	ref := Ref{Bucket: rec.S3.Bucket.Name, Key: key, Version: rec.S3.Object.VersionID, ETag: rec.S3.Object.ETag,
		EventTime: rec.EventTime, Sequencer: rec.S3.Object.Sequencer}
	if rec.EventName != "" && !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
		return ref, false, nil
	}
	return ref, IsBatchKey(key), nil
}

// IsBatchKey reports whether key is a batch the splitter handles: under the
// batch prefix, with a .json or .jsonl suffix. Reports live under another
// prefix, so the splitter's own writes never retrigger it.
func IsBatchKey(key string) bool {
	if !strings.HasPrefix(key, naming.BatchPrefix) {
		return false
	}
	_, ok := batch.FormatOf(key)
	return ok
}

// Split processes one batch object and writes its report. The returned
// report is also the one stored. The error is non-nil when the batch could
// not be fully enqueued or its report not written.
func (s *Service) Split(ctx context.Context, ref Ref) (record.Report, error) {
	format, ok := batch.FormatOf(ref.Key)
	if !ok {
		return record.Report{}, fmt.Errorf("%s: not a .json or .jsonl batch", ref.Key)
	}
	id := naming.BatchID(ref.Key, firstNonEmpty(ref.ETag, ref.Version))
	stamp := record.NewStamp(ref.EventTime, ref.Sequencer, id)
	rep := record.Report{Batch: id, Stamp: stamp, Bucket: ref.Bucket, Key: ref.Key, StartedAt: s.cfg.Now().UTC()}
	log := s.cfg.Logger.With("batch", id)

	// Pass 1: structural check. Nothing is enqueued for a broken file.
	// A read that fails part way (after the SDK's own retries) is tried
	// again here: a batch must not depend on S3's asynchronous retries
	// alone to get a report.
	var err error
	for attempt := 1; ; attempt++ {
		err = s.check(ctx, ref, format)
		if err == nil || !retryableRead(err) || attempt >= readAttempts || s.cfg.Retry.Wait(ctx, attempt) != nil {
			break
		}
		log.Warn("reading the batch failed; trying again", "attempt", attempt, "error", err)
	}
	if err != nil {
		var se *batch.SyntaxError
		switch {
		case errors.As(err, &se):
			off := se.Offset
			rep.Status, rep.Error, rep.Offset = record.ReportRejected, se.Error(), &off
			log.Warn("batch rejected", "offset", se.Offset, "reason", se.Reason)
			return rep, s.writeReport(ctx, &rep)
		case errors.Is(err, ErrNotFound):
			// The object was deleted or overwritten before we got to it:
			// retrying cannot help. Say so in a report.
			rep.Status, rep.Error = record.ReportFailed, err.Error()
			log.Warn("batch vanished", "error", err)
			return rep, s.writeReport(ctx, &rep)
		default:
			rep.Status, rep.Error = record.ReportFailed, err.Error()
			log.Error("batch unreadable", "error", err)
			return rep, errors.Join(err, s.writeReport(context.WithoutCancel(ctx), &rep))
		}
	}

	// Pass 2: stream, validate, enqueue. A read failure part way starts
	// the pass again; ops sent twice are computed twice, to the same item.
	var stats sendStats
	for attempt := 1; ; attempt++ {
		rep = record.Report{Batch: id, Stamp: stamp, Bucket: ref.Bucket, Key: ref.Key, StartedAt: rep.StartedAt}
		var st sendStats
		st, err = s.enqueue(ctx, ref, format, id, &rep)
		stats.calls += st.calls
		stats.retries += st.retries
		if err == nil || !errors.Is(err, errRead) || !retryableRead(err) || attempt >= readAttempts || s.cfg.Retry.Wait(ctx, attempt) != nil {
			break
		}
		log.Warn("reading the batch failed part way; splitting again", "attempt", attempt, "enqueued", rep.Totals.Enqueued, "error", err)
	}
	if err != nil {
		rep.Status, rep.Error = record.ReportFailed, err.Error()
		log.Error("batch failed", "error", err, "enqueued", rep.Totals.Enqueued)
		if werr := s.writeReport(context.WithoutCancel(ctx), &rep); werr != nil {
			err = errors.Join(err, werr)
		}
		return rep, err
	}
	rep.Status = record.ReportSplit
	if err := s.writeReport(ctx, &rep); err != nil {
		return rep, err
	}
	log.Info("batch split", "ops", rep.Totals.Ops, "enqueued", rep.Totals.Enqueued,
		"rejected", rep.Totals.Rejected, "send_calls", stats.calls, "retries", stats.retries)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Split(Counts{Enqueued: rep.Totals.Enqueued, Rejected: rep.Totals.Rejected, SendCalls: stats.calls, Retries: stats.retries})
	}
	return rep, nil
}

func (s *Service) check(ctx context.Context, ref Ref, f batch.Format) error {
	body, err := s.objects.Open(ctx, ref)
	if err != nil {
		return err
	}
	defer body.Close()
	return batch.Check(body, f)
}

type sendStats struct{ calls, retries int }

// readAttempts bounds the tries of each pass when reading the object fails.
const readAttempts = 3

// errRead marks a failure to read the batch object (rather than to send).
var errRead = errors.New("reading the batch")

// retryableRead reports whether a failed read may succeed if tried again:
// not a broken file, not a missing object, not a permanent error.
func retryableRead(err error) bool {
	var se *batch.SyntaxError
	return !errors.As(err, &se) && !errors.Is(err, ErrNotFound) && !retry.IsPermanent(err) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// enqueue streams the object again and sends its valid ops. Scanning runs
// on this goroutine; Concurrency workers send chunks of MaxSendBatch.
func (s *Service) enqueue(ctx context.Context, ref Ref, f batch.Format, id string, rep *record.Report) (sendStats, error) {
	body, err := s.objects.Open(ctx, ref)
	if err != nil {
		return sendStats{}, fmt.Errorf("%w: %w", errRead, err)
	}
	defer body.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	chunks := make(chan []record.Message, s.cfg.Concurrency)
	var (
		wg       sync.WaitGroup
		enqueued atomic.Int64
		calls    atomic.Int64
		retries  atomic.Int64
	)
	for range s.cfg.Concurrency {
		wg.Go(func() {
			for chunk := range chunks {
				if ctx.Err() != nil {
					continue // drain after a failure
				}
				c, r, err := s.send(ctx, chunk)
				calls.Add(int64(c))
				retries.Add(int64(r))
				if err != nil {
					cancel(err)
					continue
				}
				enqueued.Add(int64(len(chunk)))
			}
		})
	}

	chunk := make([]record.Message, 0, MaxSendBatch)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		select {
		case chunks <- chunk:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		chunk = make([]record.Message, 0, MaxSendBatch)
		return nil
	}
	valid := 0
	scanErr := batch.Scan(body, f, func(it batch.Item) error {
		if it.Reject != "" {
			rep.Reject(record.Rejection{Index: it.Index, Name: it.Op.Name, Reason: it.Reject})
			return nil
		}
		rep.Totals.Ops++
		valid++
		chunk = append(chunk, record.Message{Name: it.Op.Name, Op: it.Op.Op, Batch: id, Index: it.Index, Stamp: rep.Stamp})
		if len(chunk) == MaxSendBatch {
			return flush()
		}
		return nil
	})
	if scanErr == nil {
		scanErr = flush()
	}
	close(chunks)
	wg.Wait()
	rep.Totals.Enqueued = int(enqueued.Load())
	stats := sendStats{calls: int(calls.Load()), retries: int(retries.Load())}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return stats, cause
	}
	if scanErr != nil {
		// The first pass accepted the file, so a structural error here means
		// the object changed under us or the read failed: retryable.
		return stats, fmt.Errorf("%w: %w", errRead, scanErr)
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	if rep.Totals.Enqueued != valid {
		return stats, fmt.Errorf("enqueued %d of %d valid ops", rep.Totals.Enqueued, valid)
	}
	return stats, nil
}

// send delivers one chunk, retrying failed entries (and failed calls) with
// backoff. It returns the number of calls made and of retries.
func (s *Service) send(ctx context.Context, chunk []record.Message) (calls, retries int, err error) {
	pending := chunk
	for attempt := 1; ; attempt++ {
		calls++
		failures, err := s.queue.SendBatch(ctx, pending)
		var next []record.Message
		switch {
		case err != nil:
			if retry.IsPermanent(err) {
				return calls, retries, err
			}
			next = pending
		default:
			for _, f := range failures {
				if f.Permanent {
					return calls, retries, fmt.Errorf("SQS refused op %q: %s", pending[f.Index].Name, f.Reason)
				}
				next = append(next, pending[f.Index])
			}
			if len(next) == 0 {
				return calls, retries, nil
			}
			err = fmt.Errorf("%d of %d entries failed, first: %s", len(next), len(pending), failures[0].Reason)
		}
		if attempt >= s.cfg.Retry.Attempts {
			return calls, retries, fmt.Errorf("send gave up after %d attempts: %w", attempt, err)
		}
		retries++
		if werr := s.cfg.Retry.Wait(ctx, attempt); werr != nil {
			return calls, retries, fmt.Errorf("send interrupted: %w (last error: %v)", werr, err)
		}
		pending = next
	}
}

func (s *Service) writeReport(ctx context.Context, rep *record.Report) error {
	rep.FinishedAt = s.cfg.Now().UTC()
	body, err := rep.Encode()
	if err != nil {
		return err
	}
	if err := s.objects.Put(ctx, rep.Bucket, naming.ReportKey(rep.Key), body, "application/json"); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
