// Command bench prints memo's performance and cost figures, one "key value"
// line each (with "# goal ...: met|MISSED; note" after the figures that have
// a goal). `make bench` runs it after building the Lambda artifacts:
//
//	go run ./tools/bench
//
// It runs, in order: the microbenchmarks beside their bare baselines (go
// test -bench, one core, best of 3), the splitter's memory in a process of
// its own (./splitmem, once per size), the SDK's CPU per call against a
// stub, a 2,000-op batch through the twin with memo's handlers and then with
// a naive baseline (API calls counted by an SDK middleware), the seed's
// design (an S3 object per op and per result) on the same ops, a 20,000-op
// batch through the twin (its rate against the 2,000-op one's), the cost model
// and the on-paper AWS estimate from those, and the artifacts' sizes and
// init durations under aws-lambda-rie. The measurement code is in
// tools/bench/measure.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/memohq/memo/tools/bench/measure"
)

func main() {
	var o options
	flag.StringVar(&o.root, "root", ".", "the repository's root")
	flag.StringVar(&o.goCmd, "go", "go", "the go command")
	flag.IntVar(&o.twinOps, "twin-ops", 2000, "ops of the twin runs")
	flag.IntVar(&o.twinScaleOps, "twin-scale-ops", 20000, "ops of the twin run whose rate is compared with the -twin-ops run's")
	flag.IntVar(&o.count, "count", 3, "runs of each microbenchmark (the best is kept)")
	flag.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime of each microbenchmark run")
	flag.StringVar(&o.logPath, "log", "", "write the benchmarks' and the twins' logs to this file")
	flag.StringVar(&o.rie, "rie", "bin/aws-lambda-rie", "aws-lambda-rie (make bin/aws-lambda-rie)")
	flag.Parse()
	start := time.Now()
	// make bench must finish within 10 minutes; a run here takes about 4.
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		cancel()
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bench: done in %s\n", time.Since(start).Round(time.Second))
}

