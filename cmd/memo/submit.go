package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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

The key's suffix names the format: ` + batch.SuffixList() + `
(see README, "Batch files"); memo submit refuses any other key, and a
gzip- or zstd-compressed FILE under a key without .gz or .zst, before
uploading.
The key defaults to batches/<file name>. With --wait, memo prints progress
(ops done of total; the total is counted from FILE with the splitter's own
scanner) until the batch has settled (see memo help status), then the
reconciliation line of memo status (total, ok, error, rejected, superseded,
dlq, lost); the exit code is 0 when nothing was lost, 3 if ops were lost (or
no report came), 4 if the file was rejected. It waits as long as the batch
moves, and gives up (exit 1) once nothing has moved for --stall: no op
accounted for, no change in the ops queue's depth, no report, no chunk done.
The default outlasts a poison op's redeliveries at Terraform's defaults (5
receives x a 180 s visibility timeout). While the batch is splitting, the
wait is at least a chunk's retry: a throttled or failed chunk comes back
after the chunk queue's visibility timeout (30 minutes at the defaults),
read from the queue, plus one splitter timeout.`,
		declare: declareSubmit,
	})
}

func declareSubmit(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	key := fs.String("key", "", "object key (default batches/<file name>; must start with batches/)")
	wait := fs.Bool("wait", false, "wait until every op is accounted for, showing progress")
	timeout := fs.Duration("timeout", 0, "with --wait: give up after this long even while the batch moves (0: no limit)")
	stall := fs.Duration("stall", DefaultStall, "with --wait: give up once nothing has moved for this long")
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
		if err := naming.ValidBatchKey(k); err != nil {
			return usageErr("--key: %v", err)
		}
		if err := checkBatchFile(file, k); err != nil {
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
		id := naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
		fmt.Fprintf(env.stdout, "batch %s\n", id)
		if !*wait {
			return nil
		}
		ctx, cancel := withTimeout(ctx, *timeout)
		defer cancel()
		p := newProgress(env.stdout, env.isTerminal, countOps(file, k))
		rec, err := c.Wait(ctx, id, workspace.WaitOptions{Poll: time.Second, Progress: p.update, Stall: *stall})
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

// DefaultStall is how long memo submit --wait and memo local --batch wait
// while nothing moves: longer than a poison op's maxReceiveCount (5)
// deliveries at a 180 s visibility timeout, Terraform's defaults.
const DefaultStall = 20 * time.Minute

// withTimeout is context.WithTimeout, with 0 for no limit.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// countOps counts the ops of a batch file as the splitter will (every op,
// rejected ones included: its report's total), or returns -1 if the file
// cannot be read or is broken.
func countOps(file, key string) int {
	f, ok := batch.FormatOf(key)
	if !ok {
		return -1
	}
	r, err := os.Open(file)
	if err != nil {
		return -1
	}
	defer r.Close()
	n := 0
	if err := batch.Scan(r, f, func(batch.Item) error { n++; return nil }); err != nil {
		return -1
	}
	return n
}

// progress shows a batch's progress: a bar redrawn in place on a terminal,
// a plain line every few seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	total int // counted from the file, until the report says; -1 unknown
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, tty bool, total int) *progress {
	return &progress{w: w, tty: tty, total: total, start: time.Now()}
}

func (p *progress) update(r status.Reconciliation) {
	if r.Report == nil && p.total >= 0 {
		r.Total = p.total
	}
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
	if r.Report != nil || p.total >= 0 {
		total = fmt.Sprint(r.Total)
	}
	if p.tty {
		const width = 30
		filled := 0
		if r.Total > 0 {
			filled = min(width, done*width/r.Total)
		}
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		fmt.Fprintf(p.w, "\r\033[K%s %d/%s ops  %.0f ops/s  ETA %s", bar, done, total, rate, eta)
		p.drawn = true
		return
	}
	if time.Since(p.last) >= 5*time.Second || (r.Settled() && !p.last.IsZero()) {
		p.last = time.Now()
		fmt.Fprintf(p.w, "progress: %d/%s ops, %.0f ops/s, ETA %s\n", done, total, rate, eta)
	}
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// checkBatchFile refuses, before anything is uploaded, a file the splitter
// would not read: a key of no known format (S3 would not even notify the
// splitter, and the wait would end with every op unaccounted for), or a
// compressed stream under a plain key (the splitter goes by the suffix and
// would reject it whole).
func checkBatchFile(file, key string) error {
	f, ok := batch.FormatOf(key)
	if !ok {
		return fmt.Errorf("%s: not a batch file: memo reads %s", key, batch.SuffixList())
	}
	r, err := os.Open(file)
	if err != nil {
		return err
	}
	defer r.Close()
	var head [4]byte
	n, _ := io.ReadFull(r, head[:])
	if name, suffix, ok := batch.SniffCompression(head[:n]); ok && !f.Compressed() {
		return fmt.Errorf("%s is %s-compressed: name it %s%s", file, name, key, suffix)
	}
	return nil
}
