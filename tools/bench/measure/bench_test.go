package measure

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/opsqueue"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/pipeline/record"
)

func TestParseBenchKeepsTheBestRun(t *testing.T) {
	out := `goos: linux
pkg: github.com/memohq/memo/internal/pipeline/batch
BenchmarkScanJSON        	      46	  26140949 ns/op	 210.46 MB/s	   3825416 ops/s	18667528 B/op	  102270 allocs/op
BenchmarkScanJSON        	      44	  27140949 ns/op	 200.46 MB/s	   3625416 ops/s	18667528 B/op	  102270 allocs/op
BenchmarkEvaluate-2      	 7176277	       168.3 ns/op	   5940809 ops/s	       0 B/op	       0 allocs/op
PASS
`
	res := ParseBench(strings.NewReader(out))
	if r := res["ScanJSON"]; r.Runs != 2 || r.Metrics["ops/s"] != 3825416 || r.Metrics["B/op"] != 18667528 {
		t.Fatalf("ScanJSON = %+v", r)
	}
	if r := res["Evaluate"]; r.Metrics["ns/op"] != 168.3 {
		t.Fatalf("Evaluate (cpu suffix) = %+v", r)
	}
}

func TestReadDefaultsFromTheModule(t *testing.T) {
	d, err := ReadDefaults("../../../terraform/modules/pipeline/variables.tf")
	if err != nil {
		t.Fatal(err)
	}
	if d.SplitterMemoryMB < 128 || d.ComputeMemoryMB < 128 || d.BatchSize < 1 || d.MaxConcurrency < 2 || d.SendConcurrency < 1 || d.SplitterTimeoutSeconds < 1 ||
		d.ChunkOps < 1 || d.ChunkConcurrency < 2 || d.BatchingWindowSeconds < 0 || d.WarmWriteUnits != 0 {
		t.Fatalf("implausible defaults %+v", d)
	}
}

// ideal is memo's counts when every call is full.
var ideal = PerOp{
	S3GetsPerBatch: 2, S3PutsPerBatch: 1,
	SendCalls: 0.1, SendChunks: 0.1, MessagesPerSend: 10,
	WriteCalls: 0.04, ItemsPerWrite: 25, ItemsWritten: 1, WRU: 1,
	ReceiveCalls: 0.1, ReceiveCallsWithMsgs: 0.1, ReceiveChunksWithMsgs: 0.1,
	DeleteCalls: 0.1, DeleteChunks: 0.1,
	ComputeInvocations: 0.01, MessagesPerInvocation: 100,
}

var testModel = Model{
	Defaults: Defaults{SplitterMemoryMB: 256, ComputeMemoryMB: 256, SplitterTimeoutSeconds: 300, SendConcurrency: 8, BatchSize: 100, MaxConcurrency: 10,
		BatchingWindowSeconds: 1, ChunkOps: 50_000, ChunkConcurrency: 20},
	AWS: AWS,
	CPU: CPU{SplitterPerOp: time.Microsecond, PlanPerOp: 4 * time.Microsecond, ComputePerOp: 3 * time.Microsecond,
		SendCall: 200 * time.Microsecond, WriteCall: 300 * time.Microsecond},
	OpBytes: 50,
}

func TestCostModel(t *testing.T) {
	off := testModel.Pipeline(ideal, 2000, false)
	on := testModel.Pipeline(ideal, 2000, true)
	// By hand: 300k SQS requests on the ops queue and 1,500 on the chunk
	// queue (a send, a receive and a delete for each batch's one chunk),
	// 1M WRUs for the results and 10,000 for the counters (one a compute
	// invocation), 11,000 invocations (10,000 compute, a plan pass and a
	// chunk for each of 500 batches), 1,000 GETs, 1,000 PUTs (report and
	// upload of 500 batches).
	for name, got := range map[string][2]float64{
		"sqs":            {off.SQSRequests, 301_500},
		"wru":            {off.WRU, 1e6},
		"wru, counters":  {on.WRU, 1e6 + 10_000},
		"counter writes": {on.CounterWrites, 10_000},
		"requests":       {off.LambdaRequests, 11_000},
		"gets":           {off.S3Gets, 1000},
		"puts":           {off.S3Puts, 1000},
	} {
		if math.Abs(got[0]-got[1]) > 1e-6*got[1] {
			t.Errorf("%s = %v, want %v", name, got[0], got[1])
		}
	}
	offC, onC := off.Price(ListPrices), on.Price(ListPrices)
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(offC.SQS, 0.1206) || !near(offC.DynamoDB, 0.625) || !near(onC.DynamoDB, 0.63125) || !near(offC.S3, 0.0054) {
		t.Errorf("priced %+v / %+v", offC, onC)
	}
	naive := testModel.NaiveS3().Price(ListPrices)
	if !near(naive.S3, 10.4) || naive.Total/onC.Total < 9 {
		t.Errorf("naive %+v, %.1fx memo", naive, naive.Total/onC.Total)
	}
}

