package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
)

func init() {
	register(&command{
		name:    "submit",
		summary: "upload a batch file under batches/ and print its batch id; --wait follows it to the end",
		usage:   "[--key KEY] [--wait] [target flags] FILE",
		help: `Examples:
  memo submit --workspace dev work.json
  memo submit --endpoint http://127.0.0.1:PORT --wait big.jsonl

The key defaults to batches/<file name>. With --wait, memo prints progress
(ops done of total) until the batch has settled (see memo help status), then
the reconciliation line of memo status (total, ok, error, rejected,
superseded, dlq, lost); the exit code is 0 when nothing was lost, 3 if ops
were lost (or no report came), 4 if the file was rejected.`,
		declare: declareSubmit,
	})
}

func declareSubmit(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	key := fs.String("key", "", "object key (default batches/<file name>; must start with batches/)")
	wait := fs.Bool("wait", false, "wait until every op is accounted for, showing progress")
	timeout := fs.Duration("timeout", time.Hour, "with --wait: give up after this long")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usageErr("want exactly one batch file")
		}
		file := args[0]
		k := *key
		if k == "" {
			k = naming.BatchPrefix + filepath.Base(file)
		}
		if !strings.HasPrefix(k, naming.BatchPrefix) {
			return usageErr("--key %q: batches are read only under %s", k, naming.BatchPrefix)
		}
		if _, ok := batch.FormatOf(k); !ok {
			return usageErr("key %q: a batch key ends in .json or .jsonl", k)
		}
		if _, err := os.Stat(file); err != nil {
			return usageErr("%v", err)
		}
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, k, file)
		if err != nil {
			return err
		}
		id := naming.BatchID(up.Key, up.ETag)
		fmt.Fprintf(env.stdout, "batch %s\n", id)
		if !*wait {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		p := newProgress(env)
		rec, err := c.Wait(ctx, id, workspace.WaitOptions{Poll: time.Second, Progress: p.update})
		p.done()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", id, err)
		}
		if rec.Report != nil {
			printRejections(env.stdout, *rec.Report)
		}
		fmt.Fprintln(env.stdout, rec.Line())
		return batchExit(rec)
	}
}

// progress shows a batch's progress: a bar redrawn in place on a terminal,
// a plain line every few seconds otherwise.
type progress struct {
	env   *cli
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(env *cli) *progress { return &progress{env: env, start: time.Now()} }

func (p *progress) update(r status.Reconciliation) {
	done := r.Done()
	elapsed := time.Since(p.start)
	rate := float64(done) / elapsed.Seconds()
	eta := "?"
	if rate > 0 && r.Total > done {
		eta = (time.Duration(float64(r.Total-done)/rate) * time.Second).Round(time.Second).String()
	} else if r.Total > 0 && done >= r.Total {
		eta = "0s"
	}
	total := "?"
	if r.Report != nil {
		total = fmt.Sprint(r.Total)
	}
	if p.env.isTerminal {
		const width = 30
		filled := 0
		if r.Total > 0 {
			filled = min(width, done*width/r.Total)
		}
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		fmt.Fprintf(p.env.stdout, "\r\033[K%s %d/%s ops  %.0f ops/s  ETA %s", bar, done, total, rate, eta)
		p.drawn = true
		return
	}
	if time.Since(p.last) >= 5*time.Second || (r.Settled() && !p.last.IsZero()) {
		p.last = time.Now()
		fmt.Fprintf(p.env.stdout, "progress: %d/%s ops, %.0f ops/s, ETA %s\n", done, total, rate, eta)
	}
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.env.stdout)
	}
}
