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
	if d.SplitterMemoryMB < 128 || d.ComputeMemoryMB < 128 || d.BatchSize < 1 || d.MaxConcurrency < 2 || d.SendConcurrency < 1 || d.SplitterTimeoutSeconds < 1 {
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
	Defaults: Defaults{SplitterMemoryMB: 256, ComputeMemoryMB: 256, SplitterTimeoutSeconds: 300, SendConcurrency: 8, BatchSize: 100, MaxConcurrency: 10},
	AWS:      AWS,
	CPU:      CPU{SplitterPerOp: time.Microsecond, ComputePerOp: 3 * time.Microsecond, SendCall: 200 * time.Microsecond, WriteCall: 300 * time.Microsecond},
}

func TestCostModel(t *testing.T) {
	off := testModel.Pipeline(ideal, 2000, false)
	on := testModel.Pipeline(ideal, 2000, true)
	// By hand: 300k SQS requests, 1M (2M) WRUs, 10,500 invocations,
	// 1,000 GETs, 1,000 PUTs (report and upload of 500 batches).
	for name, got := range map[string][2]float64{
		"sqs":      {off.SQSRequests, 300_000},
		"wru off":  {off.WRU, 1e6},
		"wru on":   {on.WRU, 2e6},
		"requests": {off.LambdaRequests, 10_500},
		"gets":     {off.S3Gets, 1000},
		"puts":     {off.S3Puts, 1000},
	} {
		if math.Abs(got[0]-got[1]) > 1e-6*got[1] {
			t.Errorf("%s = %v, want %v", name, got[0], got[1])
		}
	}
	offC, onC := off.Price(ListPrices), on.Price(ListPrices)
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(offC.SQS, 0.12) || !near(offC.DynamoDB, 0.625) || !near(onC.DynamoDB, 1.25) || !near(offC.S3, 0.0054) {
		t.Errorf("priced %+v / %+v", offC, onC)
	}
	if offC.Total > 0.78 || onC.Total > 1.40 {
		t.Errorf("ideal counts cost %.3f / %.3f, over the goals", offC.Total, onC.Total)
	}
	naive := testModel.NaiveS3().Price(ListPrices)
	if !near(naive.S3, 10.4) || naive.Total/offC.Total < 9 {
		t.Errorf("naive %+v, %.1fx memo", naive, naive.Total/offC.Total)
	}
}

func TestEstimateNamesTheBound(t *testing.T) {
	est := testModel.Estimate(ideal, 1e6)
	// 8 sends of 10 in flight at 20 ms: 4,000 ops/s.
	if est.Bound != "splitter_send_concurrency" || math.Abs(est.SplitterOpsPerSecond-4000) > 10 {
		t.Errorf("estimate %+v", est)
	}
	m := testModel
	m.Defaults.SendConcurrency = 64
	m.Defaults.SplitterMemoryMB = 1769
	if est := m.Estimate(ideal, 1e6); est.Bound != "DynamoDB's initial on-demand write rate" {
		t.Errorf("with the splitter unbound: %+v", est)
	}
	m.Defaults.SplitterMemoryMB = 128
	if est := m.Estimate(ideal, 1e6); est.Bound != "splitter_memory_mb" {
		t.Errorf("with 64 sends at 128 MB: %+v", est)
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
		msgs = append(msgs, record.Message{Name: fmt.Sprint("n", i), Op: strings.Repeat("1+", 3000) + "1", Batch: "b@e", Index: i})
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
	table := results.New(dynamodb.NewFromConfig(cfg), "memo-x-results", "")
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
