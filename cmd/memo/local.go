package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/faults"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/weak"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

func init() {
	register(&command{
		name:    "local",
		summary: "run the whole pipeline locally on moto (the twin), optionally processing one batch",
		usage:   "[--batch FILE] [--endpoint URL] [flags]",
		help: `Without --batch, memo local provisions the twin, prints its endpoint, bucket,
table and queues, and serves until interrupted, so that the AWS CLI drives it:

  memo local &
  aws --endpoint-url URL s3 cp work.json s3://BUCKET/batches/work.json
  memo status --endpoint URL 'batches/work.json@ETAG'

With --batch FILE it uploads FILE under batches/, waits until the batch has
settled (see memo help status), with a progress line on stderr every 5 s,
prints the results, the rejected ops and the reconciliation line of memo
status, and exits (code 0 when nothing was lost, 3 if any op is lost, 4 if
the file was rejected whole). It waits as long as the batch moves, and gives
up (exit 1) once nothing has moved for --stall.

  memo local --batch examples/work.json

FILE's suffix names its format: ` + batch.SuffixList() + `; memo local
refuses any other file before it starts the twin.

With --function DIR it builds the Go main package in DIR (a function written
with github.com/memohq/memo/fn) for linux/amd64 and runs it as the compute
function under aws-lambda-rie, one process per poller, fed by the same
event source mapping; --env K=V adds to its environment, and --faults
reaches its own S3, SQS and DynamoDB calls too. With --function the
splitter takes any JSON value as an op (--op-rules json, Terraform's
split_op_rules), so that {"name": "img-0001", "op": {"key": "photos/0001.jpg"}}
reaches the function as its object:

  memo local --function examples/functions/checksum --env OBJECTS_BUCKET=memo-local-batches-123456789012 --upload DIR --batch FILE

The twin starts moto_server on a free loopback port unless --endpoint names
a running emulator. Install moto with: pip install "moto[server]"`,
		declare: declareLocal,
	})
}

func declareLocal(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	batchFile := fs.String("batch", "", "upload this batch file, wait for it, print its results and exit")
	endpoint := fs.String("endpoint", "", "use the emulator at this URL instead of starting moto_server")
	ws := fs.String("workspace", local.DefaultWorkspace, "workspace name of the twin's resources")
	region := fs.String("region", awsconfig.DefaultRegion, "AWS region of the twin's resources (moto keeps one set per region)")
	timeout := fs.Duration("timeout", 0, "with --batch: give up after this long even while the batch moves (0: no limit)")
	stall := fs.Duration("stall", DefaultStall, "with --batch: give up once nothing has moved for this long")
	logFile := fs.String("log", "", "write the twin's and functions' JSON logs to this file (default: discard)")
	pollers := fs.Int("pollers", 4, "concurrent ops-queue pollers (the event source mapping's concurrency)")
	chunkOps := fs.Int("split-chunk-ops", local.DefaultChunkOps, "the most ops of one chunk of a batch (Terraform's split_chunk_ops): small values make small batches run as many chunks")
	packOps := fs.Int("split-pack-ops", local.DefaultPackOps, "the most ops of one ops-queue message (Terraform's split_pack_ops)")
	faultRate := fs.Float64("faults", 0, "fail this fraction (0..1) of the pipeline's S3, SQS and DynamoDB calls as AWS can (throttling, 5xx, resets, timeouts, failed batch entries)")
	faultSeed := fs.Uint64("faults-seed", 1, "seed of --faults' random choices")
	function := fs.String("function", "", "build the Go main package in this directory and run it as the compute function under aws-lambda-rie")
	opRules := fs.String("op-rules", "", `what the splitter accepts as an op (Terraform's split_op_rules): "expression" (memo's evaluator) or "json" (any JSON value, for your own function); default "json" with --function, else "expression"`)
	var fnEnv envFlag
	fs.Var(&fnEnv, "env", "with --function: K=V added to the function's environment (repeatable)")
	uploadDir := fs.String("upload", "", "before --batch: copy the files under this directory into the twin's bucket, keyed by their path relative to it (the objects a function reads)")
	rie := fs.String("rie", "", "with --function: the aws-lambda-rie binary (default: from PATH, else bin/aws-lambda-rie)")
	weakPromises := fs.Bool("weak", false, "keep AWS's weak promises where moto keeps strong ones: empty short polls, queue counts that lag (3 s, AWS's minute scaled down), deletes that do not take, 403 for a missing key, duplicate and late S3 notifications, late asynchronous retries (AWS's minute as 2 s), throttled invocations")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usageErr("unexpected arguments %q", args)
		}
		if err := naming.ValidWorkspace(*ws); err != nil {
			return usageErr("%v", err)
		}
		if *chunkOps < 1 || *chunkOps > splitter.DefaultMaxOps {
			return usageErr("--split-chunk-ops %d: want 1 to %d", *chunkOps, splitter.DefaultMaxOps)
		}
		if *packOps < 1 || *packOps > splitter.MaxPackOps {
			return usageErr("--split-pack-ops %d: want 1 to %d", *packOps, splitter.MaxPackOps)
		}
		if *faultRate < 0 || *faultRate > 1 {
			return usageErr("--faults %v: want a fraction from 0 to 1", *faultRate)
		}
		if *function == "" && (len(fnEnv) > 0 || *rie != "") {
			return usageErr("--env and --rie go with --function")
		}
		rules := local.DefaultOpRules
		if *function != "" {
			// A user's function is what the json rules are for.
			rules = batch.JSONRules
		}
		if *opRules != "" {
			r, ok := batch.ParseRules(*opRules)
			if !ok {
				return usageErr("--op-rules %q: want %q or %q", *opRules, batch.ExpressionRules, batch.JSONRules)
			}
			rules = r
		}
		opts := local.Options{Endpoint: *endpoint, Region: *region, Settings: local.Settings{Workspace: *ws, Pollers: *pollers, ChunkOps: *chunkOps, PackOps: *packOps, OpRules: rules}}
		var inj *faults.Injector
		if *faultRate > 0 {
			inj = faults.New(faults.Config{Rate: *faultRate, Seed: *faultSeed})
			opts.APIOptions = append(opts.APIOptions, inj.APIOption)
			defer func() { fmt.Fprintf(env.stderr, "faults injected: %d %v\n", inj.Stats().Total(), inj.Stats().ByKind()) }()
		}
		if *weakPromises {
			w := weak.Default()
			opts.Weak = &w
		}
		if *logFile != "" {
			f, err := os.Create(*logFile)
			if err != nil {
				return err
			}
			defer f.Close()
			opts.Log = f
		}
		if *function != "" {
			stop, err := userFunction(ctx, &opts, *function, *rie, fnEnv, inj)
			if err != nil {
				return err
			}
			defer stop()
		}
		if *batchFile != "" {
			if err := checkBatchFile(*batchFile, naming.BatchPrefix+filepath.Base(*batchFile)); err != nil {
				return usageErr("--batch: %v", err)
			}
		}
		// The twin's timing is AWS's scaled down (memo help status).
		status.CountLag, status.FailedSettleAfter = status.TwinCountLag, status.TwinFailedSettleAfter
		twin, err := local.Start(ctx, opts)
		if errors.Is(err, local.ErrNoMoto) {
			return err
		}
		if err != nil {
			return fmt.Errorf("starting the twin: %w", err)
		}
		defer twin.Stop()
		fmt.Fprint(env.stdout, twin.Summary())
		client := twin.Client()
		if *faultRate > 0 {
			// The faults are the pipeline's: the uploads and the wait reach
			// the twin without them.
			cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: twin.Endpoint(), Region: twin.Region, StaticCredentials: true})
			if err != nil {
				return err
			}
			client = workspace.New(cfg, twin.Resources)
		}
		if *uploadDir != "" {
			n, err := uploadTree(ctx, client, *uploadDir)
			if err != nil {
				return fmt.Errorf("--upload: %w", err)
			}
			fmt.Fprintf(env.stdout, "uploaded: %d objects from %s\n", n, *uploadDir)
		}
		if *batchFile == "" {
			fmt.Fprintln(env.stdout, "serving; press Ctrl-C to stop")
			<-ctx.Done()
			return nil
		}
		ctx, cancel := withTimeout(ctx, *timeout)
		defer cancel()
		key := naming.BatchPrefix + filepath.Base(*batchFile)
		p := newProgress(env.stderr, false, countOps(*batchFile, key))
		// The twin's polls cost a few loopback requests: a poll every
		// 100 ms (as make bench's) ends a small batch's wait soon after it
		// is done.
		return submitAndReport(ctx, env, client, *batchFile, key,
			workspace.WaitOptions{Idle: twin.Idle, Poll: 100 * time.Millisecond, Stall: *stall, Progress: p.update}, "arrow")
	}
}

