// Package status reconciles a batch: every op of an accepted batch must be
// accounted for, as a result of the batch (ok or error), a rejection, a
// result of a newer upload of the same name (superseded), or a message in
// the DLQ. What is left over is lost (or, while the batch can still
// change, in flight). memo status, memo submit --wait, memo local --batch
// and the end-to-end tests all use this one reconciliation.
package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
)

// Source is where the facts of a batch live.
type Source interface {
	// Report returns the splitter's report of a batch; found is false
	// while it does not exist yet.
	Report(ctx context.Context, batch string) (rep record.Report, found bool, err error)
	// Counts counts the results stored for the batch, by status, without
	// reading them out (through the batch index: one count query a shard).
	Counts(ctx context.Context, batch string) (Counts, error)
	// Results calls fn for every result stored for the batch (never
	// concurrently).
	Results(ctx context.Context, batch string, fn func(name string, st record.Status) error) error
	// DLQ returns the names of the batch's ops whose messages are in the
	// dead-letter queue.
	DLQ(ctx context.Context, batch string) ([]string, error)
	// Pending is the number of messages in the ops queue, all batches':
	// visible, in flight (received, not yet deleted) and delayed.
	Pending(ctx context.Context) (int, error)
	// Names calls fn with the name of every valid op of the batch, read
	// from the batch object (the version the batch id names); found is
	// false when that version no longer exists.
	Names(ctx context.Context, rep record.Report, fn func(name string) error) (found bool, err error)
	// Stored returns the items that hold the given names now (absent names
	// have none).
	Stored(ctx context.Context, names []string) (map[string]record.Result, error)
}

// Counts are the results stored for a batch, by status.
type Counts struct{ OK, Error int }

// Reconciliation is the account of one batch.
type Reconciliation struct {
	Batch string
	// Report is nil while the splitter has not written it.
	Report *record.Report
	// Total is the number of ops in the file (the report's count).
	Total, OK, Error, Rejected, Superseded, DLQ, Lost int
	// Queued is the number of messages in the ops queue (all batches'),
	// when the caller looked; -1 when it did not.
	Queued int
	// Unnamed is true when ops were missing and the batch object (needed
	// to learn their names) was gone: superseded ops then count as lost.
	Unnamed bool
	// At is when the reconciliation was made.
	At time.Time
	// ChunksDone counts the done chunks of a batch still splitting (its
	// report's Chunks is the total), when the source can count them; -1
	// otherwise.
	ChunksDone int
	// DLQUnread is about how many ops of the DLQ's messages could not be
	// read (DLQPartialError: an estimate, the messages are packs), and
	// DLQEstimated how many of the ops missing were therefore counted in
	// DLQ rather than lost: at most DLQUnread.
	DLQUnread, DLQEstimated int
}

// DLQPartialError is returned by Source.DLQ, with the names it did read,
// when the DLQ holds more messages than one read can reach (SQS caps the
// messages in flight; see workspace.PartialPeekError).
// Unread estimates the ops of the messages not read.
type DLQPartialError struct{ Unread int }

func (e *DLQPartialError) Error() string {
	return fmt.Sprintf("about %d ops of the DLQ were not read", e.Unread)
}

// ChunkCounter is a Source that can count the done chunks of a batch
// being split in chunks (one list of the done markers).
type ChunkCounter interface {
	ChunksDone(ctx context.Context, batch string) (int, error)
}

// Done estimates how many ops are finished, for progress displays: the
// accounted ops, or the enqueued ops that have left the queue if the queue
// was looked at more recently.
func (r Reconciliation) Done() int {
	done := r.OK + r.Error + r.Rejected + r.Superseded + r.DLQ
	if r.Report != nil && r.Queued >= 0 {
		done = max(done, min(r.Total, r.Total-r.Queued))
	}
	return done
}

