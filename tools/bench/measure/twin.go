package measure

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/tools/bench/measure/splitmem"
)

// Design names what a twin run runs.
type Design string

// The designs of the side-by-side twin run.
const (
	// Memo is the production splitter and compute handlers, built by
	// internal/aws/app as the Lambda mains and the twin build them.
	Memo Design = "memo"
	// Naive is the baseline of naive.go: one SendMessage and one PutItem
	// per op.
	Naive Design = "naive"
)

// TwinRun is one batch through a twin.
type TwinRun struct {
	Design Design
	Ops    int
	// Wall is the time from the start of the upload until the waiter saw
	// every op accounted for (it polls every 100 ms).
	Wall time.Duration
	Rec  string // the reconciliation line
	OK   bool   // every op has an ok result, none lost
	// Functions are the calls of the splitter and compute functions.
	Functions Counts
	// FunctionAttempts is their HTTP attempts (more than calls only if the
	// SDK retried).
	FunctionAttempts int64
	// Plumbing are the calls of everything else after provisioning: the
	// twin's event source mapping and S3 delivery, the upload and the
	// waiter.
	Plumbing Counts
	// Queue is the ops queue's name.
	Queue string
	// Invocations of compute, and the messages they carried.
	Invocations, Messages int64
	// Split is how long the splitter took, from its report's times.
	Split time.Duration
	// CPU is the user+system CPU time of this process during the run: the
	// functions, the twin's plumbing and proxy, the waiter (moto is
	// another process).
	CPU time.Duration
}

// Rate is the run's ops per second, upload to every op accounted for.
func (r TwinRun) Rate() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Wall.Seconds()
}

// RunTwin starts a twin (its own moto) running design, uploads a .jsonl
// batch of n generated ops, waits until every op is accounted for and
// returns what was counted. log receives the twin's logs (nil discards).
func RunTwin(ctx context.Context, design Design, n int, log io.Writer) (TwinRun, error) {
	return runTwin(ctx, design, n, log, 0)
}

// runTwin is RunTwin with memo's splitter packing packOps ops a message
// (0: the default, Terraform's split_pack_ops).
func runTwin(ctx context.Context, design Design, n int, log io.Writer, packOps int) (TwinRun, error) {
	run := TwinRun{Design: design, Ops: n}
	fn := NewCounter()
	plumbing := NewCounter()
	if log == nil {
		log = io.Discard
	}
	twin, err := local.Start(ctx, local.Options{
		Log:        log,
		APIOptions: []func(*middleware.Stack) error{plumbing.Middleware},
		Functions: func(p local.Provisioned) (local.Invoker, local.Invoker, error) {
			cfg, err := awsconfig.Load(ctx, awsconfig.Options{
				Endpoint: p.Endpoint, Region: p.Region, StaticCredentials: true,
				APIOptions: []func(*middleware.Stack) error{fn.Middleware},
			})
			if err != nil {
				return nil, nil, err
			}
			switch design {
			case Memo:
				// The same wiring as the twin's default functions
				// (internal/dev/local/twin.go), but for the chunk queue:
				// the splitter runs a batch's chunks itself here.
				split := app.NewSplitter(cfg, app.SplitterEnv{QueueURL: p.QueueURL, Workspace: p.Workspace, PackOps: packOps, BatchesTable: p.BatchesTable},
					app.Logger(log, slog.LevelInfo, "splitter"), nil)
				comp := app.NewCompute(cfg, app.ComputeEnv{Table: p.Table, BatchesTable: p.BatchesTable, Workspace: p.Workspace},
					app.Logger(log, slog.LevelInfo, "compute"), nil)
				return local.NewInProcess(split.Handle), local.NewInProcess(comp.Handle), nil
			case Naive:
				return local.NewInProcess(NewNaiveSplitter(cfg, p.QueueURL).Handle),
					local.NewInProcess(NewNaiveCompute(cfg, p.Table).Handle), nil
			}
			return nil, nil, fmt.Errorf("unknown design %q", design)
		},
	})
	if err != nil {
		return run, err
	}
	defer twin.Stop()
	run.Queue = twin.Names.Queue

	dir, err := os.MkdirTemp("", "memo-bench-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "bench.jsonl")
	if err := writeBatch(file, n); err != nil {
		return run, err
	}

	c := twin.Client()
	fn.Reset()
	plumbing.Reset()
	inv0, msg0 := twin.Stats.Invocations.Load(), twin.Stats.Messages.Load()
	cpu0 := processCPU()
	start := time.Now()
	up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, naming.BatchPrefix+"bench.jsonl", file)
	if err != nil {
		return run, err
	}
	id := naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
	rec, err := c.Wait(ctx, id, workspace.WaitOptions{Idle: twin.Idle, Poll: 100 * time.Millisecond})
	run.Wall = time.Since(start)
	run.CPU = processCPU() - cpu0
	run.Functions, run.FunctionAttempts, run.Plumbing = fn.Snapshot(), fn.Attempts(), plumbing.Snapshot()
	run.Invocations, run.Messages = twin.Stats.Invocations.Load()-inv0, twin.Stats.Messages.Load()-msg0
	run.Rec = rec.Line()
	if rec.Report != nil {
		run.Split = rec.Report.FinishedAt.Sub(rec.Report.StartedAt)
	}
	if err != nil {
		return run, fmt.Errorf("%s twin run: %w (%s)", design, err, rec.Line())
	}
	run.OK = rec.Settled() && rec.Lost == 0 && rec.OK == n && rec.Total == n
	if !run.OK {
		return run, fmt.Errorf("%s twin run did not reconcile: %s", design, rec.Line())
	}
	// Spot-check the answers: op i is i + (i%97) * (i%13 - 2) / 4.
	names := []string{}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		names = append(names, fmt.Sprintf("op_%07d", i))
	}
	got, err := c.Table.Get(ctx, names)
	if err != nil {
		return run, err
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		want := float64(i) + float64(i%97)*float64(i%13-2)/4
		r := got[fmt.Sprintf("op_%07d", i)]
		if r.Status != record.StatusOK || r.Value == nil || r.Value.Num != want {
			return run, fmt.Errorf("%s twin run: op_%07d = %+v, want %v", design, i, r, want)
		}
	}
	return run, nil
}

