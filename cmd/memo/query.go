package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal (a tty), not merely a
// character device: /dev/null is one of those too.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func init() {
	register(&command{
		name:    "results",
		summary: "show results by op name, by batch, or all of them",
		usage:   "[--batch ID | --all] [--format table|arrow|json|csv] [target flags] [NAME...]",
		help: `Examples:
  memo results --workspace dev 1_plus_1 2_by_2
  memo results --endpoint http://127.0.0.1:PORT --batch 'batches/work.json@c3cd268ba3e4bc47df81415117b92055'
  memo results --workspace dev --all --format csv > results.csv

--format defaults to table on a terminal and arrow ("NAME -> VALUE") otherwise;
json prints one object per line. A name without a result is reported on
stderr and makes the exit code 1.`,
		declare: declareResults,
	})
	register(&command{
		name:    "status",
		summary: "reconcile a batch: its report and how many ops are ok, error, rejected, superseded, in the DLQ or lost",
		usage:   "[--watch] [--exact] [--json] [target flags] BATCH_ID",
		help: `BATCH_ID is the key of the upload and its version id, as memo submit, memo
local and the report print it: one upload is one batch, even of identical
content. KEY@ETAG (what aws s3 cp shows) names the newest upload of KEY with
that ETag: batches/work.json@c3cd268ba3e4bc47df81415117b92055

It prints the report and the line
  batch ID: total=N ok=N error=N rejected=N superseded=N dlq=N lost=N
ok and error count the batch's results, rejected the ops the splitter
refused, superseded the ops whose name now holds a result of a newer upload
(of two uploads that contain the same op name, the one S3 accepted later
wins), dlq the ops whose messages wait in the DLQ, lost the rest.

The counts come from counters compute keeps per batch (one read of the
batches table). When they account for every op, that is the answer. When
they count more ops than the batch has, or the batch has settled and they
miss ops, or they count superseded ops while the DLQ holds ops of the batch
(a redrive counts a pack's superseded ops again), or when asked (--exact),
memo reconciles by names: it reads the
batch object for its op names and looks each up in the results table (100
a call; about $0.06 for a 1M-op batch), or, when the table is small next
to the batch (by DynamoDB's size figure of it), scans the table and joins
it with the names (about $0.004 for a 1M-op batch in a table of 1M
results), and the line ends in "(reconciled by names: WHY)" (with "; read
by a scan of the results table" for a scan). Batches uploaded before the
counters existed have none and are reconciled by names once settled.

The batch has settled when nothing about it can still change: a rejected
batch at once; a split batch when every op is accounted for, or when the
ops queue is empty (no message visible, in flight or delayed, of any batch),
whatever is then lost; a failed batch when the ops queue is empty and its
report is 15 minutes old. A batch whose report says splitting has not
settled: its chunks are still queuing its ops, and memo status prints how
many of them are done. Until then the line ends in "(in progress)" and lost
counts the ops not yet accounted for.

How long a settled answer can take, and why: a batch whose ops all arrive
settles as soon as they do. One with ops missing settles no sooner than
90 s after its split finished, because SQS's queue counts "may not achieve
consistency until at least 1 minute after the producers stop sending"
(GetQueueAttributes); --watch (like submit --wait) also wants a few empty
readings in a row. A failed split settles 15 minutes after its report:
Lambda retries it about 1 and 2 minutes apart, each attempt up to the
splitter's 300 s timeout; a throttled event can be retried for up to 6
hours, which memo does not wait for (memo resume takes what then lands in
the split-failures queue). The DLQ is read with long polls (short polls
can miss messages); a DLQ too large to read whole counts the ops missing as
dlq, up to the messages it could not read, and says so. On the twin
(--endpoint) these times are scaled down: 5 s and 10 s.

Examples:
  memo status --workspace dev 'batches/work.json@c3cd268ba3e4bc47df81415117b92055'
  memo status --endpoint http://127.0.0.1:PORT --watch 'batches/work.json@...'
  memo status --workspace dev --exact 'batches/work.json@...'

Exit codes: 0 when the batch has settled with nothing lost, or is still in
progress (without --watch); 1 when it has no report (yet); 3 when it has
settled with ops lost (with --watch: when the wait ends with ops lost); 4
when it was rejected.`,
		declare: declareStatus,
	})
}

