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
	// Counts reads the counters compute keeps for the batch (one read of
	// its item in the batches table); zero when it has none.
	Counts(ctx context.Context, batch string) (Counts, error)
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
	// have none), as eventually consistent reads.
	Stored(ctx context.Context, names []string) (map[string]record.Result, error)
}

// Counts are compute's counters of a batch: the results it stored, by
// status, and the ops it found superseded.
type Counts struct{ OK, Error, Superseded int }

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
	// Unnamed is true when the account had to be made by names and the
	// batch object (needed to learn them) was gone: the counters stand.
	Unnamed bool
	// Reconciled says why the account was made name by name (the batch
	// object read, its names looked up) instead of from the counters; ""
	// when it was not.
	Reconciled string
	// ReadBy says how an account by names read the table: ReadByLookups
	// (each name looked up) or ReadByScan (the results table scanned and
	// joined with the names; ChooseRead); "" when it read neither.
	ReadBy string
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
	// DLQSkipped is true when the account did not read the DLQ
	// (ReconcileBusy): the batch's ops there count in Lost, as in flight.
	DLQSkipped bool
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

// How an account by names read the table (Reconciliation.ReadBy).
const (
	ReadByLookups = "lookups"
	ReadByScan    = "scan"
)

// Why an account is made by names (Reconciliation.Reconciled).
const (
	ReasonAsked = "asked (--exact)"
	ReasonOver  = "the counters count more ops than the batch has"
	// ReasonDLQ: the counters add up, with superseded ops among them,
	// while the DLQ holds ops of the batch (a redrive counts a message's
	// superseded ops again).
	ReasonDLQ     = "the counters add up but the DLQ holds ops of the batch"
	ReasonShort   = "the batch has settled and the counters miss ops"
	ReasonUnnamed = "the batch object is gone: its names cannot be read"
	// ReasonIdle is a wait's last word (workspace.Wait): the pipeline is
	// idle and the counters miss ops.
	ReasonIdle = "idle, and the counters miss ops"
)

// Reconcile accounts for a batch from its counters, and by names only when
// they cannot be believed:
//
//   - closed: when ok + error + superseded (compute's counters) + rejected
//     = total, the account is closed with no other read (with superseded
//     ops among them, once the DLQ holds none of the batch's unstored
//     ops: see ReasonDLQ). This is the answer for every batch that went
//     well, at the cost of one read.
//   - running: when the counters miss ops and the batch can still change
//     (chunks still queuing ops, messages in the ops queue, or the split
//     finished less than CountLag ago, since SQS's counts lag), the
//     missing ops are in flight (Lost, not settled), less the DLQ's: the
//     DLQ's names are looked up, and those holding neither this upload's
//     result nor a newer one count in DLQ. This is every poll of a running
//     batch.
//   - by names: when the counters count more ops than the batch has, or
//     the batch has settled and they miss ops: the batch object is read
//     for its names (Source.Names) and every name looked up (Source.Stored),
//     or, when the Source is a TableScanner and ChooseRead finds the
//     results table small next to the batch, the table scanned and joined
//     with the names (the same account, Reconciliation.ReadBy says which):
//     this upload's result is ok or error, a newer upload's superseded; a
//     name without either is in the DLQ if its message is there, lost
//     otherwise. Reconciliation.Reconciled says why.
//
// The counters can close an account wrongly only when two errors cancel
// exactly: an undercount (an invocation that stored results and crashed
// before adding its tally; the redelivered ops are then already stored and
// not counted again) and an overcount of the same size (a counter update
// applied twice because its answer was lost and it was retried, or an op
// delivered twice and found superseded by both copies). Each alone shows
// as a short or an excessive sum, which the names settle; memo status
// --exact reconciles by names whatever the counters say. The counters also
// count what compute did, not what the table holds now: a result of this
// upload that a newer upload replaced since stays ok (or error) by them,
// superseded by names.
func Reconcile(ctx context.Context, src Source, batch string) (Reconciliation, error) {
	return reconcile(ctx, src, batch, modeCounters)
}

// ReconcileExact reconciles by names whatever the counters say.
func ReconcileExact(ctx context.Context, src Source, batch string) (Reconciliation, error) {
	return reconcile(ctx, src, batch, modeExact)
}