// An exact status of a settled 1M-op batch, by hand: 10,000 calls, 500,000
// read units ($0.0625 and one GET); the lookups take 500,000 / 12,000 s
// at a new table's read rate (longer than 10,000 / 32 calls of 50 ms),
// streaming 50 MB at 50 MB/s plus 4 s of plan CPU; with 25,000 read units
// the calls bind.
func TestExactStatus(t *testing.T) {
	e := testModel.ExactStatus(1e6, 0)
	if e.Calls != 10_000 || e.RRU != 500_000 || !near(e.USD, 0.0625+0.0004/1e3) {
		t.Errorf("cost %+v", e)
	}
	if !near(e.ReadSeconds, 500_000.0/12_000) || !near(e.StreamSeconds, 0.03+1+4) || e.Seconds != e.ReadSeconds || !strings.Contains(e.Bound, "12,000 read units") {
		t.Errorf("time %+v", e)
	}
	w := testModel.ExactStatus(1e6, 25_000)
	if !near(w.ReadSeconds, 20) || !strings.Contains(w.Bound, "warm_throughput") {
		t.Errorf("warm %+v", w)
	}
	w = testModel.ExactStatus(1e6, 1e6)
	if !near(w.ReadSeconds, 313*0.05) || !strings.Contains(w.Bound, "in flight") {
		t.Errorf("calls bound %+v", w)
	}
}

// memo status --exact of a settled 1M-op batch both ways, chosen as
// status.ChooseRead chooses: by a scan in a table of 1M items of 276 bytes
// (a tenth of the lookups' units, bound by decoding the items), by lookups
// in a table of 40M (a scan would read more than the lookups).
func TestExactStatusChoice(t *testing.T) {
	m := testModel
	m.CPU.ScanItem = 3 * time.Microsecond
	c := m.ExactStatusChoice(1e6, 1e6, 276, 0)
	// 276 MB: 67,383 reads of 4 KB and 264 pages of 1 MB (each rounded
	// up by half a unit at most).
	units := 0.5 * (67383 + 264)
	if !c.Plan.Scan || c.Chosen != c.Scan || c.Scan.Path != "scan" || c.Scan.Calls != 264 || !near(c.Scan.RRU, units) {
		t.Fatalf("1M items: %+v", c)
	}
	if !near(c.Scan.USD, units*0.125/1e6+0.0004/1e3) || c.Scan.USD > 0.07 {
		t.Errorf("scan USD = %v", c.Scan.USD)
	}
	// Streamed first (5.03 s, as by lookups), then the scan: 9 rounds of
	// 32 pages at 0.2 s = 1.8 s, 33,823.5 units at 12,000 a second =
	// 2.82 s, 1M items decoded at 3 us = 3 s: 3 s.
	if !near(c.Scan.StreamSeconds, 5.03) || !near(c.Scan.ReadSeconds, 3) || !near(c.Scan.Seconds, 8.03) || !strings.Contains(c.Scan.Bound, "decoding") {
		t.Errorf("scan time %+v", c.Scan)
	}
	if c.Chosen.Seconds > 30 || c.Lookups.Seconds <= 30 {
		t.Errorf("chosen %.1f s, lookups %.1f s: want the scan under 30 s, the lookups over", c.Chosen.Seconds, c.Lookups.Seconds)
	}
	if diff := cmp.Diff(testModel.ExactStatus(1e6, 0), c.Lookups); diff != "" {
		t.Errorf("lookups (-ExactStatus +choice):\n%s", diff)
	}
	// Faster decoding: bound by the read rate.
	m.CPU.ScanItem = time.Microsecond
	if c := m.ExactStatusChoice(1e6, 1e6, 276, 0); !near(c.Scan.ReadSeconds, units/12000) || !strings.Contains(c.Scan.Bound, "12,000") {
		t.Errorf("read-rate bound %+v", c.Scan)
	}
	big := m.ExactStatusChoice(1e6, 40e6, 276, 0)
	if big.Plan.Scan || big.Chosen != big.Lookups || big.Scan.RRU <= big.Lookups.RRU {
		t.Errorf("40M items: %+v", big)
	}
}