// submitAndReport uploads a batch, waits for it and prints its outcome.
func submitAndReport(ctx context.Context, env *cli, c *workspace.Client, file, key string, wo workspace.WaitOptions, format string) error {
	up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, key, file)
	if err != nil {
		return err
	}
	id := naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
	rec, err := c.Wait(ctx, id, wo)
	if err != nil {
		return fmt.Errorf("waiting for batch %s: %w (%s)", id, err, rec.Line())
	}
	if err := printBatch(ctx, env, c, rec, format); err != nil {
		return err
	}
	return batchExit(rec)
}

// userFunction builds the function in dir and sets opts to run it as the
// compute function under aws-lambda-rie. stop ends its processes.
func userFunction(ctx context.Context, opts *local.Options, dir, rie string, env []string, inj *faults.Injector) (stop func(), err error) {
	if rie == "" {
		if rie, err = exec.LookPath("aws-lambda-rie"); err != nil {
			rie = filepath.Join("bin", "aws-lambda-rie")
		}
	}
	if _, err := os.Stat(rie); err != nil {
		return nil, usageErr("--rie: %v (install aws-lambda-rie, or run make bin/aws-lambda-rie)", err)
	}
	tmp, err := os.MkdirTemp("", "memo-function-")
	if err != nil {
		return nil, err
	}
	bootstrap, err := local.BuildFunction(ctx, dir, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	var pool *local.RIEPool
	cf := local.ComputeFunction{RIE: rie, Bootstrap: bootstrap, Env: env, Log: opts.Log}
	if inj != nil {
		cf.Wrap = inj.Handler
	}
	opts.Compute = func(p local.Provisioned, s local.Settings) (local.Invoker, error) {
		pool, err = cf.Start(ctx, p, s)
		return pool, err
	}
	return func() {
		if pool != nil {
			pool.Stop()
		}
		os.RemoveAll(tmp)
	}, nil
}

// uploadTree copies the regular files under dir into the twin's bucket,
// keyed by their slash-separated path relative to dir, 8 at a time.
func uploadTree(ctx context.Context, c *workspace.Client, dir string) (int, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 8)
	for _, path := range files {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := func() error {
				rel, err := filepath.Rel(dir, path)
				if err != nil {
					return err
				}
				body, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				return c.Objects.Put(ctx, c.Res.Bucket, filepath.ToSlash(rel), body, "")
			}()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(files), errors.Join(errs...)
}

// envFlag collects repeated K=V flags.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q: want K=V", v)
	}
	*e = append(*e, v)
	return nil
}