// ReconcileBusy is Reconcile for a poll made while the pipeline is busy
// (work queued or running, as a wait sees it): it reads the DLQ only where
// a verdict stands on it, because a peek costs seconds (it long-polls until
// two empty answers; see workspace.PeekDLQ). The DLQ's count cannot stand
// in for the read: it "may not achieve consistency until at least 1 minute
// after the producers stop sending messages" (CountLag). Unread:
//
//   - a batch without a report (nothing of it settles: Settled);
//   - a running batch whose counters miss ops: its ops in the DLQ then
//     count as in flight (Lost, not settled) instead of dlq.
//
// So such an account overstates Lost and never understates it: it closes
// or settles no batch that Reconcile would not. Counters that add up with
// superseded ops, and a batch that reads quiet (its ops queue empty: the
// account by names follows), read the DLQ as Reconcile does.
// Reconciliation.DLQSkipped says when it was not read.
func ReconcileBusy(ctx context.Context, src Source, batch string) (Reconciliation, error) {
	return reconcile(ctx, src, batch, modeBusy)
}

// How reconcile reads.
type mode int

const (
	modeCounters mode = iota // Reconcile
	modeExact                // ReconcileExact
	modeBusy                 // ReconcileBusy
)

func reconcile(ctx context.Context, src Source, batch string, m mode) (Reconciliation, error) {
	r := Reconciliation{Batch: batch, Queued: -1, At: time.Now(), ChunksDone: -1}
	rep, found, err := src.Report(ctx, batch)
	if err != nil {
		return r, err
	}
	c, err := src.Counts(ctx, batch)
	if err != nil {
		return r, err
	}
	if !found {
		// No total to close: what compute counted, and the DLQ.
		r.OK, r.Error, r.Superseded = c.OK, c.Error, c.Superseded
		if m == modeBusy {
			r.DLQSkipped = true
			return r, nil
		}
		dlq, err := readDLQ(ctx, src, batch, &r)
		if err != nil {
			return r, err
		}
		r.DLQ = len(unique(dlq))
		return r, nil
	}
	r.Report = &rep
	r.Total, r.Rejected = rep.Totals.Ops, rep.Totals.Rejected
	if cc, ok := src.(ChunkCounter); ok && rep.Status == record.ReportSplitting {
		if r.ChunksDone, err = cc.ChunksDone(ctx, batch); err != nil {
			return r, err
		}
	}
	sum := c.OK + c.Error + c.Superseded + r.Rejected
	var dlq []string
	dlqRead := false
	switch {
	case m == modeExact:
		r.Reconciled = ReasonAsked
	case sum == r.Total && c.Superseded == 0:
		r.OK, r.Error, r.Superseded = c.OK, c.Error, c.Superseded
		return r, nil
	case sum == r.Total:
		// A superseded refusal is counted on a message's first delivery,
		// and a redriven message is a new message (receive count 1): its
		// superseded ops are counted again while its other ops may be
		// back in the DLQ, and the sum then closes over them. So with
		// superseded ops the account closes only when the DLQ holds none
		// of the batch's unstored ops.
		if dlq, err = readDLQ(ctx, src, batch, &r); err != nil {
			return r, err
		}
		dlqRead = true
		probe := r
		if err := probe.countDLQ(ctx, src, dlq); err != nil {
			return r, err
		}
		if probe.DLQ == 0 && r.DLQUnread == 0 {
			r.OK, r.Error, r.Superseded = c.OK, c.Error, c.Superseded
			return r, nil
		}
		r.Reconciled = ReasonDLQ
	case sum > r.Total:
		r.Reconciled = ReasonOver
	}
	// The ops queue is read before the DLQ: a message that leaves it for
	// the DLQ after its count was read is then in the DLQ when that is read.
	if r.Queued, err = src.Pending(ctx); err != nil {
		return r, err
	}
	if !dlqRead && (m != modeBusy || r.Reconciled != "" || r.quiet()) {
		if dlq, err = readDLQ(ctx, src, batch, &r); err != nil {
			return r, err
		}
	} else if !dlqRead {
		r.DLQSkipped = true
	}
	if r.Reconciled == "" {
		if !r.quiet() {
			r.OK, r.Error, r.Superseded = c.OK, c.Error, c.Superseded
			if err := r.countDLQ(ctx, src, dlq); err != nil {
				return r, err
			}
			return r.finish(), nil
		}
		r.Reconciled = ReasonShort
	}
	if ts, ok := src.(TableScanner); ok {
		// The size figure is a hint: without it (DescribeTable refused,
		// say), the names are looked up as before.
		size, err := ts.TableSize(ctx)
		if plan := ChooseRead(r.Total-r.Rejected, size); err == nil && plan.Scan {
			named, err := r.byScan(ctx, src, ts, plan, dlq)
			switch {
			case errors.Is(err, errOverBudget):
				r.OK, r.Error, r.Superseded, r.DLQ = 0, 0, 0, 0
				r.Reconciled += "; " + ReasonScanOverBudget
			case err != nil:
				return r, err
			case !named:
				return r.unnamed(ctx, src, c, dlq)
			default:
				return r.finish(), nil
			}
		}
	}
	r.ReadBy = ReadByLookups
	inDLQ := map[string]bool{}
	for _, n := range dlq {
		inDLQ[n] = true
	}
	var window []string
	flush := func() error {
		items, err := src.Stored(ctx, window)
		if err != nil {
			return err
		}
		for _, n := range window {
			it, ok := items[n]
			switch {
			case ok && it.Batch == rep.Batch:
				if it.Status == record.StatusOK {
					r.OK++
				} else {
					r.Error++
				}
			case ok && Newer(it, rep):
				r.Superseded++
			case inDLQ[n]:
				r.DLQ++
			}
		}
		window = window[:0]
		return nil
	}
	named, err := src.Names(ctx, rep, func(n string) error {
		window = append(window, n)
		if len(window) == namesWindow {
			return flush()
		}
		return nil
	})
	if err == nil && named && len(window) > 0 {
		err = flush()
	}
	if err != nil {
		return r, err
	}
	if !named {
		return r.unnamed(ctx, src, c, dlq)
	}
	return r.finish(), nil
}