// oneVCPU is testModel at a whole vCPU, so that the arithmetic by hand
// needs no share.
func oneVCPU() Model {
	m := testModel
	m.Defaults.SplitterMemoryMB = 1769
	return m
}

func near(got, want float64) bool { return math.Abs(got-want) < 1e-9*math.Max(1, math.Abs(want)) }

func TestSplitByHand(t *testing.T) {
	m := oneVCPU()
	// Plan pass of 1M ops: 4 s of CPU; the GET, 30 ms to the first byte
	// and 50 MB at 50 MB/s; two PUTs (plan, in-progress report); 20 chunk
	// tasks in 2 sends of 20 ms.
	if got, want := m.PlanSeconds(1e6), 4+0.03+1+0.06+0.04; !near(got, want) {
		t.Errorf("PlanSeconds(1M) = %v, want %v", got, want)
	}
	// A chunk of 50,000: 5,000 sends, 8 at a time at 20 ms = 12.5 s,
	// longer than its CPU (0.05 s + 5,000 x 200 us = 1.05 s); the plan's
	// GET (30 ms), its range's (30 ms + 2.5 MB at 50 MB/s) and the done
	// marker's PUT (30 ms).
	if got, want := m.ChunkSeconds(ideal, 50_000), 12.5+0.03+0.03+0.05+0.03; !near(got, want) {
		t.Errorf("ChunkSeconds(50k) = %v, want %v", got, want)
	}
	s := m.Split(ideal, 1e6)
	// 20 chunks, 20 in flight: one round of a chunk and a 1 s poll, then
	// the report (a list and a PUT).
	if s.Files != 1 || s.Chunks != 20 || s.Rounds != 1 || s.ChunkBound != "splitter_send_concurrency" || s.Bound != "splitter_send_concurrency" {
		t.Errorf("Split(1M) = %+v", s)
	}
	if want := m.PlanSeconds(1e6) + 12.64 + 1 + 0.06; !near(s.Seconds, want) {
		t.Errorf("Split(1M).Seconds = %v, want %v", s.Seconds, want)
	}
	// 10M ops: 5 files of 2M, plans side by side (8 s CPU, 100 MB read,
	// 40 tasks in 4 sends), 200 chunks in 10 rounds of 20.
	s = m.Split(ideal, 10e6)
	plan := 8 + 0.03 + 2 + 0.06 + 0.08
	if s.Files != 5 || s.Chunks != 200 || s.Rounds != 10 || s.Bound != "split_chunk_concurrency" ||
		!near(s.PlanSeconds, plan) || !near(s.Seconds, plan+10*(12.64+1)+0.06) {
		t.Errorf("Split(10M) = %+v", s)
	}
	// At 128 MB (0.072 vCPU) a chunk's CPU, 1.05 s / 0.072 = 14.5 s,
	// outlasts its sends.
	m.Defaults.SplitterMemoryMB = 128
	if s := m.Split(ideal, 1e6); s.ChunkBound != "splitter_memory_mb" || !near(s.ChunkSeconds, 1.05*1769/128+0.14) {
		t.Errorf("Split(1M) at 128 MB = %+v", s)
	}
}

func TestEstimateNamesTheBound(t *testing.T) {
	m := oneVCPU()
	// Compute: 100 messages, 4 write calls: (300 us + 4 x 300 us) at 0.145
	// vCPU plus one round of writes (20 ms); 10 at a time.
	inv := 1.5e-3*1769/256 + 0.02
	est := m.Estimate(ideal, 1e6)
	if !near(est.ComputeOpsPerSecond, 1000/inv) || est.TableOpsPerSecond != 4000 {
		t.Errorf("rates %+v", est)
	}
	// The table binds: nothing is enqueued
	// before the plan pass ends, then 250 s of writes, a batching window
	// and the last invocation.
	if est.Bound != "DynamoDB's initial on-demand write rate" || !near(est.Seconds, m.PlanSeconds(1e6)+250+1+inv) {
		t.Errorf("at the defaults: %+v", est)
	}
	// Warm throughput of 25,000 write units: the table at 25,000
	// writes/s; compute (about 32,900 ops/s) does not bind.
	m.Defaults.WarmWriteUnits = 25_000
	if est := m.Estimate(ideal, 1e6); est.Bound != "warm_throughput's write units" || !near(est.Seconds, m.PlanSeconds(1e6)+40+1+inv) {
		t.Errorf("warm: %+v", est)
	}
	// 2 chunks at a time: 10 rounds of 13.64 s outlast 40 s of writes.
	m.Defaults.ChunkConcurrency = 2
	if est := m.Estimate(ideal, 1e6); est.Bound != "the split (split_chunk_concurrency)" || !near(est.Seconds, m.Split(ideal, 1e6).Seconds+1+inv) {
		t.Errorf("2 chunks in flight: %+v", est)
	}
	// Compute at 2 invocations (about 6,600 ops/s) binds below a warm
	// table's 25,000.
	m = oneVCPU()
	m.Defaults.WarmWriteUnits = 25_000
	m.Defaults.MaxConcurrency = 2
	if est := m.Estimate(ideal, 1e6); est.Bound != "compute_max_concurrency" {
		t.Errorf("2 compute invocations: %+v", est)
	}
}

