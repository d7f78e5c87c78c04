package splitter

// The plan pass: one stream of the whole object that checks its structure,
// applies the per-op rules and the duplicate rule (which must see the whole
// batch), and cuts the ops into chunks at op boundaries. Nothing is
// enqueued until it has read the last byte, so a broken file enqueues
// nothing.

import (
	"context"
	"errors"
	"fmt"

	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// DefaultChunkOps is the default size of a chunk, in ops: one chunk task's
// work, sized so that its sends (5,000 SendMessageBatch calls) stay well
// within a quarter of the function's 300 s timeout at the default send
// concurrency (make bench: aws_chunk_seconds; docs/performance.md).
const DefaultChunkOps = 50_000

// DefaultMaxOps is the largest batch memo accepts, in ops. The bound that
// binds is the plan pass's time: it is one invocation, and it must finish
// within a quarter of the splitter's 300 s timeout at the default 1024 MB
// (make bench: plan_pass_ops_per_s, aws_plan_pass_seconds_2m). Neither
// the duplicate set's memory nor DynamoDB's write rate binds first
// (docs/performance.md, "Batches of any size"). More ops belong in
// several batches.
const DefaultMaxOps = 2_000_000

// errTooLarge: the batch has more ops than MaxOps.
type errTooLarge struct {
	max    int
	offset int64
}

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("byte %d: the batch has more than %d ops, the most memo accepts in one batch; split it into several files", e.offset, e.max)
}

// Split processes one batch object: it plans it, stores the plan, and then
// either queues its chunk tasks (Config.Chunks) or runs them and writes the
// report. The returned report is the one stored, or, when the chunks were
// queued, the in-progress report (status splitting, nothing enqueued
// yet). The error is non-nil when the batch could not be planned or fully
// enqueued, or its report not written.
func (s *Service) Split(ctx context.Context, ref Ref) (record.Report, error) {
	format, ok := batch.FormatOf(ref.Key)
	if !ok {
		return record.Report{}, fmt.Errorf("%s: not a batch file (memo reads %s)", ref.Key, batch.SuffixList())
	}
	ref.Offset, ref.Length = 0, 0
	id := naming.BatchID(ref.Key, naming.UploadTag(ref.Version, ref.ETag))
	stamp := record.NewStamp(ref.EventTime, ref.Sequencer, id)
	rep := record.Report{Batch: id, Stamp: stamp, Bucket: ref.Bucket, Key: ref.Key, StartedAt: s.cfg.Now().UTC()}
	if s.cfg.OpRules != batch.ExpressionRules {
		rep.OpRules = s.cfg.OpRules.String()
	}
	log := s.cfg.Logger.With("batch", id)

	// A read that fails part way (after the SDK's own retries) is tried
	// again here: a batch must not depend on its trigger's retries alone
	// to get a report.
	var plan record.Plan
	err := s.readPolicy().Do(ctx, func(attempt int) (err error) {
		plan, err = s.plan(ctx, ref, format, rep)
		if err != nil && !retryableRead(err) {
			return retry.Permanent(err)
		}
		if err != nil && attempt < readAttempts {
			log.Warn("reading the batch failed; trying again", "attempt", attempt, "error", err)
		}
		return err
	})
	if err != nil {
		var (
			se  *batch.SyntaxError
			big *errTooLarge
		)
		switch {
		case errors.As(err, &se):
			log.Warn("batch rejected", "offset", se.Offset, "reason", se.Reason)
			return s.settle(ctx, rep, record.ReportRejected, se.Error(), &se.Offset)
		case errors.As(err, &big):
			log.Warn("batch rejected", "offset", big.offset, "reason", "too many ops", "max_ops", big.max)
			return s.settle(ctx, rep, record.ReportRejected, big.Error(), &big.offset)
		case errors.Is(err, ErrNotFound):
			// The object was deleted or overwritten before we got to it:
			// retrying cannot help. Say so in a report.
			log.Warn("batch vanished", "error", err)
			return s.settle(ctx, rep, record.ReportFailed, err.Error(), nil)
		default:
			log.Error("batch unreadable", "error", err)
			return s.fail(ctx, rep, err, err.Error())
		}
	}
	body, err := plan.Encode()
	if err == nil {
		err = s.objects.Put(ctx, ref.Bucket, naming.PlanKey(id), body, "application/json")
	}
	if err != nil {
		return s.fail(ctx, rep, err, "store the plan: "+err.Error())
	}
	log.Info("batch planned", "ops", plan.Report.Totals.Ops, "rejected", plan.Report.Totals.Rejected, "chunks", len(plan.Chunks))
	if len(plan.Chunks) == 0 {
		return s.finish(ctx, &plan, sendStats{})
	}
	if s.cfg.Chunks != nil {
		// The in-progress report comes first: once the tasks are queued,
		// the last chunk may write the final report at any time.
		progress := plan.Report
		progress.Status = record.ReportSplitting
		if err := s.writeReport(ctx, &progress); err != nil {
			return rep, err
		}
		if err := s.queueChunks(ctx, &plan); err != nil {
			return s.fail(ctx, rep, err, err.Error())
		}
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.Split(Counts{Rejected: plan.Report.Totals.Rejected})
		}
		return progress, nil
	}
	stats, err := s.runChunks(ctx, &plan)
	if err != nil {
		log.Error("batch failed", "error", err, "enqueued", stats.enqueued)
		rep = plan.Report
		rep.Totals.Enqueued = stats.enqueued
		return s.fail(ctx, rep, err, err.Error())
	}
	rep, err = s.finish(ctx, &plan, stats)
	if err == nil && s.cfg.Metrics != nil {
		s.cfg.Metrics.Split(Counts{Enqueued: rep.Totals.Enqueued, Rejected: rep.Totals.Rejected, SendCalls: stats.calls, Retries: stats.retries})
	}
	return rep, err
}

