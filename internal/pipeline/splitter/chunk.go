package splitter

// Chunks: each reads only its run of the object (a ranged read; a
// compressed batch is decompressed from its start up to the run) and
// enqueues its valid ops with batched, retried sends. A chunk is
// idempotent: its messages are keyed by op name and carry the batch's stamp
// from the plan, so running it twice computes the same items again.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// ChunkQueue takes the chunk tasks of a planned batch; its consumer runs
// each with HandleChunks (on AWS the chunk queue's event source mapping).
type ChunkQueue interface {
	SendChunks(ctx context.Context, tasks []record.ChunkTask) error
}

type sendStats struct{ calls, retries, enqueued int }

func (a *sendStats) add(b sendStats) {
	a.calls += b.calls
	a.retries += b.retries
	a.enqueued += b.enqueued
}

// queueChunks hands every chunk of the plan to the chunk queue.
func (s *Service) queueChunks(ctx context.Context, p *record.Plan) error {
	tasks := make([]record.ChunkTask, len(p.Chunks))
	for n := range p.Chunks {
		tasks[n] = record.ChunkTask{Batch: p.Batch, Bucket: p.Bucket, Plan: naming.PlanKey(p.Batch), Chunk: n}
	}
	if err := s.cfg.Chunks.SendChunks(ctx, tasks); err != nil {
		return fmt.Errorf("queue %d chunk tasks: %w", len(tasks), err)
	}
	return nil
}

