package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
)

func init() {
	register(&command{
		name:    "resume",
		summary: "resume a batch whose split failed, without uploading it again",
		usage:   "BATCH_ID | --all [target flags]",
		help: `memo resume finds what is left of a batch whose split failed and starts it
again: each of its records in memo-<ws>-split-failures (an S3 event the
splitter failed on through Lambda's retries) is sent to the splitter again
as an asynchronous invocation (Lambda Invoke, InvocationType Event) and
deleted once Lambda has accepted it; each of its chunk tasks in
memo-<ws>-chunks-dlq is moved back to the chunk queue (deleted only after
its copy was sent). Splitting again is safe: the plan is keyed by the
batch id (key@ETag), every op by its name with the batch's stamp, and each
chunk's done marker by its index, so the batch ends with the same results
and its report says split. With --all it resumes every batch found there.

It prints what it did; if nothing of the batch is there (its split may
still be in Lambda's retries, or it was resumed already) it says so and
exits 1. memo status BATCH_ID shows the batch's state and says when to
resume it. It needs lambda:InvokeFunction on the splitter and
sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility on
both queues, sqs:SendMessage on the chunk queue.

Examples:
  memo resume 'batches/work.json@c3cd268ba3e4bc47df81415117b92055' --workspace dev
  memo resume --all --endpoint http://127.0.0.1:PORT`,
		declare: declareResume,
	})
}

func declareResume(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	all := fs.Bool("all", false, "resume every batch with a record in the split-failures queue or a task in the chunk DLQ")
	return func(ctx context.Context, args []string) error {
		id := ""
		switch {
		case *all && len(args) > 0:
			return usageErr("give a batch id or --all, not both")
		case !*all && len(args) != 1:
			return usageErr("want exactly one batch id (or --all)")
		case !*all:
			id = args[0]
		}
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		if id != "" {
			if id, err = c.ResolveBatch(ctx, id); err != nil {
				return err
			}
		}
		res, err := c.Resume(ctx, id)
		printResume(env, c, res)
		if errors.Is(err, workspace.ErrNothingToResume) {
			what := "nothing to resume: no record in the split-failures queue and no chunk task in the chunk DLQ"
			if id != "" {
				what = "nothing to resume for batch " + id + ": no record of it in the split-failures queue and no chunk task of it in the chunk DLQ"
			}
			return &exitError{code: exitFailure, err: fmt.Errorf("%s (memo status BATCH_ID shows a batch's state; a failed split may still be in Lambda's retries, about 3 minutes)", what)}
		}
		return err
	}
}

func printResume(env *cli, c *workspace.Client, res workspace.ResumeResult) {
	for _, batches := range res.Invoked {
		fmt.Fprintf(env.stdout, "split of %s: invoked %s again (asynchronously; Lambda accepted it)\n", strings.Join(batches, ", "), c.Res.SplitterFunction)
	}
	if n := res.Chunks.Moved + res.Chunks.Duplicated; n > 0 {
		fmt.Fprintf(env.stdout, "chunk tasks moved back to the chunk queue: moved=%d duplicated=%d\n", res.Chunks.Moved, res.Chunks.Duplicated)
	}
	if res.RecordsLeft > 0 {
		fmt.Fprintf(env.stderr, "%d records could not be deleted after their invocation was accepted: they reappear in the split-failures queue (resuming them again splits the batch again, to the same result)\n", res.RecordsLeft)
	}
	if res.Undecodable > 0 {
		fmt.Fprintf(env.stderr, "%d records in the split-failures queue are undecodable and stay there (memo dlq list --queue split-failures)\n", res.Undecodable)
	}
	if !res.Nothing() {
		fmt.Fprintln(env.stdout, "follow it with: memo status --watch BATCH_ID")
	}
}

// printResumeHint tells memo status's reader to resume a batch that
// needs it: a failed batch, or one still splitting whose chunk tasks wait
// in the chunk DLQ (or with a record of an earlier failed split); the
// reads this costs are made for splitting batches only.
func printResumeHint(ctx context.Context, env *cli, c *workspace.Client, rec status.Reconciliation) {
	r := rec.Report
	if r == nil || (r.Status != record.ReportFailed && r.Status != record.ReportSplitting) {
		return
	}
	if r.Status == record.ReportSplitting {
		records, chunks, err := c.Resumable(ctx, rec.Batch)
		if err != nil {
			fmt.Fprintf(env.stderr, "memo status: reading the chunk DLQ and the split-failures queue: %v\n", err)
			return
		}
		if records+chunks == 0 {
			return
		}
		if chunks > 0 {
			fmt.Fprintf(env.stdout, "%d chunk tasks of the batch wait in the chunk DLQ\n", chunks)
		}
	}
	fmt.Fprintf(env.stdout, "resume with: memo resume %s\n", rec.Batch)
}