// settle writes the report of a batch whose object decided its fate
// (broken, too large, gone): retrying would decide the same, so only a
// report that cannot be written is an error.
func (s *Service) settle(ctx context.Context, rep record.Report, status record.ReportStatus, reason string, offset *int64) (record.Report, error) {
	rep.Status, rep.Error, rep.Offset = status, reason, offset
	return rep, s.writeReport(ctx, &rep)
}

// fail writes a failed report for a batch that a retry may yet split, even
// once ctx has ended (the margin is kept for it), and returns err for the
// trigger's retries, with the report's own write error if any.
func (s *Service) fail(ctx context.Context, rep record.Report, err error, reason string) (record.Report, error) {
	rep.Status, rep.Error = record.ReportFailed, reason
	return rep, errors.Join(err, s.writeReport(context.WithoutCancel(ctx), &rep))
}

// plan streams the whole object once and returns its plan; rep is the
// report's start (batch, stamp, object, start time).
func (s *Service) plan(ctx context.Context, ref Ref, f batch.Format, rep record.Report) (record.Plan, error) {
	body, err := s.objects.Open(ctx, ref)
	if err != nil {
		return record.Plan{}, err
	}
	defer body.Close()
	p := record.Plan{Batch: rep.Batch, Stamp: rep.Stamp, Bucket: ref.Bucket, Key: ref.Key, Version: ref.Version,
		ETag: ref.ETag, Format: f.String(), Report: rep}
	p.Header, err = s.cfg.OpRules.ScanFile(body, f, func(it batch.Item) error {
		if it.Index >= s.cfg.MaxOps {
			return &errTooLarge{max: s.cfg.MaxOps, offset: it.Start}
		}
		if it.Index%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		n := len(p.Chunks) - 1
		if n < 0 || p.Chunks[n].Count == s.cfg.ChunkOps {
			p.Chunks = append(p.Chunks, record.Chunk{Offset: it.Start, First: it.Index})
			n++
		}
		c := &p.Chunks[n]
		c.Count++
		c.Length = it.End - c.Offset
		if it.Reject != "" {
			p.Report.Reject(record.Rejection{Index: it.Index, Name: it.Op.Name, Reason: it.Reject})
			c.SkipOp(it.Index)
		} else {
			p.Report.Totals.Ops++
		}
		return nil
	})
	if err != nil {
		return record.Plan{}, err
	}
	p.Report.Chunks = len(p.Chunks)
	return p, nil
}

// finish writes the report of a batch whose chunks are all done: the plan's
// report with every valid op enqueued (each chunk checked its own count).
func (s *Service) finish(ctx context.Context, p *record.Plan, stats sendStats) (record.Report, error) {
	rep := p.Report
	rep.Status = record.ReportSplit
	rep.Totals.Enqueued = rep.Totals.Ops - rep.Totals.Rejected
	if err := s.writeReport(ctx, &rep); err != nil {
		return rep, err
	}
	s.cfg.Logger.Info("batch split", "batch", rep.Batch, "ops", rep.Totals.Ops, "enqueued", rep.Totals.Enqueued,
		"rejected", rep.Totals.Rejected, "chunks", len(p.Chunks), "send_calls", stats.calls, "retries", stats.retries)
	return rep, nil
}

// readAttempts bounds the tries of each read of the object when it fails.
const readAttempts = 3

// readPolicy is memo's retry policy with readAttempts tries: a read that
// fails part way is tried again a few times, not the policy's many.
func (s *Service) readPolicy() retry.Policy {
	p := s.cfg.Retry
	p.Attempts = readAttempts
	return p
}

// errRead marks a failure to read the batch object (rather than to send).
var errRead = errors.New("reading the batch")

// retryableRead reports whether a failed read may succeed if tried again:
// not a broken file, not a missing object, not a permanent error.
func retryableRead(err error) bool {
	var (
		se  *batch.SyntaxError
		big *errTooLarge
	)
	return !errors.As(err, &se) && !errors.As(err, &big) && !errors.Is(err, ErrNotFound) && !retry.IsPermanent(err) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
