package main

import (
	"fmt"

	"github.com/memohq/memo/tools/bench/measure"
)

// Warm is the end-to-end scenario with the table pre-warmed: the settings
// it states, besides the defaults.
var Warm = struct {
	WriteUnits, ReadUnits, ComputeMemoryMB, ComputeMaxConcurrency float64
}{WriteUnits: 25_000, ReadUnits: 25_000, ComputeMemoryMB: 1024, ComputeMaxConcurrency: 50}

// awsOnPaper prints section 7: the chunked split and the end-to-end time of
// 1M ops on AWS, from the model at the Terraform defaults.
func awsOnPaper(p *measure.Printer, model measure.Model, per measure.PerOp, d measure.Defaults, compressed []codecRates) {
	quarter := d.SplitterTimeoutSeconds / 4
	share := model.Defaults.SplitterMemoryMB / model.AWS.FullVCPUMemoryMB
	p.Comment("on paper, AWS, at the defaults: splitter %g MB (%.3f vCPU), splitter_send_concurrency %g, chunks of %g ops, split_chunk_concurrency %g; compute batch size %g, compute_max_concurrency %g; assumed latencies SQS %v, DynamoDB %v, S3 %v (first byte; then %.0f MB/s), chunk mapping poll %v; %.0f bytes an op",
		d.SplitterMemoryMB, share, d.SendConcurrency, d.ChunkOps, d.ChunkConcurrency, d.BatchSize, d.MaxConcurrency,
		model.AWS.SQSCall, model.AWS.DynamoDBCall, model.AWS.S3Call, model.AWS.S3ReadBytesPerSecond/1e6, model.AWS.ChunkPollDelay, model.OpBytes)
	p.Figure("aws_plan_pass_seconds_2m", model.PlanSeconds(measure.MaxBatchOps), measure.AtMost(quarter),
		fmt.Sprintf("the largest batch's plan pass, one invocation: measured plan CPU per op at %.3f vCPU, plus the object's read; the bound is a quarter of the %g s timeout", share, d.SplitterTimeoutSeconds))
	chunk := model.Split(per, d.ChunkOps)
	p.Figure("aws_chunk_seconds", chunk.ChunkSeconds, measure.AtMost(quarter),
		fmt.Sprintf("one chunk of %g ops, one invocation whatever the batch's size; bound by %s", d.ChunkOps, chunk.ChunkBound))
	s1 := model.Split(per, 1e6)
	p.Figure("aws_split_seconds_1m", s1.Seconds, measure.AtMost(5),
		fmt.Sprintf("upload to report: plan pass %.1f s, then %g chunks in %g round(s) of %.1f s (poll included); bound by %s", s1.PlanSeconds, s1.Chunks, s1.Rounds, s1.ChunkSeconds+model.AWS.ChunkPollDelay.Seconds(), s1.Bound))
	// A .jsonl.gz (.jsonl.zst) batch: the plan pass decompresses as it
	// scans, and each chunk task decompresses the object from its start up
	// to its run (the stream has no middle to start from): the last chunk
	// decompresses it all.
	for _, c := range compressed {
		planExtra := 1e6 * (1/c.Scan - 1/c.Plain) / share
		skip := 1e6 / c.Decompress / share
		p.Figure("aws_chunk_seconds_jsonl_"+c.Suffix+"_1m", chunk.ChunkSeconds+skip, measure.AtMost(quarter),
			fmt.Sprintf("the last chunk of a 1M-op .jsonl.%s: a chunk's %.1f s plus decompressing the 1M ops before its run, %.1f s at %.3f vCPU (%s)", c.Suffix, chunk.ChunkSeconds, skip, share, c.DecompressKey))
		p.Figure("aws_split_seconds_1m_jsonl_"+c.Suffix, s1.Seconds+planExtra+s1.Rounds*skip, measure.AtMost(30),
			fmt.Sprintf("aws_split_seconds_1m plus the plan pass's decompressing (%.1f s: decode_validate_jsonl_%s against decode_validate_jsonl) and, in each of the %g round(s), a chunk's skip to its run (at most %.1f s)", planExtra, c.Suffix, s1.Rounds, skip))
	}
	for _, n := range []float64{10e6, 100e6} {
		s := model.Split(per, n)
		p.Figure(fmt.Sprintf("aws_split_seconds_%gm", n/1e6), s.Seconds, nil,
			fmt.Sprintf("above the largest batch (%d ops): %g files of %.0f ops uploaded side by side, their plan passes at once, their %g chunks sharing the one chunk queue mapping's %g in flight: %g rounds",
				measure.MaxBatchOps, s.Files, n/s.Files, s.Chunks, d.ChunkConcurrency, s.Rounds))
	}
	est := model.Estimate(per, 1e6)
	p.Figure("aws_split_ops_per_s", est.SplitOpsPerSecond, nil, "the chunks' enqueue rate while they run: split_chunk_concurrency x chunk ops / chunk time")
	p.Figure("aws_compute_ops_per_s", est.ComputeOpsPerSecond, nil, "max concurrency x batch size / invocation")
	p.Figure("aws_new_table_ops_per_s", est.TableOpsPerSecond, nil, "a new on-demand table's initial write rate (its warm throughput)")
	p.Figure("aws_1m_ops_seconds", est.Seconds, nil, "upload to the last result; bound by "+est.Bound)

	w := model
	w.Defaults.WarmWriteUnits = Warm.WriteUnits
	w.Defaults.ComputeMemoryMB = Warm.ComputeMemoryMB
	w.Defaults.MaxConcurrency = Warm.ComputeMaxConcurrency
	we := w.Estimate(per, 1e6)
	p.Figure("aws_1m_ops_seconds_warm", we.Seconds, measure.AtMost(60),
		fmt.Sprintf("warm_throughput = { write_units_per_second = %g }, compute_memory_mb = %g, compute_max_concurrency = %g: compute %.0f ops/s, table %.0f; bound by %s",
			Warm.WriteUnits, Warm.ComputeMemoryMB, Warm.ComputeMaxConcurrency, we.ComputeOpsPerSecond, we.TableOpsPerSecond, we.Bound))

	// memo status --exact of a settled 1M-op batch: the object streamed,
	// and the table read by lookups or by a scan, as status.ChooseRead
	// chooses from the table's size (docs/design.md, "Counting a batch").
	itemBytes := measure.ResultItemBytes()
	ch := model.ExactStatusChoice(1e6, 1e6, itemBytes, 0)
	ex, lk, sc := ch.Chosen, ch.Lookups, ch.Scan
	p.Comment("memo status --exact of a settled 1M-op batch in a results table of 1M items of %.0f bytes (a result of the bench's batch, as DynamoDB sizes it): by lookups %.0f read units, by a scan %.0f; status.ChooseRead takes the %s (%s)",
		itemBytes, lk.RRU, sc.RRU, ex.Path, ch.Plan.Why)
	p.Figure("aws_exact_status_usd_1m", ex.USD, measure.AtMost(0.07),
		fmt.Sprintf("the path memo takes (%s): one GET of the object and %.0f read units at $%.3f per million", ex.Path, ex.RRU, measure.ListPrices.DynamoDBRRU*1e6))
	p.Figure("aws_exact_status_seconds_1m", ex.Seconds, measure.AtMost(30),
		fmt.Sprintf("the path memo takes (%s): streaming the object %.1f s (first byte, %.0f MB/s, plan CPU per op), reading the table %.1f s; bound by %s",
			ex.Path, ex.StreamSeconds, model.AWS.S3ReadBytesPerSecond/1e6, ex.ReadSeconds, ex.Bound))
	p.Figure("aws_exact_status_lookups_usd_1m", lk.USD, nil,
		fmt.Sprintf("by lookups: %.0f BatchGetItem calls of 100 names, %.0f read units (0.5 an eventually consistent read)", lk.Calls, lk.RRU))
	p.Figure("aws_exact_status_lookups_seconds_1m", lk.Seconds, nil,
		fmt.Sprintf("by lookups: the lookups %.1f s (%.0f calls, %g in flight at %v, or the table's read rate), streaming alongside; bound by %s",
			lk.ReadSeconds, lk.Calls, model.AWS.ReadConcurrency, model.AWS.BatchGetCall, lk.Bound))
	p.Figure("aws_exact_status_scan_usd_1m", sc.USD, nil,
		fmt.Sprintf("by a scan: %.0f pages of 1 MB, %.0f read units (0.5 per 4 KB read, whatever the projection)", sc.Calls, sc.RRU))
	p.Figure("aws_exact_status_scan_seconds_1m", sc.Seconds, nil,
		fmt.Sprintf("by a scan: the names into their set %.1f s, then the scan %.1f s (%g segments at %v a page, the read rate, or decoding at %v an item); bound by %s",
			sc.StreamSeconds, sc.ReadSeconds, model.AWS.ScanSegments, model.AWS.ScanPageCall, model.CPU.ScanItem, sc.Bound))
	big := model.ExactStatusChoice(1e6, 40e6, itemBytes, 0)
	p.Figure("aws_exact_status_seconds_1m_table_40m", big.Chosen.Seconds, nil,
		fmt.Sprintf("the same batch in a table of 40M such items: memo takes the %s (%s; a scan would read %.0f units against %.0f)", big.Chosen.Path, big.Plan.Why, big.Scan.RRU, big.Lookups.RRU))
	exWarm := model.ExactStatusChoice(1e6, 1e6, itemBytes, Warm.ReadUnits).Chosen
	p.Figure("aws_exact_status_seconds_1m_warm", exWarm.Seconds, nil,
		fmt.Sprintf("the same with warm_throughput's read_units_per_second = %g (or a table that has served that read rate), by %s; bound by %s", Warm.ReadUnits, exWarm.Path, exWarm.Bound))

	// What the split costs in Lambda: one 1M-op batch (a plan pass and its
	// chunks), at the defaults and at the 256 MB of before.
	lambda := func(m measure.Model) float64 {
		u := m.Pipeline(per, 1e6, true)
		return u.SplitterSeconds * m.Defaults.SplitterMemoryMB / 1024 * measure.ListPrices.LambdaArmGBSecond
	}
	small := model
	small.Defaults.SplitterMemoryMB = 256
	p.Figure("aws_split_lambda_usd_1m", lambda(model), nil, fmt.Sprintf("the splitter's GB-seconds for one 1M-op batch at %g MB, arm64 list price", d.SplitterMemoryMB))
	p.Figure("aws_split_lambda_usd_1m_at_256mb", lambda(small), nil, "the same at 256 MB")
}

// codecRates are the one-core rates (ops/s) a compressed batch's figures
// come from: the .jsonl scan, the .jsonl.<Suffix> scan, and decompressing
// alone (the figure DecompressKey).
type codecRates struct {
	Suffix, DecompressKey   string
	Plain, Scan, Decompress float64
}
