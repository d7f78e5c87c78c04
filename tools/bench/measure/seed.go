package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/tools/bench/measure/splitmem"
)

// The seed's design, the baseline of the side-by-side figure: the sample
// memo grew from kept one S3 object per op and one per result. Replayed
// here as a loop with no Lambda, no queue and no waiter (so, kinder to it
// than its deployment): for each op, in order, one at a time, put the op's
// object, read it back, evaluate it, put the result's object. It runs on a
// moto of its own, reached directly (no proxy), with the same SDK clients
// memo's functions use.

// SeedRun is one run of the seed's design.
type SeedRun struct {
	Ops  int
	Wall time.Duration
	// Results is how many result objects were written (Ops when nothing
	// was lost).
	Results int
}

// Rate is the run's ops per second.
func (r SeedRun) Rate() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Wall.Seconds()
}

// RunSeed starts a moto of its own and runs the seed's design over the
// same n generated ops as RunTwin's batch. Start-up is not counted.
func RunSeed(ctx context.Context, n int, log io.Writer) (SeedRun, error) {
	run := SeedRun{Ops: n}
	cfg, stop, err := ownMoto(ctx, log)
	if err != nil {
		return run, err
	}
	defer stop()
	client := awsconfig.S3(cfg)
	const bucket = "seed-design"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return run, err
	}
	store := objects.New(client)
	var ops []batch.Op
	if err := batch.Scan(splitmem.NewGenerator(n), batch.JSONL, func(it batch.Item) error {
		ops = append(ops, it.Op)
		return nil
	}); err != nil {
		return run, err
	}

	start := time.Now()
	for _, op := range ops {
		in, err := json.Marshal(op)
		if err != nil {
			return run, err
		}
		if err := store.Put(ctx, bucket, "ops/"+op.Name+".json", in, "application/json"); err != nil {
			return run, err
		}
		b, err := store.Get(ctx, bucket, "ops/"+op.Name+".json")
		if err != nil {
			return run, err
		}
		var got batch.Op
		if err := json.Unmarshal(b, &got); err != nil {
			return run, err
		}
		res := map[string]any{"name": got.Name, "op": got.Op}
		if v, err := eval.Evaluate(got.Op); err != nil {
			res["error"] = err.Error()
		} else {
			res["value"] = v
		}
		out, err := json.Marshal(res)
		if err != nil {
			return run, err
		}
		if err := store.Put(ctx, bucket, "results/"+got.Name+".json", out, "application/json"); err != nil {
			return run, err
		}
	}
	run.Wall = time.Since(start)
	keys, err := store.List(ctx, bucket, "results/")
	if err != nil {
		return run, err
	}
	run.Results = len(keys)
	if run.Results != n {
		return run, fmt.Errorf("seed design: %d result objects for %d ops", run.Results, n)
	}
	return run, nil
}

// ownMoto starts a moto of its own (patched as the twin's is) and returns
// a configuration that reaches it directly, with no proxy.
func ownMoto(ctx context.Context, log io.Writer) (aws.Config, func(), error) {
	if log == nil {
		log = io.Discard
	}
	m, err := local.StartMoto(ctx, log)
	if err != nil {
		return aws.Config{}, nil, err
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: m.URL, Region: awsconfig.DefaultRegion, StaticCredentials: true})
	if err != nil {
		m.Stop()
		return aws.Config{}, nil, err
	}
	return cfg, m.Stop, nil
}