func writeBatch(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, splitmem.NewGenerator(n)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PipelineCalls are the calls a deployed pipeline makes for a batch, all
// billed: the functions' calls and the event source mapping's receives and
// deletes on the ops queue. The twin's S3-notification queue, the upload
// and the waiter are left out (on AWS, S3 invokes the splitter itself).
func (r TwinRun) PipelineCalls() Tally {
	esm := r.Plumbing.Sum(Any(
		Op("SQS", "ReceiveMessage", r.Queue),
		Op("SQS", "DeleteMessageBatch", r.Queue),
		Op("SQS", "DeleteMessage", r.Queue)))
	fn := r.Functions.Sum(func(Call) bool { return true })
	return Tally{
		Calls: esm.Calls + fn.Calls, Errors: esm.Errors + fn.Errors, Empty: esm.Empty + fn.Empty,
		Entries: esm.Entries + fn.Entries, Chunks: esm.Chunks + fn.Chunks, WRU: esm.WRU + fn.WRU,
	}
}

// Per returns the figures per op (or per batch) of a twin run that the
// cost model and the report use.
func (r TwinRun) Per() PerOp {
	n := float64(r.Ops)
	sendCalls := r.Functions.Sum(Any(Op("SQS", "SendMessageBatch", r.Queue), Op("SQS", "SendMessage", r.Queue)))
	writes := r.Functions.Sum(Any(Op("DynamoDB", "BatchWriteItem", ""), Op("DynamoDB", "PutItem", "")))
	receives := r.Plumbing.Sum(Op("SQS", "ReceiveMessage", r.Queue))
	deletes := r.Plumbing.Sum(Any(Op("SQS", "DeleteMessageBatch", r.Queue), Op("SQS", "DeleteMessage", r.Queue)))
	gets := r.Functions.Sum(Op("S3", "GetObject", ""))
	puts := r.Functions.Sum(Op("S3", "PutObject", ""))
	return PerOp{
		S3GetsPerBatch:        float64(gets.Calls),
		S3PutsPerBatch:        float64(puts.Calls),
		SendCalls:             float64(sendCalls.Calls) / n,
		SendChunks:            float64(sendCalls.Chunks) / n,
		MessagesPerSend:       ratio(float64(sendCalls.Entries), float64(sendCalls.Calls)),
		WriteCalls:            float64(writes.Calls) / n,
		ItemsPerWrite:         ratio(float64(writes.Entries), float64(writes.Calls)),
		ItemsWritten:          float64(writes.Entries) / n,
		WRU:                   float64(writes.WRU) / n,
		ReceiveCalls:          float64(receives.Calls) / n,
		ReceiveCallsWithMsgs:  float64(receives.Calls-receives.Empty) / n,
		ReceiveChunksWithMsgs: float64(receives.Chunks-receives.Empty) / n,
		DeleteCalls:           float64(deletes.Calls) / n,
		DeleteChunks:          float64(deletes.Chunks) / n,
		ComputeInvocations:    float64(r.Invocations) / n,
		MessagesPerInvocation: ratio(float64(r.Messages), float64(r.Invocations)),
		OpsPerInvocation:      ratio(n, float64(r.Invocations)),
		PipelineCalls:         float64(r.PipelineCalls().Calls) / n,
	}
}

// PerOp is a twin run's counts per op (S3 per batch).
type PerOp struct {
	S3GetsPerBatch, S3PutsPerBatch     float64
	SendCalls, SendChunks              float64
	MessagesPerSend                    float64
	WriteCalls, ItemsPerWrite          float64
	ItemsWritten, WRU                  float64
	ReceiveCalls, ReceiveCallsWithMsgs float64
	ReceiveChunksWithMsgs              float64
	DeleteCalls, DeleteChunks          float64
	ComputeInvocations                 float64
	MessagesPerInvocation              float64
	PipelineCalls                      float64
	SplitterInvocationsOfOp            float64

	// OpsPerInvocation: a message carries a pack of ops (split_pack_ops),
	// so an invocation's work is its ops, not its messages.
	OpsPerInvocation float64
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