func declareResults(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	batch := fs.String("batch", "", "show the results of this batch id (its object's names looked up, or the results table scanned when it is small next to the batch)")
	all := fs.Bool("all", false, "show every result in the table (a paginated scan)")
	def := "arrow"
	if env.isTerminal {
		def = "table"
	}
	format := fs.String("format", def, "output format: table, arrow, json or csv")
	return func(ctx context.Context, names []string) error {
		if !validFormat(*format) {
			return usageErr("--format %q: want one of %v", *format, formats)
		}
		modes := 0
		for _, b := range []bool{*batch != "", *all, len(names) > 0} {
			if b {
				modes++
			}
		}
		if modes != 1 {
			return usageErr("give op names, or --batch ID, or --all")
		}
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		var list []record.Result
		switch {
		case *all:
			if err := c.Table.Scan(ctx, func(r record.Result) error { list = append(list, r); return nil }); err != nil {
				return err
			}
		case *batch != "":
			if *batch, err = c.ResolveBatch(ctx, *batch); err != nil {
				return err
			}
			// The batch's names (its object) looked up, keeping those that
			// hold its result: no index to query.
			found, err := c.Results(ctx, *batch, func(r record.Result) error { list = append(list, r); return nil })
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("batch %s: no report or its object is gone: its names cannot be read (memo status %s)", *batch, *batch)
			}
		default:
			got, err := c.Table.Get(ctx, names)
			if err != nil {
				return err
			}
			var missing []string
			for _, n := range names {
				if r, ok := got[n]; ok {
					list = append(list, r)
				} else {
					missing = append(missing, n)
				}
			}
			defer func() {
				for _, n := range missing {
					fmt.Fprintf(env.stderr, "memo results: no result for %s\n", quoteName(n))
				}
			}()
			if len(missing) > 0 {
				if err := printResults(env.stdout, list, *format); err != nil {
					return err
				}
				return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d names have no result", len(missing), len(names))}
			}
			return printResults(env.stdout, list, *format)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		return printResults(env.stdout, list, *format)
	}
}

func declareStatus(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	watch := fs.Bool("watch", false, "refresh until the batch has settled")
	interval := fs.Duration("interval", 2*time.Second, "with --watch: time between refreshes")
	asJSON := fs.Bool("json", false, "print the reconciliation and the report as JSON")
	exact := fs.Bool("exact", false, "reconcile by names (the batch object read, every name looked up or the results table scanned) whatever the counters say")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usageErr("want exactly one batch id")
		}
		if *exact && *watch {
			return usageErr("--exact reconciles once: not with --watch")
		}
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		id, err := c.ResolveBatch(ctx, args[0])
		if err != nil {
			return err
		}
		var rec status.Reconciliation
		if *watch {
			rec, err = c.Wait(ctx, id, workspace.WaitOptions{Poll: *interval, Progress: func(r status.Reconciliation) {
				if !*asJSON {
					fmt.Fprintln(env.stdout, r.Line())
				}
			}})
		} else if *exact {
			rec, err = status.ReconcileExact(ctx, c, id)
		} else {
			rec, err = status.Reconcile(ctx, c, id)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			b, _ := json.MarshalIndent(map[string]any{
				"batch": rec.Batch, "total": rec.Total, "ok": rec.OK, "error": rec.Error, "rejected": rec.Rejected,
				"superseded": rec.Superseded, "dlq": rec.DLQ, "lost": rec.Lost, "settled": rec.Settled(), "report": rec.Report,
				"reconciled_by_names": rec.Reconciled, "read_by": rec.ReadBy,
			}, "", "  ")
			fmt.Fprintln(env.stdout, string(b))
		} else {
			printStatus(env, rec)
			printResumeHint(ctx, env, c, rec)
		}
		return statusExit(rec, *watch)
	}
}

// statusExit is memo status's exit code: 1 without a report, the batch's
// code (batchExit) once it has settled or a --watch has ended, else 0 (in
// progress).
func statusExit(rec status.Reconciliation, watched bool) error {
	if rec.Report == nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("no report for batch %s yet (is the id right? ids look like batches/KEY@ETAG)", rec.Batch)}
	}
	if rec.Settled() || watched {
		return batchExit(rec)
	}
	return nil
}

func printStatus(env *cli, rec status.Reconciliation) {
	if r := rec.Report; r != nil {
		fmt.Fprintf(env.stdout, "report: s3://%s/%s status=%s started=%s finished=%s\n", r.Bucket, r.Key, r.Status,
			r.StartedAt.Format(time.RFC3339), r.FinishedAt.Format(time.RFC3339))
		if r.Status == record.ReportSplitting && rec.ChunksDone >= 0 {
			fmt.Fprintf(env.stdout, "chunks: %d of %d done\n", rec.ChunksDone, r.Chunks)
		}
		printRejections(env.stdout, *r)
	}
	state := "in progress"
	if rec.Settled() {
		state = "settled"
	} else if rec.Report == nil {
		state = "no report yet"
	}
	fmt.Fprintf(env.stdout, "%s (%s)\n", rec.Line(), state)
}