type options struct {
	root, logPath, benchtime, rie, goCmd string
	twinOps, twinScaleOps, count         int
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	start := time.Now()
	p := measure.NewPrinter(stdout)
	logw := io.Discard
	if o.logPath != "" {
		f, err := os.Create(o.logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	p.Comment("memo bench on %s; %s", machine(), time.Now().UTC().Format("2006-01-02"))
	p.Comment("microbenchmarks: go test -bench -benchmem -cpu 1 -count %d, best run kept; others may share this machine", o.count)

	// 1. Microbenchmarks beside their bare baselines.
	micro, err := measure.RunMicro(ctx, measure.MicroOptions{Go: o.goCmd, Dir: o.root, Count: o.count, Benchtime: o.benchtime, Log: logw})
	if err != nil {
		return err
	}
	ops := func(name string) float64 { return micro[name].Metrics["ops/s"] }
	// runs is a rate figure's spread: the slowest of the runs whose best is
	// the figure.
	runs := func(name string) string {
		r := micro[name]
		return fmt.Sprintf("best of %d runs; slowest %.0f ops/s (%.0f%% of the best)", r.Runs, r.LowOpsPerS, 100*r.LowOpsPerS/ops(name))
	}
	perOpBytes := func(name string, opsPerIter float64) float64 { return micro[name].Metrics["B/op"] / opsPerIter }
	for _, f := range []struct{ form, scan, check, bare string }{
		{"json", "ScanJSON", "CheckScanJSON", "BareDecodeJSON"},
		{"jsonl", "ScanJSONL", "CheckScanJSONL", "BareDecodeJSONL"},
	} {
		p.Figure("decode_validate_"+f.form+"_ops_per_s", ops(f.scan), nil, "batch.Scan of a 100k-op ."+f.form+" file; "+runs(f.scan))
		p.Figure("bare_decode_"+f.form+"_ops_per_s", ops(f.bare), nil, "encoding/json streaming decode of the same file into a struct, no validation; "+runs(f.bare))
		p.Figure("decode_validate_"+f.form+"_vs_bare", ops(f.scan)/ops(f.bare), measure.AtLeast(1.0), "")
		p.Figure("check_and_decode_"+f.form+"_vs_bare", ops(f.check)/ops(f.bare), nil, "batch.Check then batch.Scan (the splitter's two passes before plan and chunks) against one bare decode")
	}
	p.Figure("decode_validate_csv_ops_per_s", ops("ScanCSV"), nil, "batch.Scan of the same 100k ops as .csv; "+runs("ScanCSV"))
	p.Figure("bare_decode_csv_ops_per_s", ops("BareDecodeCSV"), nil, "encoding/csv alone reading the same records, no rules; "+runs("BareDecodeCSV"))
	p.Figure("decode_validate_csv_vs_bare", ops("ScanCSV")/ops("BareDecodeCSV"), nil, "the rules and the duplicate set cost this much of encoding/csv")
	p.Figure("decode_validate_jsonl_gz_ops_per_s", ops("ScanJSONLGzip"), nil, "batch.Scan of the same 100k ops as .jsonl.gz; "+runs("ScanJSONLGzip"))
	p.Figure("bare_gzip_jsonl_ops_per_s", ops("BareGzipJSONL"), nil, "compress/gzip in front of the JSON Lines reader (no bound, no error classification); "+runs("BareGzipJSONL"))
	p.Figure("decode_validate_jsonl_gz_vs_bare", ops("ScanJSONLGzip")/ops("BareGzipJSONL"), nil, "")
	p.Figure("decode_validate_csv_gz_ops_per_s", ops("ScanCSVGzip"), nil, "batch.Scan of the same 100k ops as .csv.gz; "+runs("ScanCSVGzip"))
	p.Figure("bare_gzip_csv_ops_per_s", ops("BareGzipCSV"), nil, "compress/gzip in front of encoding/csv alone; "+runs("BareGzipCSV"))
	p.Figure("decode_validate_csv_gz_vs_bare", ops("ScanCSVGzip")/ops("BareGzipCSV"), nil, "")
	p.Figure("gzip_inflate_ops_per_s", ops("InflateJSONLGzip"), nil, "compress/gzip alone inflating the .jsonl.gz: a compressed batch's chunk task skips to its run at this rate; "+runs("InflateJSONLGzip"))
	p.Figure("decode_validate_jsonl_zst_ops_per_s", ops("ScanJSONLZstd"), nil, "batch.Scan of the same 100k ops as .jsonl.zst; "+runs("ScanJSONLZstd"))
	p.Figure("bare_zstd_jsonl_ops_per_s", ops("BareZstdJSONL"), nil, "klauspost/compress/zstd with its defaults (up to 4 goroutines decoding ahead; memo's decodes on one) in front of the JSON Lines reader; "+runs("BareZstdJSONL"))
	p.Figure("decode_validate_jsonl_zst_vs_bare", ops("ScanJSONLZstd")/ops("BareZstdJSONL"), nil, "")
	p.Figure("decode_validate_csv_zst_ops_per_s", ops("ScanCSVZstd"), nil, "batch.Scan of the same 100k ops as .csv.zst; "+runs("ScanCSVZstd"))
	p.Figure("bare_zstd_csv_ops_per_s", ops("BareZstdCSV"), nil, "the zstd decoder with its defaults in front of encoding/csv alone; "+runs("BareZstdCSV"))
	p.Figure("decode_validate_csv_zst_vs_bare", ops("ScanCSVZstd")/ops("BareZstdCSV"), nil, "")
	p.Figure("zstd_decompress_ops_per_s", ops("DecompressJSONLZstd"), nil, "memo's zstd decoder alone (one goroutine, the window bound) on the .jsonl.zst: a .zst batch's chunk task skips to its run at this rate; "+runs("DecompressJSONLZstd"))
	p.Figure("evaluate_ops_per_s", ops("Evaluate"), nil, "eval.Evaluate over 1,000 plain arithmetic expressions (all on the fast path); "+runs("Evaluate"))
	p.Figure("bare_govaluate_ops_per_s", ops("BareGovaluate"), nil, "govaluate parse+evaluate of the same expressions; "+runs("BareGovaluate"))
	p.Figure("evaluate_vs_bare", ops("Evaluate")/ops("BareGovaluate"), nil, "fast path only")
	p.Figure("evaluate_slow_ops_per_s", ops("EvaluateSlowExprs"), nil, "eval.Evaluate over 1,000 expressions the fast path declines (functions, strings, ternaries, && ||); "+runs("EvaluateSlowExprs"))
	p.Figure("evaluate_slow_vs_bare", ops("EvaluateSlowExprs")/ops("BareGovaluateSlowExprs"), nil, "slow path: memo's checks cost this much of govaluate")
	p.Figure("evaluate_mix_ops_per_s", ops("EvaluateMix"), nil, "three plain arithmetic expressions to one other, interleaved; "+runs("EvaluateMix"))
	p.Figure("evaluate_mix_vs_bare", ops("EvaluateMix")/ops("BareGovaluateMix"), measure.AtLeast(2.0), "the goal judges the mix, not the fast path alone")
	p.Figure("splitter_ops_per_s", ops("Split"), nil, "splitter.Service.Split of a 100k-op .jsonl file, in-memory queue: plan, then the chunks; "+runs("Split"))
	p.Figure("splitter_bare_decode_ops_per_s", ops("SplitBareDecode"), nil, "encoding/json decode of the same file")
	p.Figure("splitter_vs_bare_decode", ops("Split")/ops("SplitBareDecode"), nil, "")
	p.Figure("splitter_alloc_bytes_per_op", perOpBytes("Split", 100_000), nil, "allocated, not retained")
	p.Figure("compute_ops_per_s", ops("Compute"), nil, "compute.Service.Handle of 100-message SQS events, in-memory table: decode, evaluate, a conditional write each; "+runs("Compute"))
	p.Figure("compute_bare_govaluate_ops_per_s", ops("ComputeBareGovaluate"), nil, "govaluate parse+evaluate of the same expressions")
	p.Figure("compute_vs_bare_govaluate", ops("Compute")/ops("ComputeBareGovaluate"), nil, "")
	p.Figure("compute_alloc_bytes_per_op", perOpBytes("Compute", micro["Compute"].Metrics["ops/event"]), nil, "allocated, not retained; B/op of an event over its ops")
	p.Figure("fn_plumbing_us_per_op", micro["FnNoop"].Metrics["ns/fnop"]/1000, nil,
		"fn's plumbing per op around a function that returns a small map at once: decode, time limit, value check, a write to a table that stores nothing (100-message events); "+runs("FnNoop"))

	// 1b. Chunks in flight, with a simulated 20 ms SQS call (every core).
	scaling, err := measure.RunChunkScaling(ctx, o.goCmd, o.root, logw)
	if err != nil {
		return err
	}
	p.Figure("plan_pass_ops_per_s", ops("Plan"), nil, "splitter plan pass alone (structure, rules, duplicates, chunks) over a generated 1M-op .jsonl file, one core")
	p.Comment("split rate against an in-memory queue whose every call takes 20 ms: 64 chunks of 1,000 ops, 8 sends in flight per chunk, every core")
	for _, n := range measure.ChunksInFlight {
		p.Figure(fmt.Sprintf("split_chunks_%d_in_flight_ops_per_s", n), scaling[n], nil, "")
	}
	p.Figure("split_chunks_16_vs_1", scaling[16]/scaling[1], nil, "near-linear is the goal; the machine's cores bound it")

	// 2. The splitter's memory, each size in a fresh process.
	mem, err := measure.MeasureSplitMemory(ctx, o.goCmd, o.root, 10_000, 1_000_000)
	if err != nil {
		return err
	}
	small, big := mem[10_000], mem[1_000_000]
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	p.Comment("splitter memory: a generated .jsonl batch streamed through splitter.Split (in-memory queue), each size in a fresh process of its own (%s)", measure.SplitMemoryProgram)
	p.Figure("splitter_peak_rss_mb_10k", mb(small.PeakRSS), nil, fmt.Sprintf("MiB, whole process, VmHWM; %.1f MiB before the split", mb(small.BaseRSS)))
	p.Figure("splitter_peak_rss_mb_1m", mb(big.PeakRSS), measure.AtMost(64), "")
	p.Figure("splitter_peak_rss_1m_vs_10k", float64(big.PeakRSS)/float64(small.PeakRSS), measure.AtMost(1.10),
		"the duplicate check keeps a 96-bit fingerprint per distinct name (see splitter_dedup_bytes_per_op): exact detection needs memory that grows with the names")
	p.Figure("splitter_peak_live_heap_mb_10k", mb(small.PeakLiveHeap), nil, "MiB, runtime/metrics /gc/heap/live:bytes, sampled every ms")
	p.Figure("splitter_peak_live_heap_mb_1m", mb(big.PeakLiveHeap), nil, "")
	p.Figure("splitter_peak_heap_in_use_mb_1m", mb(big.PeakHeap), nil, "uncollected garbage included (GOGC=100)")
	p.Figure("splitter_peak_live_heap_1m_vs_10k", float64(big.PeakLiveHeap)/float64(small.PeakLiveHeap), nil, "")
	p.Figure("splitter_dedup_bytes_per_op", (float64(big.PeakLiveHeap)-float64(small.PeakLiveHeap))/float64(big.Ops-small.Ops), nil,
		"live heap growth per distinct name from 10k to 1M")
	p.Figure("splitter_1m_seconds", big.Seconds, nil, "in-memory queue, whole process")

	// 3. SDK CPU per call (for the duration model).
	sdk, err := measure.MeasureSDKCPU(ctx, 2000)
	if err != nil {
		return err
	}
	p.Figure("sdk_cpu_us_per_send_batch_call", float64(sdk.SendBatch.Microseconds()), nil, "SendMessageBatch of 10 through opsqueue, against a loopback stub (stub included)")
	p.Figure("sdk_cpu_us_per_put_item_call", float64(sdk.Put.Microseconds()), nil, "one conditional PutItem through results, against a loopback stub (stub included)")
	p.Figure("sdk_cpu_us_per_scanned_item", float64(sdk.ScanItem.Nanoseconds())/1e3, nil, "one item of a projected Scan page through results.ScanPages, against a loopback stub (stub included)")

	// 4. API calls per op: the same batch through memo and through the
	// naive baseline, each on a fresh twin, and the seed's design on the
	// same ops, twice each in the order memo, naive, seed, seed, naive,
	// memo, so that no side always runs first (or on a warmer machine).
	// The counts come from each side's first run (they do not move); the
	// wall times are reported as the median of the runs with their spread.
	var memoRuns, naiveRuns []measure.TwinRun
	var seedRuns []measure.SeedRun
	for _, d := range []measure.Design{measure.Memo, measure.Naive, seedDesign, seedDesign, measure.Naive, measure.Memo} {
		if d == seedDesign {
			run, err := measure.RunSeed(ctx, o.twinOps, logw)
			if err != nil {
				return err
			}
			seedRuns = append(seedRuns, run)
			continue
		}
		run, err := measure.RunTwin(ctx, d, o.twinOps, logw)
		if err != nil {
			return err
		}
		if d == measure.Memo {
			memoRuns = append(memoRuns, run)
		} else {
			naiveRuns = append(naiveRuns, run)
		}
	}
	ceiling, err := measure.RunCeiling(ctx, o.twinOps, 4, logw)
	if err != nil {
		return err
	}
	memo, naive := memoRuns[0], naiveRuns[0]
	fmt.Fprintf(logw, "memo twin run, functions:\n%s\nplumbing:\n%s\nnaive twin run, functions:\n%s\nplumbing:\n%s\n",
		memo.Functions, memo.Plumbing, naive.Functions, naive.Plumbing)
	mp, np := memo.Per(), naive.Per()
	p.Comment("API calls counted by an SDK middleware during a twin run of %d ops (%s)", o.twinOps, memo.Rec)
	p.Figure("twin_s3_gets_per_batch", mp.S3GetsPerBatch, nil, "the plan pass, each chunk's ranged read and its read of the plan")
	p.Figure("twin_s3_puts_per_batch", mp.S3PutsPerBatch, nil, "the plan, the in-progress report, a done marker per chunk, the report (the upload is the user's)")
	p.Figure("twin_sqs_send_calls_per_op", mp.SendCalls, measure.AtMost(0.011), fmt.Sprintf("%.2f messages a call, ops packed split_pack_ops a message", mp.MessagesPerSend))
	p.Figure("twin_ddb_write_calls_per_op", mp.WriteCalls, measure.AtMost(1.0),
		fmt.Sprintf("one conditional PutItem per result (BatchWriteItem cannot carry the newest-upload-wins condition), %.2f items a call; %d invocations of %.1f messages on average (the twin's splitter enqueued at %.0f ops/s)",
			mp.ItemsPerWrite, memo.Invocations, mp.MessagesPerInvocation, float64(o.twinOps)/memo.Split.Seconds()))
	p.Figure("twin_ddb_wru_per_op", mp.WRU, nil, "item sizes as DynamoDB counts them; base table only")
	p.Figure("twin_sqs_receive_calls_per_op", mp.ReceiveCalls, nil, "every ReceiveMessage of the twin's event source mapping, empty polls included")
	p.Figure("twin_sqs_receive_calls_with_messages_per_op", mp.ReceiveCallsWithMsgs, nil, "the receives that returned messages (up to 10)")
	p.Figure("twin_sqs_delete_calls_per_op", mp.DeleteCalls, nil, "DeleteMessageBatch, up to 10")
	p.Figure("twin_compute_invocations_per_op", mp.ComputeInvocations, nil, "")
	p.Figure("twin_sdk_retries", float64(memo.FunctionAttempts-memo.Functions.Sum(func(measure.Call) bool { return true }).Calls), nil, "HTTP attempts beyond the calls")

	// 4b. Calls per op at several pack sizes.
	if err := packFigures(ctx, p, o.twinOps, logw); err != nil {
		return err
	}

	// 5. Cost per million ops.
	defaults, err := measure.ReadDefaults(filepath.Join(o.root, "terraform/modules/pipeline/variables.tf"))
	if err != nil {
		return err
	}
	model := measure.Model{Defaults: defaults, AWS: measure.AWS, CPU: measure.CPU{
		SplitterPerOp: perOp(ops("Split")), PlanPerOp: perOp(ops("Plan")), ComputePerOp: perOp(ops("Compute")),
		SendCall: sdk.SendBatch, WriteCall: sdk.Put, ScanItem: sdk.ScanItem,
	}, OpBytes: micro["Split"].Metrics["MB/s"] * 1e6 / ops("Split")}
	batchOps := float64(o.twinOps)
	memoU := model.Pipeline(mp, batchOps, true)
	memoC := memoU.Price(measure.ListPrices)
	naiveS3 := model.NaiveS3()
	naiveS3C := naiveS3.Price(measure.ListPrices)
	naiveQ := model.Pipeline(np, batchOps, false)
	naiveQC := naiveQ.Price(measure.ListPrices)
	p.Comment("cost per 1M ops, modelled: the counts measured above, batches of %d ops, list prices in tools/bench/measure/cost.go (us-east-1), Terraform defaults (%g MB splitter, %g MB compute, arm64); no index, one counter write per compute invocation",
		o.twinOps, defaults.SplitterMemoryMB, defaults.ComputeMemoryMB)
	p.Figure("est_splitter_seconds_per_batch", memoU.SplitterSeconds, nil, fmt.Sprintf("%d ops: its plan pass and its chunk task, two invocations; assumes %v per SQS call", o.twinOps, measure.AWS.SQSCall))
	p.Figure("est_compute_ms_per_invocation", memoU.ComputeSeconds*1000, nil, fmt.Sprintf("%.1f messages; assumes %v per DynamoDB call", mp.MessagesPerInvocation, measure.AWS.DynamoDBCall))
	p.Figure("calls_per_op", mp.SendCalls+mp.ReceiveCallsWithMsgs+mp.DeleteCalls+mp.WriteCalls+memoU.CounterWrites/1e6, nil,
		fmt.Sprintf("sends %.4f, receives %.4f (with messages), deletes %.4f, result writes %.4f, counter writes %.4f (one UpdateItem per batch per invocation)",
			mp.SendCalls, mp.ReceiveCallsWithMsgs, mp.DeleteCalls, mp.WriteCalls, memoU.CounterWrites/1e6))
	p.Figure("cost_usd_per_1m_ops", memoC.Total, measure.AtMost(0.66), shares(memoC)+"; the floor, one WRU per result, is $0.625")
	p.Figure("cost_usd_per_1m_ops_naive_s3", naiveS3C.Total, nil, "modelled, never run: one S3 object per op and per result, one invocation per op; "+breakdown(naiveS3C))
	p.Figure("cost_naive_s3_vs_memo", naiveS3C.Total/memoC.Total, measure.AtLeast(9), "modelled (arithmetic on list prices)")
	p.Figure("cost_usd_per_1m_ops_naive_queue", naiveQC.Total, nil, "the twin's naive baseline (SendMessage + PutItem per op); "+breakdown(naiveQC))

	// 6. Side by side in the twin.
	p.Comment("side by side: the same %d-op batch through memo and through the naive baseline, each on a fresh twin (two moto processes, S3 and SQS in one, DynamoDB in the other, each behind the proxy one request at a time)", o.twinOps)
	memoWall, naiveWall := wallSpread(memoRuns), wallSpread(naiveRuns)
	p.Figure("side_by_side_memo_wall_s", memoWall.mid, nil, "upload to every op accounted for; "+memoWall.String())
	p.Figure("side_by_side_naive_wall_s", naiveWall.mid, nil, naiveWall.String()+"; "+naive.Rec)
	p.Figure("side_by_side_naive_vs_memo_wall", naiveWall.mid/memoWall.mid, nil,
		fmt.Sprintf("medians; %.1fx to %.1fx from the extremes", naiveWall.lo/memoWall.hi, naiveWall.hi/memoWall.lo))
	// The seed's design against memo, as rates (ops over wall time).
	seedRate := rateSpread(len(seedRuns), func(i int) float64 { return seedRuns[i].Rate() })
	memoRate := rateSpread(len(memoRuns), func(i int) float64 { return memoRuns[i].Rate() })
	p.Comment("the seed's design: per op, in order, PutObject of the op, GetObject of it, evaluate, PutObject of the result; a loop with no Lambda, queue or waiter, on a moto of its own (%d ops, the same as memo's batch)", o.twinOps)
	p.Figure("side_by_side_seed_ops_per_s", seedRate.mid, nil, fmt.Sprintf("median of %d runs, range %.0f to %.0f ops/s; lost=0 (a result object per op)", len(seedRuns), seedRate.lo, seedRate.hi))
	p.Figure("side_by_side_memo_ops_per_s", memoRate.mid, nil, fmt.Sprintf("median of %d runs, range %.0f to %.0f ops/s; upload to every op accounted for, %s", len(memoRuns), memoRate.lo, memoRate.hi, memo.Rec))
	p.Figure("side_by_side_memo_vs_seed", memoRate.mid/seedRate.mid, measure.AtLeast(5),
		fmt.Sprintf("medians; %.1fx to %.1fx from the extremes", memoRate.lo/seedRate.hi, memoRate.hi/seedRate.lo))
	p.Figure("side_by_side_twin_write_ceiling_ops_per_s", ceiling.Rate(), nil,
		fmt.Sprintf("%d conditional PutItem calls of memo's results (results.PutInput), 4 clients, straight to a moto of its own: the most results a second one moto process stores, whatever the twin's plumbing does", ceiling.Writes))
	p.Figure("side_by_side_ceiling_vs_seed", ceiling.Rate()/seedRate.mid, nil,
		"the highest side_by_side_memo_vs_seed the twin can reach: memo's writes alone at moto's rate, nothing else")
	p.Figure("side_by_side_memo_api_calls_per_op", mp.PipelineCalls, nil, "the functions' calls and the event source mapping's receives and deletes")
	p.Figure("side_by_side_naive_api_calls_per_op", np.PipelineCalls, nil, "")
	p.Figure("side_by_side_naive_vs_memo_api_calls", np.PipelineCalls/mp.PipelineCalls, nil, "")
	p.Figure("side_by_side_memo_process_cpu_us_per_op", float64(memo.CPU.Microseconds())/float64(o.twinOps), nil, "this process: functions, twin plumbing, proxy, waiter (moto excluded)")
	p.Figure("side_by_side_naive_process_cpu_us_per_op", float64(naive.CPU.Microseconds())/float64(o.twinOps), nil, "")

	// 6b. The twin at scale: a batch 10x as big, on a fresh twin, at the
	// same rate (moto's SQS costs per call grow with the queue's depth
	// without the twin's motopatch.py).
	scale, err := measure.RunTwin(ctx, measure.Memo, o.twinScaleOps, logw)
	if err != nil {
		return err
	}
	p.Comment("the twin at scale: a %d-op and a %d-op batch through memo, each on a fresh twin, upload to every op accounted for", o.twinOps, o.twinScaleOps)
	p.Figure(fmt.Sprintf("twin_ops_per_s_%d", o.twinOps), memo.Rate(), nil, fmt.Sprintf("%.1f s", memo.Wall.Seconds()))
	p.Figure(fmt.Sprintf("twin_ops_per_s_%d", o.twinScaleOps), scale.Rate(), nil, fmt.Sprintf("%.1f s; %s", scale.Wall.Seconds(), scale.Rec))
	p.Figure("twin_rate_big_vs_small", scale.Rate()/memo.Rate(), measure.AtLeast(0.8), "the rate of the bigger batch over the smaller one's")

	// 7. On paper: the split and 1M ops on AWS at the defaults.
	awsOnPaper(p, model, mp, defaults, []codecRates{
		{Suffix: "gz", DecompressKey: "gzip_inflate_ops_per_s", Plain: ops("ScanJSONL"), Scan: ops("ScanJSONLGzip"), Decompress: ops("InflateJSONLGzip")},
		{Suffix: "zst", DecompressKey: "zstd_decompress_ops_per_s", Plain: ops("ScanJSONL"), Scan: ops("ScanJSONLZstd"), Decompress: ops("DecompressJSONLZstd")},
	})

	// 8. Artifacts.
	p.Comment("artifacts: make build (linux/arm64 zips); init under aws-lambda-rie of the linux/amd64 build (make build-twin), median of 3 fresh starts")
	for _, fn := range []string{"splitter", "compute"} {
		st, err := os.Stat(filepath.Join(o.root, "build", fn+".zip"))
		if err != nil {
			return fmt.Errorf("%w (run make build)", err)
		}
		p.Figure("artifact_"+fn+"_zip_mb", float64(st.Size())/1e6, measure.AtMost(10), "MB of 10^6 bytes")
	}
	env := []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"MEMO_QUEUE_URL=http://127.0.0.1:9/123456789012/memo-bench-ops", "MEMO_TABLE=memo-bench-results", "MEMO_WORKSPACE=bench"}
	for _, fn := range []string{"splitter", "compute"} {
		in, err := measure.MedianInit(ctx, 3, filepath.Join(o.root, o.rie), filepath.Join(o.root, "build/amd64", fn, "bootstrap"), env, `{"Records":[]}`)
		if err != nil {
			return err
		}
		p.Figure("init_"+fn+"_ms", float64(in.Duration.Microseconds())/1000, nil,
			fmt.Sprintf(`aws-lambda-rie "INIT REPORT(durationMs)"; its REPORT line says "Init Duration: %.2f ms"; first invoke %.1f ms as the caller saw it`,
				float64(in.ReportLine.Microseconds())/1000, float64(in.FirstInvoke.Microseconds())/1000))
	}

	p.Figure("bench_seconds", time.Since(start).Seconds(), nil, "")
	total := len(p.Met) + len(p.Missed)
	note := "all met"
	if len(p.Missed) > 0 {
		note = "missed: " + strings.Join(p.Missed, ", ")
	}
	p.Text("goals_met", fmt.Sprintf("%d/%d", len(p.Met), total), nil, 0, note)
	return nil
}

func perOp(opsPerSecond float64) time.Duration {
	return time.Duration(float64(time.Second) / opsPerSecond)
}

// shares is a cost's breakdown with each service's share of the total.
func shares(c measure.Cost) string {
	pct := func(v float64) float64 { return 100 * v / c.Total }
	return fmt.Sprintf("Lambda $%.4f (%.1f%%), SQS $%.4f (%.1f%%), DynamoDB $%.4f (%.1f%%), S3 $%.4f (%.1f%%)",
		c.Lambda, pct(c.Lambda), c.SQS, pct(c.SQS), c.DynamoDB, pct(c.DynamoDB), c.S3, pct(c.S3))
}

func breakdown(c measure.Cost) string {
	return fmt.Sprintf("Lambda $%.4f, SQS $%.4f, DynamoDB $%.4f, S3 $%.4f", c.Lambda, c.SQS, c.DynamoDB, c.S3)
}

// machine describes this machine: cores, CPU model, OS/arch, Go.
func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// spread is the median and range of a few measurements.
type spread struct{ lo, mid, hi float64 }

func (s spread) String() string {
	return fmt.Sprintf("median of runs, range %.1f to %.1f s", s.lo, s.hi)
}

// seedDesign marks the seed's design's runs in the side-by-side order.
const seedDesign measure.Design = "seed"

// rateSpread is the spread of n rates.
func rateSpread(n int, rate func(int) float64) spread {
	r := make([]float64, n)
	for i := range r {
		r[i] = rate(i)
	}
	sort.Float64s(r)
	return spread{lo: r[0], mid: (r[(n-1)/2] + r[n/2]) / 2, hi: r[n-1]}
}

// wallSpread is the spread of the runs' wall times in seconds (the median
// of an even count is the mean of the middle two).
func wallSpread(runs []measure.TwinRun) spread {
	w := make([]float64, len(runs))
	for i, r := range runs {
		w[i] = r.Wall.Seconds()
	}
	sort.Float64s(w)
	n := len(w)
	return spread{lo: w[0], mid: (w[(n-1)/2] + w[n/2]) / 2, hi: w[n-1]}
}