// runChunks runs every chunk of the plan in this invocation, InlineChunks
// at a time; the first failure stops the rest.
func (s *Service) runChunks(ctx context.Context, p *record.Plan) (sendStats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu    sync.Mutex
		total sendStats
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for range min(s.cfg.InlineChunks, len(p.Chunks)) {
		wg.Go(func() {
			for {
				n := int(next.Add(1) - 1)
				if n >= len(p.Chunks) || ctx.Err() != nil {
					return
				}
				st, err := s.runChunk(ctx, p, n)
				mu.Lock()
				total.add(st)
				mu.Unlock()
				if err != nil {
					cancel(fmt.Errorf("chunk %d (ops %d..%d): %w", n, p.Chunks[n].First, p.Chunks[n].First+p.Chunks[n].Count-1, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return total, cause
	}
	return total, nil
}

// runChunk enqueues chunk n of the plan. A read that fails part way starts
// the chunk again; ops sent twice are computed twice, to the same item.
func (s *Service) runChunk(ctx context.Context, p *record.Plan, n int) (sendStats, error) {
	var stats sendStats
	err := s.readPolicy().Do(ctx, func(attempt int) error {
		st, err := s.enqueueChunk(ctx, p, n)
		stats.calls += st.calls
		stats.retries += st.retries
		stats.enqueued = st.enqueued
		if err != nil && (!errors.Is(err, errRead) || !retryableRead(err)) {
			return retry.Permanent(err)
		}
		if err != nil && attempt < readAttempts {
			s.cfg.Logger.Warn("reading a chunk failed part way; enqueueing it again", "batch", p.Batch, "chunk", n, "attempt", attempt, "error", err)
		}
		return err
	})
	return stats, err
}

// enqueueChunk reads chunk n's bytes and sends its valid ops. Scanning runs
// on this goroutine; Concurrency workers send groups of MaxSendBatch.
func (s *Service) enqueueChunk(ctx context.Context, p *record.Plan, n int) (sendStats, error) {
	c := p.Chunks[n]
	f, ok := batch.ParseFormat(p.Format)
	if !ok {
		return sendStats{}, fmt.Errorf("plan of %s: unknown format %q", p.Batch, p.Format)
	}
	run := batch.Run{Offset: c.Offset, Length: c.Length, First: c.First, Header: p.Header}
	// A compressed batch is read whole and decompressed up to the run
	// (batch.Format.ReadRange); the others by a ranged read of the run.
	off, length := f.ReadRange(run)
	ref := Ref{Bucket: p.Bucket, Key: p.Key, Version: p.Version, ETag: p.ETag, Offset: off, Length: length}
	body, err := s.objects.Open(ctx, ref)
	if err != nil {
		return sendStats{}, fmt.Errorf("%w: %w", errRead, err)
	}
	defer body.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	groups := make(chan []record.Message, s.cfg.Concurrency)
	var (
		wg       sync.WaitGroup
		enqueued atomic.Int64
		calls    atomic.Int64
		retries  atomic.Int64
	)
	for range s.cfg.Concurrency {
		wg.Go(func() {
			for group := range groups {
				if ctx.Err() != nil {
					continue // drain after a failure
				}
				c, r, err := s.send(ctx, group)
				calls.Add(int64(c))
				retries.Add(int64(r))
				if err != nil {
					cancel(err)
					continue
				}
				enqueued.Add(int64(opsOf(group)))
			}
		})
	}

	pk := packer{ops: s.cfg.PackOps, batch: p.Batch, stamp: p.Stamp, flush: func(group []record.Message) error {
		select {
		case groups <- group:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}}
	seen, valid := 0, 0
	scanErr := s.cfg.OpRules.ScanChunk(body, f, run, func(it batch.Item) error {
		seen++
		if it.Index >= c.First+c.Count {
			return fmt.Errorf("%w: the run holds more than its %d ops", errChanged, c.Count)
		}
		if c.Skips(it.Index) {
			return nil
		}
		if it.Reject != "" {
			return fmt.Errorf("%w: op %d was valid in the plan pass and is now rejected (%s)", errChanged, it.Index, it.Reject)
		}
		valid++
		if s.cfg.OpRules == batch.JSONRules {
			op, err := record.JSONOp(it.Op.Name, it.Op.Op, it.Index)
			if err != nil {
				return fmt.Errorf("op %d: %w", it.Index, err)
			}
			return pk.add(op)
		}
		return pk.add(record.MessageOp{Name: it.Op.Name, Op: it.Op.Op, Index: it.Index})
	})
	if scanErr == nil {
		scanErr = pk.close()
	}
	close(groups)
	wg.Wait()
	stats := sendStats{calls: int(calls.Load()), retries: int(retries.Load()), enqueued: int(enqueued.Load())}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return stats, cause
	}
	if scanErr != nil {
		if errors.Is(scanErr, errChanged) {
			return stats, scanErr
		}
		// The plan pass accepted these bytes, so a structural error here
		// means the read failed or was cut short: retryable.
		return stats, fmt.Errorf("%w: %w", errRead, scanErr)
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	if want := c.Count - c.Skipped(); seen != c.Count || valid != want || stats.enqueued != want {
		return stats, fmt.Errorf("chunk %d: read %d of %d ops, enqueued %d of %d valid ops", n, seen, c.Count, stats.enqueued, want)
	}
	return stats, nil
}

// errChanged: a chunk's bytes do not say what the plan pass read there.
var errChanged = errors.New("the batch object changed since it was planned")

// HandleChunks is the handler of the chunk queue's event source mapping:
// it runs each chunk task and reports the ones that failed, so that SQS
// delivers only those again (ReportBatchItemFailures).
func (s *Service) HandleChunks(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	ctx, cancel := retry.BeforeDeadline(ctx, s.cfg.Margin)
	defer cancel()
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		task, err := record.DecodeChunkTask(m.Body)
		if err == nil {
			err = s.RunChunkTask(ctx, task)
		}
		if err != nil {
			s.cfg.Logger.Error("chunk failed", "message_id", m.MessageId, "body", truncate(m.Body, 200), "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

// RunChunkTask runs one chunk of a stored plan, marks it done, and writes
// the batch's report if every chunk is done. Concurrent last chunks may
// both write the report: the same report.
func (s *Service) RunChunkTask(ctx context.Context, task record.ChunkTask) error {
	body, err := s.objects.Get(ctx, task.Bucket, task.Plan)
	if err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	p, err := record.DecodePlan(body)
	if err != nil {
		return err
	}
	if p.Batch != task.Batch || task.Chunk >= len(p.Chunks) {
		return fmt.Errorf("%w: chunk %d of %s, the plan has %d chunks of %s", record.ErrBadChunkTask, task.Chunk, task.Batch, len(p.Chunks), p.Batch)
	}
	st, err := s.runChunk(ctx, &p, task.Chunk)
	if err != nil {
		return fmt.Errorf("chunk %d of %s: %w", task.Chunk, p.Batch, err)
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Split(Counts{Enqueued: st.enqueued, SendCalls: st.calls, Retries: st.retries})
	}
	// The bookkeeping is retried here: a failure would send the whole
	// chunk back to the queue for a visibility timeout.
	marker := fmt.Appendf(nil, `{"chunk":%d,"enqueued":%d}`, task.Chunk, st.enqueued)
	if err := s.cfg.Retry.Do(ctx, func(int) error {
		return s.objects.Put(ctx, p.Bucket, naming.ChunkDoneKey(p.Batch, task.Chunk), marker, "application/json")
	}); err != nil {
		return fmt.Errorf("mark chunk %d done: %w", task.Chunk, err)
	}
	var done []string
	if err := s.cfg.Retry.Do(ctx, func(int) (err error) {
		done, err = s.objects.List(ctx, p.Bucket, naming.ChunkDonePrefix(p.Batch))
		return err
	}); err != nil {
		return fmt.Errorf("list done chunks: %w", err)
	}
	s.cfg.Logger.Info("chunk done", "batch", p.Batch, "chunk", task.Chunk, "enqueued", st.enqueued, "chunks_done", len(done), "chunks", len(p.Chunks))
	if len(done) < len(p.Chunks) {
		return nil
	}
	return s.cfg.Retry.Do(ctx, func(int) error {
		_, err := s.finish(ctx, &p, st)
		return err
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
