// Package status reconciles a batch: every op of an accepted batch must be
// accounted for, as a result (ok or error), a rejection, or a message in the
// DLQ. What is left over is lost (or, while the batch runs, still in flight).
// memo status, memo local --batch and the end-to-end tests all use this one
// reconciliation.
package status

import (
	"context"
	"fmt"

	"github.com/memohq/memo/internal/pipeline/record"
)

// Source is where the facts of a batch live.
type Source interface {
	// Report returns the splitter's report of a batch; found is false
	// while it does not exist yet.
	Report(ctx context.Context, batch string) (rep record.Report, found bool, err error)
	// Results calls fn for every result stored for the batch.
	Results(ctx context.Context, batch string, fn func(name string, st record.Status) error) error
	// DLQ returns the names of the batch's ops whose messages are in the
	// dead-letter queue.
	DLQ(ctx context.Context, batch string) ([]string, error)
}

// Reconciliation is the account of one batch.
type Reconciliation struct {
	Batch string
	// Report is nil while the splitter has not written it.
	Report *record.Report
	// Total is the number of ops in the file (the report's count).
	Total, OK, Error, Rejected, DLQ, Lost int
	// Queued is the number of messages in the ops queue (all batches'),
	// when the caller looked; -1 when it did not.
	Queued int
}

// Done estimates how many ops are finished, for progress displays: the
// accounted ops, or the enqueued ops that have left the queue if the queue
// was looked at more recently.
func (r Reconciliation) Done() int {
	done := r.OK + r.Error + r.Rejected + r.DLQ
	if r.Report != nil && r.Queued >= 0 {
		done = max(done, min(r.Total, r.Total-r.Queued))
	}
	return done
}

// Reconcile gathers the counts of a batch. A name both stored and in the DLQ
// (a duplicate delivery of which one copy failed) counts once, as stored.
func Reconcile(ctx context.Context, src Source, batch string) (Reconciliation, error) {
	r := Reconciliation{Batch: batch, Queued: -1}
	rep, found, err := src.Report(ctx, batch)
	if err != nil {
		return r, err
	}
	if found {
		r.Report = &rep
		r.Total, r.Rejected = rep.Totals.Ops, rep.Totals.Rejected
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
	dlq, err := src.DLQ(ctx, batch)
	if err != nil {
		return r, err
	}
	seen := map[string]bool{}
	for _, n := range dlq {
		if !stored[n] && !seen[n] {
			seen[n] = true
			r.DLQ++
		}
	}
	r.Lost = max(r.Total-r.OK-r.Error-r.Rejected-r.DLQ, 0)
	return r, nil
}

// Settled reports whether the batch is fully accounted for: its report is
// final and nothing is missing.
func (r Reconciliation) Settled() bool {
	if r.Report == nil {
		return false
	}
	switch r.Report.Status {
	case record.ReportRejected:
		return true
	case record.ReportSplit:
		return r.Lost == 0
	}
	return false
}

// Line is the one-line summary memo prints.
func (r Reconciliation) Line() string {
	return fmt.Sprintf("batch %s: total=%d ok=%d error=%d rejected=%d dlq=%d lost=%d",
		r.Batch, r.Total, r.OK, r.Error, r.Rejected, r.DLQ, r.Lost)
}