// Reconcile gathers the counts of a batch. It first counts the batch's
// results (Source.Counts, which reads no names), and stops there when
// that is the whole account:
//
//   - when the counts account for every op (ok + error + rejected =
//     total): nothing can be superseded, lost or in the DLQ, since every
//     valid op has a result of this batch (a DLQ message of a stored op
//     counts as stored, below); neither the DLQ, the ops queue nor the
//     batch object is read. This is the answer for every batch that went
//     well, at the cost of counting, whatever its size;
//   - when ops are missing but the DLQ holds none of the batch's and ops
//     can still arrive (the ops queue is not empty, or chunks are still
//     queuing ops): no missing name would be looked up (the batch object
//     is read only once nothing is in flight), so none is superseded and
//     the rest is in flight, as the name-by-name path would say too. This
//     is the answer of every poll of a running batch.
//
// Otherwise it takes the name-by-name path:
//
//   - ok, error: the batch's results, through the batch index;
//   - superseded: ops whose name holds a result of a newer upload (a
//     greater stamp, record.Stamp). Only names not found under the batch
//     are looked up: the DLQ's, and, once the ops queue is empty (so that
//     nothing is in flight), the other missing ones, whose names are read
//     from the batch object; a looked-up name that holds a result of this
//     batch (not in the index yet, or written before it) counts as ok or
//     error;
//   - dlq: the batch's messages in the DLQ whose names are neither
//     stored for the batch nor superseded;
//   - lost: the rest.
//
// A name both stored and in the DLQ (a duplicate delivery of which one
// copy failed) counts once, as stored.
func Reconcile(ctx context.Context, src Source, batch string) (Reconciliation, error) {
	r := Reconciliation{Batch: batch, Queued: -1, At: time.Now(), ChunksDone: -1}
	rep, found, err := src.Report(ctx, batch)
	if err != nil {
		return r, err
	}
	var dlq []string
	dlqRead := false
	if found {
		r.Report = &rep
		r.Total, r.Rejected = rep.Totals.Ops, rep.Totals.Rejected
		if cc, ok := src.(ChunkCounter); ok && rep.Status == record.ReportSplitting {
			if r.ChunksDone, err = cc.ChunksDone(ctx, batch); err != nil {
				return r, err
			}
		}
		c, err := src.Counts(ctx, batch)
		if err != nil {
			return r, err
		}
		if c.OK+c.Error+r.Rejected == r.Total {
			r.OK, r.Error = c.OK, c.Error
			return r, nil
		}
		if dlq, err = readDLQ(ctx, src, batch, &r); err != nil {
			return r, err
		}
		dlqRead = true
		if len(dlq) == 0 {
			if r.Queued, err = src.Pending(ctx); err != nil {
				return r, err
			}
			if r.Queued > 0 || rep.Status == record.ReportSplitting {
				r.OK, r.Error = c.OK, c.Error
				r.Lost = max(r.Total-r.OK-r.Error-r.Rejected, 0)
				return r, nil
			}
		}
	}
	stored := map[string]bool{}
	err = src.Results(ctx, batch, func(name string, st record.Status) error {
		if stored[name] {
			return nil
		}
		stored[name] = true
		switch st {
		case record.StatusOK:
			r.OK++
		case record.StatusError:
			r.Error++
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if !dlqRead {
		if dlq, err = readDLQ(ctx, src, batch, &r); err != nil {
			return r, err
		}
	}
	inDLQ := map[string]bool{}
	var candidates []string // names not stored for the batch
	for _, n := range dlq {
		if !stored[n] && !inDLQ[n] {
			inDLQ[n] = true
			candidates = append(candidates, n)
		}
	}
	missing := r.Total - r.OK - r.Error - r.Rejected - len(inDLQ)
	if missing > 0 && r.Report != nil {
		if r.Queued < 0 {
			if r.Queued, err = src.Pending(ctx); err != nil {
				return r, err
			}
		}
		// While chunks are still queuing its ops, the batch object is not
		// read for names: they are not all on the queue yet.
		if r.Queued == 0 && rep.Status != record.ReportSplitting {
			found, err := src.Names(ctx, rep, func(n string) error {
				if !stored[n] && !inDLQ[n] {
					candidates = append(candidates, n)
				}
				return nil
			})
			if err != nil {
				return r, err
			}
			r.Unnamed = !found
		}
	}
	// A candidate may hold a result of this very batch that the index
	// did not show: an index is eventually consistent with its table, and
	// results written before the index was keyed on batch_shard are not
	// in it. Such a result is stored, not lost (nor in the DLQ).
	superseded, late := map[string]bool{}, map[string]bool{}
	if len(candidates) > 0 && r.Report != nil {
		items, err := src.Stored(ctx, candidates)
		if err != nil {
			return r, err
		}
		for _, n := range candidates {
			it, ok := items[n]
			switch {
			case !ok || superseded[n] || late[n]:
			case it.Batch == rep.Batch:
				late[n] = true
				switch it.Status {
				case record.StatusOK:
					r.OK++
				case record.StatusError:
					r.Error++
				}
			case Newer(it, rep):
				superseded[n] = true
				r.Superseded++
			}
		}
	}
	for n := range inDLQ {
		if !superseded[n] && !late[n] {
			r.DLQ++
		}
	}
	r.Lost = max(r.Total-r.OK-r.Error-r.Rejected-r.Superseded-r.DLQ, 0)
	// Ops missing while DLQ messages went unread are not known lost: the
	// DLQ holds at least that many messages memo could not tell apart.
	if r.DLQUnread > 0 && r.Lost > 0 {
		r.DLQEstimated = min(r.Lost, r.DLQUnread)
		r.DLQ += r.DLQEstimated
		r.Lost -= r.DLQEstimated
	}
	return r, nil
}

// readDLQ is src.DLQ, taking a partial read as one (r.DLQUnread).
func readDLQ(ctx context.Context, src Source, batch string, r *Reconciliation) ([]string, error) {
	names, err := src.DLQ(ctx, batch)
	var partial *DLQPartialError
	if errors.As(err, &partial) {
		r.DLQUnread = partial.Unread
		return names, nil
	}
	return names, err
}

// Newer reports whether a stored item is a result of an upload newer than
// the batch of rep: another batch, with a greater stamp.
func Newer(it record.Result, rep record.Report) bool {
	return it.Batch != rep.Batch && record.Newer(it.Stamp, rep.Stamp)
}

// FailedSettleAfter is how long after a "failed" report memo waits before
// taking it as final: S3 invokes the splitter asynchronously, and Lambda
// retries a failed asynchronous invocation twice, "one minute after the
// first attempt and two minutes after the second" ("Error handling and
// automatic retries", AWS Lambda Developer Guide), each attempt up to the
// splitter's 300 s timeout: 60 + 300 + 120 + 300 s after a first attempt's
// report, 13 minutes, and a margin. A retry that succeeds rewrites the
// report. Throttled events are retried for up to 6 hours (the maximum
// event age): memo does not wait for those; the split-failures queue and
// memo resume take them. The twin's retries come after 1 and 2 seconds, so
// memo sets it to TwinFailedSettleAfter there.
var FailedSettleAfter = 15 * time.Minute

// CountLag is how long after a batch's split finished an empty reading of
// the ops queue's counts is believed: "ApproximateNumberOfMessages... may
// not achieve consistency until at least 1 minute after the producers stop
// sending messages" (GetQueueAttributes, Amazon SQS API Reference). Before
// that, ops missing are in flight, not lost. moto's counts are exact (the
// weak promises lag them 3 s): memo sets TwinCountLag on the twin.
var CountLag = 90 * time.Second

// The twin's scaled-down times (internal/dev/local, internal/dev/weak).
const (
	TwinFailedSettleAfter = 10 * time.Second
	TwinCountLag          = 5 * time.Second
)

// Settled reports whether the batch can no longer change:
//
//   - a rejected batch: at once (nothing was enqueued);
//   - a split batch: when every op is accounted for, or when the ops
//     queue is empty (no message visible, in flight or delayed: nothing
//     of the batch can still arrive), whatever is then lost, read at
//     least CountLag after the split finished (SQS's counts lag);
//   - a failed batch: when the ops queue is empty and the report is
//     FailedSettleAfter old (the splitter's retries are over).
//
// Without a report nothing is settled.
func (r Reconciliation) Settled() bool {
	if r.Report == nil {
		return false
	}
	switch r.Report.Status {
	case record.ReportRejected:
		return true
	case record.ReportSplit:
		return r.Lost == 0 || r.Queued == 0 && r.At.Sub(r.Report.FinishedAt) >= CountLag
	case record.ReportFailed:
		return r.Queued == 0 && r.At.Sub(r.Report.FinishedAt) >= FailedSettleAfter
	case record.ReportSplitting:
		// Chunks are still queuing ops (or wait in the chunk DLQ).
		return false
	}
	return false
}

// Line is the one-line summary memo prints.
func (r Reconciliation) Line() string {
	line := fmt.Sprintf("batch %s: total=%d ok=%d error=%d rejected=%d superseded=%d dlq=%d lost=%d",
		r.Batch, r.Total, r.OK, r.Error, r.Rejected, r.Superseded, r.DLQ, r.Lost)
	if r.DLQEstimated > 0 {
		line += fmt.Sprintf(" (dlq counts %d ops not seen: the DLQ holds about %d more ops than memo reads at once)", r.DLQEstimated, r.DLQUnread)
	}
	return line
}
