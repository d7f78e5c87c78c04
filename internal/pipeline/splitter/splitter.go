// Package splitter turns one uploaded batch file into queued ops: it reads
// the S3 event, streams the object once to plan it (structure, per-op rules,
// duplicates, chunk boundaries: plan.go), then enqueues the valid ops of
// each chunk from a ranged read of its bytes, with bounded concurrency and
// retries (chunk.go), and writes a report next to the batch. It knows S3,
// SQS and the report store only through the small interfaces below.
package splitter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
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
//
// Length > 0 limits a read to the bytes [Offset, Offset+Length) of the
// object: a chunk's run of ops.
type Ref struct {
	Bucket, Key, Version, ETag string
	EventTime                  time.Time
	Sequencer                  string
	Offset, Length             int64
}

// Objects reads batch files and writes reports.
type Objects interface {
	// Open streams the object named by ref. It returns an error wrapping
	// ErrNotFound when the object or version no longer exists.
	Open(ctx context.Context, ref Ref) (io.ReadCloser, error)
	// Put writes a small object.
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
	// Get reads a small object whole (a plan). It returns an error
	// wrapping ErrNotFound when the object does not exist.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// List returns the keys under prefix (done markers).
	List(ctx context.Context, bucket, prefix string) ([]string, error)
}

// ErrNotFound is returned (wrapped) by Objects.Open for a missing object.
var ErrNotFound = errors.New("object not found")

// MaxSendBatch is SQS's limit of entries in one SendMessageBatch call.
const MaxSendBatch = 10

// SendFailure is one entry of a send call that SQS did not accept.
type SendFailure = retry.Failure

// Queue enqueues ops.
type Queue interface {
	// SendBatch sends at most MaxSendBatch messages (packs of ops,
	// pack.go) of at most MaxCallBytes in all in one call. A non-nil error
	// means the call failed as a whole (nothing is known to be sent);
	// otherwise the failures list the entries that were not sent.
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
	// ChunkOps is the most ops of one chunk.
	ChunkOps int // default DefaultChunkOps
	// OpRules is what an op may be (batch.Rules: memo's expressions by
	// default, any JSON value for a user's function). A chunk is read
	// with the rules of the function that runs it, which are its plan's
	// unless the setting changed in between: then an op valid in the plan
	// and rejected now fails the chunk (errChanged), loudly.
	OpRules batch.Rules
	// PackOps is the most ops of one message (pack.go).
	PackOps int // default DefaultPackOps, at most MaxPackOps
	// MaxOps is the most ops of a batch; a larger one is rejected whole
	// by the plan pass, before anything is enqueued.
	MaxOps int // default DefaultMaxOps
	// Chunks, when set, receives the chunk tasks of each planned batch
	// (a queue whose consumer calls HandleChunks); otherwise Split runs
	// the chunks itself, InlineChunks at a time.
	Chunks       ChunkQueue
	InlineChunks int // default 1
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

// DefaultConcurrency is the default number of send calls in flight
// (Terraform's splitter_send_concurrency): 16 calls of 20 ms keep a chunk
// of DefaultChunkOps ops to about 6 s of sends.
const DefaultConcurrency = 16

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
	if cfg.ChunkOps <= 0 {
		cfg.ChunkOps = DefaultChunkOps
	}
	if cfg.PackOps <= 0 {
		cfg.PackOps = DefaultPackOps
	}
	cfg.PackOps = min(cfg.PackOps, MaxPackOps)
	if cfg.MaxOps <= 0 {
		cfg.MaxOps = DefaultMaxOps
	}
	if cfg.InlineChunks <= 0 {
		cfg.InlineChunks = 1
	}
	return &Service{objects: objects, queue: queue, cfg: cfg}
}

// Handle is the Lambda handler: it splits every batch named by the event's
// records and ignores the rest. It returns an error only when a batch could
// not be split for a reason a retry may fix; S3's asynchronous invocation
// then retries the whole event, which is safe because splitting is
// idempotent (compute writes are keyed by op name).
func (s *Service) Handle(ctx context.Context, ev events.S3Event) error {
	ctx, cancel := retry.BeforeDeadline(ctx, s.cfg.Margin)
	defer cancel()
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
		if err := naming.ValidBatchKey(ref.Key); err != nil {
			// No report can be written for it (its key would pass S3's
			// limit) and no retry can help: say why, and drop it.
			s.cfg.Logger.Error("batch refused", "key", ref.Key, "error", err)
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
// batch prefix, with the suffix of one of batch's formats. Reports live under another
// prefix, so the splitter's own writes never retrigger it.
func IsBatchKey(key string) bool {
	if !strings.HasPrefix(key, naming.BatchPrefix) {
		return false
	}
	_, ok := batch.FormatOf(key)
	return ok
}

// send delivers one group of at most MaxSendBatch packs under memo's
// retry policy (retry.Batch). It returns the number of calls made and of
// retries.
func (s *Service) send(ctx context.Context, group []record.Message) (calls, retries int, err error) {
	calls, err = retry.Batch(ctx, s.cfg.Retry, group, describePack, s.queue.SendBatch)
	if err != nil {
		err = fmt.Errorf("send: %w", err)
	}
	return calls, max(calls-1, 0), err
}

// describePack names a pack in an error: its ops by their first name.
func describePack(m record.Message) string {
	if len(m.Ops) == 0 {
		return "an empty pack"
	}
	return fmt.Sprintf("a pack of %d ops from %q", len(m.Ops), m.Ops[0].Name)
}

func (s *Service) writeReport(ctx context.Context, rep *record.Report) error {
	rep.FinishedAt = s.cfg.Now().UTC()
	body, err := rep.Encode()
	if err != nil {
		return err
	}
	// The upload's own report first: it is the one memo reads. The key's
	// copy is the last split's, for people browsing the bucket.
	for _, key := range []string{naming.BatchReportKey(rep.Batch), naming.ReportKey(rep.Key)} {
		if err := s.objects.Put(ctx, rep.Bucket, key, body, "application/json"); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}
