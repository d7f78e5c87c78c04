package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

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
	faultRate := fs.Float64("faults", 0, "fail this fraction (0..1) of the pipeline's S3, SQS and DynamoDB calls as AWS can (throttling, 5xx, resets, timeouts, failed batch entries)")
	faultSeed := fs.Uint64("faults-seed", 1, "seed of --faults' random choices")
	weakPromises := fs.Bool("weak", false, "keep AWS's weak promises where moto keeps strong ones: empty short polls, queue counts that lag (3 s, AWS's minute scaled down), deletes that do not take, 403 for a missing key, duplicate and late S3 notifications")
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
		if *faultRate < 0 || *faultRate > 1 {
			return usageErr("--faults %v: want a fraction from 0 to 1", *faultRate)
		}
		opts := local.Options{Endpoint: *endpoint, Region: *region, Settings: local.Settings{Workspace: *ws, Pollers: *pollers, ChunkOps: *chunkOps}}
		if *faultRate > 0 {
			inj := faults.New(faults.Config{Rate: *faultRate, Seed: *faultSeed})
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
		if *batchFile == "" {
			fmt.Fprintln(env.stdout, "serving; press Ctrl-C to stop")
			<-ctx.Done()
			return nil
		}
		ctx, cancel := withTimeout(ctx, *timeout)
		defer cancel()
		client := twin.Client()
		if *faultRate > 0 {
			// The faults are the pipeline's: the upload and the wait reach
			// the twin without them.
			cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: twin.Endpoint(), Region: twin.Region, StaticCredentials: true})
			if err != nil {
				return err
			}
			client = workspace.New(cfg, twin.Resources)
		}
		key := naming.BatchPrefix + filepath.Base(*batchFile)
		p := newProgress(env.stderr, false, countOps(*batchFile, key))
		return submitAndReport(ctx, env, client, *batchFile, key,
			workspace.WaitOptions{Idle: twin.Idle, Stall: *stall, Progress: p.update}, "arrow")
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