// unnamed is the account when the batch object is gone: the counters
// stand, and the DLQ's names are looked up.
func (r Reconciliation) unnamed(ctx context.Context, src Source, c Counts, dlq []string) (Reconciliation, error) {
	r.Unnamed, r.ReadBy = true, ""
	r.Reconciled += "; " + ReasonUnnamed
	r.OK, r.Error, r.Superseded, r.DLQ = c.OK, c.Error, c.Superseded, 0
	if err := r.countDLQ(ctx, src, dlq); err != nil {
		return r, err
	}
	return r.finish(), nil
}

// namesWindow is how many names the account by names looks up at a time
// (Source.Stored reads them 100 a call).
const namesWindow = 10000

// quiet reports whether nothing of the batch can still change: its split
// is over (not splitting), the ops queue is empty, and SQS's counts are
// believed (CountLag after the split; a failed split's retries are over,
// FailedSettleAfter).
func (r Reconciliation) quiet() bool {
	if r.Report == nil || r.Queued != 0 {
		return false
	}
	age := r.At.Sub(r.Report.FinishedAt)
	switch r.Report.Status {
	case record.ReportRejected:
		return true
	case record.ReportSplit:
		return age >= CountLag
	case record.ReportFailed:
		return age >= FailedSettleAfter
	}
	return false
}

// countDLQ counts in DLQ the DLQ's names that hold neither this upload's
// result nor a newer upload's (those are accounted for already).
func (r *Reconciliation) countDLQ(ctx context.Context, src Source, dlq []string) error {
	names := unique(dlq)
	if len(names) == 0 {
		return nil
	}
	items, err := src.Stored(ctx, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		it, ok := items[n]
		if !ok || it.Batch != r.Report.Batch && !Newer(it, *r.Report) {
			r.DLQ++
		}
	}
	return nil
}

// finish derives Lost, taking unread DLQ messages into account.
func (r Reconciliation) finish() Reconciliation {
	r.Lost = max(r.Total-r.OK-r.Error-r.Rejected-r.Superseded-r.DLQ, 0)
	// Ops missing while DLQ messages went unread are not known lost: the
	// DLQ holds at least that many messages memo could not tell apart.
	if r.DLQUnread > 0 && r.Lost > 0 {
		r.DLQEstimated = min(r.Lost, r.DLQUnread)
		r.DLQ += r.DLQEstimated
		r.Lost -= r.DLQEstimated
	}
	return r
}

func unique(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
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
	if r.Reconciled != "" {
		line += " (reconciled by names: " + r.Reconciled
		if r.ReadBy == ReadByScan {
			line += "; read by a scan of the results table"
		}
		line += ")"
	}
	return line
}