func TestCounterCountsCallsAndUnits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(stubAWS))
	defer srv.Close()
	c := NewCounter()
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: srv.URL, Region: "us-east-1", StaticCredentials: true,
		APIOptions: []func(*middleware.Stack) error{c.Middleware}})
	if err != nil {
		t.Fatal(err)
	}
	sender := opsqueue.NewSender(sqs.NewFromConfig(cfg), srv.URL+"/123456789012/memo-x-ops")
	var msgs []record.Message
	for i := range 10 {
		msgs = append(msgs, record.Message{Batch: "b@e", Ops: []record.MessageOp{{Name: fmt.Sprint("n", i), Op: strings.Repeat("1+", 3000) + "1", Index: i}}})
	}
	for range 3 {
		if _, err := sender.SendBatch(ctx, msgs); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	v := record.Number(2)
	var rs []record.Result
	for i := range 25 {
		rs = append(rs, record.Result{Name: fmt.Sprint("n", i), Op: "1+1", Status: record.StatusOK, Value: &v, Batch: "b@e", ComputedAt: now})
	}
	big := rs[0]
	big.Op = string(bytes.Repeat([]byte("1"), 1500)) // a 2 KB item: 2 WRUs
	rs[0] = big
	table := results.New(dynamodb.NewFromConfig(cfg), "memo-x-results")
	for _, r := range rs {
		if err := table.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := c.Snapshot()
	send := got[Call{"SQS", "SendMessageBatch", "memo-x-ops"}]
	// Ten 6 KB bodies are 60 KB: one chunk each call.
	if send.Calls != 3 || send.Entries != 30 || send.Chunks != 3 {
		t.Errorf("SendMessageBatch %+v\n%s", send, got)
	}
	write := got[Call{"DynamoDB", "PutItem", "memo-x-results"}]
	if write.Calls != 25 || write.Entries != 25 || write.WRU != 26 {
		t.Errorf("PutItem %+v\n%s", write, got)
	}
	if c.Attempts() != 28 {
		t.Errorf("%d attempts, want 28", c.Attempts())
	}
	c.Reset()
	if len(c.Snapshot()) != 0 || c.Attempts() != 0 {
		t.Error("Reset left counts")
	}
}

func TestItemSize(t *testing.T) {
	item := map[string]dtypes.AttributeValue{
		"name":   &dtypes.AttributeValueMemberS{Value: "op_1"},    // 4 + 4
		"result": &dtypes.AttributeValueMemberN{Value: "123.45"},  // 6 + 3 digits pairs + 1
		"ok":     &dtypes.AttributeValueMemberBOOL{Value: true},   // 2 + 1
		"n":      &dtypes.AttributeValueMemberN{Value: "-0.0012"}, // 1 + 1 + 1
	}
	if got := ItemSize(item); got != 8+6+4+3+3 {
		t.Errorf("ItemSize = %d", got)
	}
}

func TestPrinterGoals(t *testing.T) {
	var b bytes.Buffer
	p := NewPrinter(&b)
	p.Figure("a", 0.1, AtMost(0.101), "")
	p.Figure("b", 0.5, AtLeast(2), "why")
	p.Figure("c", 1234567.8, nil, "")
	want := "a 0.1  # goal <= 0.101: met\nb 0.5  # goal >= 2: MISSED; why\nc 1234568\n"
	if b.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", b.String(), want)
	}
	if len(p.Met) != 1 || len(p.Missed) != 1 {
		t.Errorf("met %v missed %v", p.Met, p.Missed)
	}
}
