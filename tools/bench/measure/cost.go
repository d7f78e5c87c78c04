package measure

import (
	"fmt"
	"math"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/compute"
)

// Prices is the one table of list prices the cost model uses: AWS,
// us-east-1, on-demand, free tiers left out. Change prices here only.
type Prices struct {
	// LambdaRequest is per invocation: $0.20 per million
	// (aws.amazon.com/lambda/pricing).
	LambdaRequest float64
	// LambdaArmGBSecond is per GB-second of duration on arm64, first 7.5
	// billion GB-s a month: $0.0000133334. Duration is billed per 1 ms.
	LambdaArmGBSecond float64
	// SQSRequest is per request of a standard queue, beyond the first
	// million a month: $0.40 per million. Every 64 KB chunk of a request's
	// payload is billed as one request (aws.amazon.com/sqs/pricing).
	SQSRequest float64
	// DynamoDBWRU is per write request unit, on-demand, Standard table
	// class: $0.625 per million since the November 2024 price cut. A write
	// costs one WRU per KB of the item, rounded up, and the same again for
	// each global secondary index the item is written to (memo's tables
	// have none) (aws.amazon.com/dynamodb/pricing/on-demand).
	DynamoDBWRU float64
	// DynamoDBRRU is per read request unit, on-demand: $0.125 per million.
	// An eventually consistent read of an item up to 4 KB is half a unit.
	DynamoDBRRU float64
	// S3Put is per PUT, COPY, POST or LIST request, S3 Standard: $0.005
	// per 1,000 (aws.amazon.com/s3/pricing).
	S3Put float64
	// S3Get is per GET or SELECT request, S3 Standard: $0.0004 per 1,000.
	S3Get float64
}

// ListPrices are the prices the model uses.
var ListPrices = Prices{
	LambdaRequest:     0.20 / 1e6,
	LambdaArmGBSecond: 0.0000133334,
	SQSRequest:        0.40 / 1e6,
	DynamoDBWRU:       0.625 / 1e6,
	DynamoDBRRU:       0.125 / 1e6,
	S3Put:             0.005 / 1e3,
	S3Get:             0.0004 / 1e3,
}

// Assumptions are the figures of AWS the model needs and this machine
// cannot measure (there is no AWS account here): latencies of one call
// within a region, and limits.
type Assumptions struct {
	SQSCall      time.Duration // SendMessageBatch of 10 small messages
	DynamoDBCall time.Duration // PutItem of a small item (or BatchWriteItem of 25)
	S3Call       time.Duration // GET (to the first byte) or PUT of a small object
	// FullVCPUMemoryMB is the memory at which a Lambda function gets one
	// whole vCPU; CPU share is proportional to memory below it.
	FullVCPUMemoryMB float64
	// NewTableWritesPerSecond and NewTableReadsPerSecond are what a new
	// on-demand DynamoDB table sustains at once (its warm throughput: 4,000
	// WRU/s and 12,000 RRU/s); it doubles its previous peak after.
	NewTableWritesPerSecond, NewTableReadsPerSecond float64
	// BatchGetCall is one BatchGetItem of 100 small items, and
	// ReadConcurrency the calls memo keeps in flight
	// (results.GetConcurrency).
	BatchGetCall    time.Duration
	ReadConcurrency float64
	// ScanPageCall is one Scan call that reads a full page (1 MB), and
	// ScanSegments the most parallel segments memo scans
	// (status.MaxScanSegments), one call in flight each.
	ScanPageCall time.Duration
	ScanSegments float64
	// ComputeWriteConcurrency is compute's PutItem calls in flight
	// (compute.DefaultConcurrency).
	ComputeWriteConcurrency float64
	// S3ReadBytesPerSecond is one GET's streaming rate once its first
	// byte has come: S3's performance guidelines size a connection at
	// 85-90 MB/s ("Performance guidelines for Amazon S3", horizontal
	// scaling of connections); the model takes 50 MB/s for a function's
	// smaller share of network.
	S3ReadBytesPerSecond float64
	// ChunkPollDelay is the time from a chunk task's send to its
	// invocation by the chunk queue's event source mapping (batch size 1,
	// no batching window, pollers already long-polling).
	ChunkPollDelay time.Duration
	// PartitionWritesPerSecond is what one partition of a table
	// sustains: 1,000 write units a second ("Key range throughput exceeded
	// (hot partitions)", docs.aws.amazon.com/amazondynamodb/latest/
	// developerguide/throttling-key-range-limit-exceeded-mitigation.html):
	// the bound of one batch's counter item.
	PartitionWritesPerSecond float64
}

// AWS are the assumptions used.
var AWS = Assumptions{
	SQSCall:                  20 * time.Millisecond,
	DynamoDBCall:             20 * time.Millisecond,
	S3Call:                   30 * time.Millisecond,
	FullVCPUMemoryMB:         1769,
	NewTableWritesPerSecond:  4000,
	NewTableReadsPerSecond:   12000,
	BatchGetCall:             50 * time.Millisecond,
	ReadConcurrency:          results.GetConcurrency,
	ScanPageCall:             200 * time.Millisecond,
	ScanSegments:             status.MaxScanSegments,
	ComputeWriteConcurrency:  compute.DefaultConcurrency,
	S3ReadBytesPerSecond:     50e6,
	ChunkPollDelay:           time.Second,
	PartitionWritesPerSecond: 1000,
}

// Defaults are the Terraform module's defaults the model depends on, read
// from terraform/modules/pipeline/variables.tf.
type Defaults struct {
	SplitterMemoryMB, ComputeMemoryMB float64
	SplitterTimeoutSeconds            float64
	SendConcurrency                   float64 // splitter_send_concurrency
	BatchSize                         float64 // compute_batch_size
	BatchingWindowSeconds             float64 // compute_batching_window_seconds
	MaxConcurrency                    float64 // compute_max_concurrency
	ChunkOps                          float64 // split_chunk_ops
	ChunkConcurrency                  float64 // split_chunk_concurrency
	// WarmWriteUnits is warm_throughput's write_units_per_second; zero
	// when it is not set (its default, null): a new on-demand table's
	// 4,000 then.
	WarmWriteUnits float64
}

// ReadDefaults reads the defaults from a variables.tf.
func ReadDefaults(path string) (Defaults, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Defaults{}, err
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return Defaults{}, diags
	}
	vals := map[string]float64{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "variable" || len(b.Labels) != 1 {
			continue
		}
		a, ok := b.Body.Attributes["default"]
		if !ok {
			continue
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || v.IsNull() || v.Type() != cty.Number {
			continue
		}
		f, _ := v.AsBigFloat().Float64()
		vals[b.Labels[0]] = f
	}
	d := Defaults{}
	for name, dst := range map[string]*float64{
		"splitter_memory_mb":              &d.SplitterMemoryMB,
		"compute_memory_mb":               &d.ComputeMemoryMB,
		"splitter_timeout_seconds":        &d.SplitterTimeoutSeconds,
		"splitter_send_concurrency":       &d.SendConcurrency,
		"compute_batch_size":              &d.BatchSize,
		"compute_max_concurrency":         &d.MaxConcurrency,
		"split_chunk_ops":                 &d.ChunkOps,
		"split_chunk_concurrency":         &d.ChunkConcurrency,
		"compute_batching_window_seconds": &d.BatchingWindowSeconds,
	} {
		v, ok := vals[name]
		if !ok {
			return d, fmt.Errorf("%s: no numeric default for variable %q", path, name)
		}
		*dst = v
	}
	return d, nil
}

// CPU is what this machine measured, per op and per SDK call, on one core.
type CPU struct {
	// SplitterPerOp is 1 / the Split benchmark's ops/s: the plan pass and
	// the chunks of a 100k-op file against an in-memory queue. The model
	// takes it as a chunk's CPU per op, an upper bound (it includes a
	// plan pass).
	SplitterPerOp time.Duration
	PlanPerOp     time.Duration // 1 / the plan pass's ops/s (the Plan benchmark)
	ComputePerOp  time.Duration // 1 / compute ops/s against an in-memory table
	SendCall      time.Duration // SDK CPU of one SendMessageBatch
	WriteCall     time.Duration // SDK CPU of one (conditional) PutItem
	ScanItem      time.Duration // SDK CPU of one item of a projected Scan page
}

// Usage is what a million ops consume, in billing units.
type Usage struct {
	LambdaRequests float64
	LambdaGBs      float64
	SQSRequests    float64
	WRU            float64
	// CounterWrites are the UpdateItem calls on the batches table (one per
	// batch per compute invocation), each one WRU, within WRU.
	CounterWrites  float64
	RRU            float64
	S3Puts, S3Gets float64
	// SplitterSeconds is the estimated billed duration of the splitter's
	// invocations for one batch (its plan pass and its chunks), and
	// ComputeSeconds of one compute invocation, for the record.
	SplitterSeconds, ComputeSeconds float64
}

// Cost is a Usage priced, in USD.
type Cost struct {
	Lambda, SQS, DynamoDB, S3, Total float64
}

// Price prices a Usage.
func (u Usage) Price(p Prices) Cost {
	c := Cost{
		Lambda:   u.LambdaRequests*p.LambdaRequest + u.LambdaGBs*p.LambdaArmGBSecond,
		SQS:      u.SQSRequests * p.SQSRequest,
		DynamoDB: u.WRU*p.DynamoDBWRU + u.RRU*p.DynamoDBRRU,
		S3:       u.S3Puts*p.S3Put + u.S3Gets*p.S3Get,
	}
	c.Total = c.Lambda + c.SQS + c.DynamoDB + c.S3
	return c
}

// Model turns measured counts into usage.
type Model struct {
	Defaults Defaults
	AWS      Assumptions
	CPU      CPU
	// OpBytes is the batch file's size per op (the Split benchmark's
	// file): what the plan pass and a chunk read from S3.
	OpBytes float64
}

const million = 1e6

func (m Model) share(memoryMB float64) float64 {
	return math.Min(1, memoryMB/m.AWS.FullVCPUMemoryMB)
}

// billed rounds a duration up to Lambda's 1 ms granularity, in seconds.
func billed(seconds float64) float64 { return math.Ceil(seconds*1000) / 1000 }

// ComputeSeconds estimates one compute invocation of msgs messages: CPU
// scaled by its share, then its writes, ComputeWriteConcurrency at a time.
func (m Model) ComputeSeconds(per PerOp, msgs float64) float64 {
	writes := msgs * per.WriteCalls
	cpu := (msgs*m.CPU.ComputePerOp.Seconds() + writes*m.CPU.WriteCall.Seconds()) / m.share(m.Defaults.ComputeMemoryMB)
	return cpu + math.Ceil(writes/m.AWS.ComputeWriteConcurrency)*m.AWS.DynamoDBCall.Seconds()
}

// Pipeline is the usage of a million ops through a queue-and-table design
// (memo, or the naive queue baseline) from a twin run's counts, with
// batches of batchOps ops; counters adds one counter write (an UpdateItem
// of the batch's item, under 1 KB) per compute invocation. A batch costs the
// splitter its plan pass and a chunk task per split_chunk_ops ops, each its
// own invocation taking a chunk queue message (a send, a receive and a
// delete; the twin's splitter in the bench runs its chunks itself, so its
// counts leave these out).
func (m Model) Pipeline(per PerOp, batchOps float64, counters bool) Usage {
	batches := million / batchOps
	msgs := per.MessagesPerInvocation
	chunks := math.Ceil(batchOps / m.Defaults.ChunkOps)
	splitter := billed(m.PlanSeconds(batchOps))
	for left := batchOps; left > 0; left -= m.Defaults.ChunkOps {
		splitter += billed(m.ChunkSeconds(per, math.Min(left, m.Defaults.ChunkOps)))
	}
	u := Usage{
		SplitterSeconds: splitter,
		ComputeSeconds:  billed(m.ComputeSeconds(per, msgs)),
	}
	invocations := million * per.ComputeInvocations
	u.LambdaRequests = batches*(1+chunks) + invocations
	u.LambdaGBs = batches*u.SplitterSeconds*m.Defaults.SplitterMemoryMB/1024 +
		invocations*u.ComputeSeconds*m.Defaults.ComputeMemoryMB/1024
	// Receives that returned messages: on AWS the event source mapping's
	// empty polls depend on time, not on ops (its pollers long-poll an
	// idle queue, 20 s a call), and the twin's differ from them.
	u.SQSRequests = million*(per.SendChunks+per.ReceiveChunksWithMsgs+per.DeleteChunks) +
		batches*(math.Ceil(chunks/10)+2*chunks)
	u.WRU = million * per.WRU
	if counters {
		u.CounterWrites = invocations
		u.WRU += u.CounterWrites
	}
	u.S3Gets = batches * per.S3GetsPerBatch
	u.S3Puts = batches * (per.S3PutsPerBatch + 1) // the report, and the upload
	return u
}

// NaiveS3 is the usage of a million ops through the naive object design:
// each op uploaded as its own S3 object, whose notification invokes a
// function once per op that reads it, evaluates it and writes the result as
// another object. Its duration is the evaluation (CPU scaled by the share)
// plus one GET and one PUT, no SDK CPU counted: the estimate favours it.
func (m Model) NaiveS3() Usage {
	secs := billed(m.CPU.ComputePerOp.Seconds()/m.share(m.Defaults.ComputeMemoryMB) + 2*m.AWS.S3Call.Seconds())
	return Usage{
		LambdaRequests: million,
		LambdaGBs:      million * secs * m.Defaults.ComputeMemoryMB / 1024,
		S3Puts:         2 * million, // the op's object, the result's object
		S3Gets:         million,
		ComputeSeconds: secs,
	}
}

// Throughput is the on-paper estimate of a batch on AWS, from upload to
// the last result written.
type Throughput struct {
	Split Split // the plan pass and the chunks
	// SplitOpsPerSecond is the chunks' enqueue rate while they run:
	// split_chunk_concurrency chunks of split_chunk_ops at a time.
	SplitOpsPerSecond   float64
	ComputeOpsPerSecond float64 // MaxConcurrency invocations of BatchSize
	TableOpsPerSecond   float64 // the results table's write rate: new, or warm_throughput
	Bound               string  // the setting or limit that bounds the batch
	Seconds             float64 // for the ops given to Estimate
}

// Estimate is the time a batch of ops takes on AWS. Nothing is enqueued
// before the plan pass ends; then the chunks enqueue while compute drains
// the queue at the slower of compute and the table, so the batch ends when
// the later of the two ends, plus one batching window and one compute
// invocation for the last ops.
func (m Model) Estimate(per PerOp, ops float64) Throughput {
	t := Throughput{Split: m.Split(per, ops)}
	chunkOps := math.Min(ops, m.Defaults.ChunkOps)
	inFlight := math.Min(t.Split.Chunks, m.Defaults.ChunkConcurrency)
	t.SplitOpsPerSecond = inFlight * chunkOps / (t.Split.ChunkSeconds + m.AWS.ChunkPollDelay.Seconds())
	full := m.Defaults.BatchSize
	t.ComputeOpsPerSecond = m.Defaults.MaxConcurrency * full / m.ComputeSeconds(per, full)
	units, tableBound := m.AWS.NewTableWritesPerSecond, "DynamoDB's initial on-demand write rate"
	if m.Defaults.WarmWriteUnits > 0 {
		units, tableBound = m.Defaults.WarmWriteUnits, "warm_throughput's write units"
	}
	t.TableOpsPerSecond = units / math.Max(per.WRU, 1)
	rate, bound := t.ComputeOpsPerSecond, "compute_max_concurrency"
	if t.TableOpsPerSecond < rate {
		rate, bound = t.TableOpsPerSecond, tableBound
	}
	drained := t.Split.PlanSeconds + ops/rate
	end := drained
	if t.Split.Seconds > drained {
		end, bound = t.Split.Seconds, "the split ("+t.Split.Bound+")"
	}
	t.Bound = bound
	t.Seconds = end + m.Defaults.BatchingWindowSeconds + m.ComputeSeconds(per, full)
	return t
}

// ExactStatus is the on-paper cost and time of memo status --exact of a
// settled batch: one GET streaming its object (read at S3ReadBytesPerSecond,
// parsed at the plan pass's CPU per op on a whole vCPU: memo runs on the
// operator's machine), and its names looked up, 100 a BatchGetItem,
// ReadConcurrency calls in flight, each item an eventually consistent read
// of half a read unit, at most the table's read rate (a new on-demand
// table's unless warmUnits, warm_throughput's read_units_per_second, is
// set).
type ExactStatus struct {
	// Path is how the table is read: status.ReadByLookups or
	// status.ReadByScan.
	Path                 string
	Calls, RRU, USD      float64
	Seconds, ReadSeconds float64
	StreamSeconds        float64
	Bound                string
}

// ExactStatus estimates memo status --exact of a settled batch of ops by
// lookups.
func (m Model) ExactStatus(ops, warmReadUnits float64) ExactStatus {
	e := ExactStatus{Path: status.ReadByLookups, Calls: math.Ceil(ops / 100), RRU: ops * 0.5}
	e.USD = e.RRU*ListPrices.DynamoDBRRU + ListPrices.S3Get
	e.StreamSeconds = m.AWS.S3Call.Seconds() + ops*m.OpBytes/m.AWS.S3ReadBytesPerSecond + ops*m.CPU.PlanPerOp.Seconds()
	calls := math.Ceil(e.Calls/m.AWS.ReadConcurrency) * m.AWS.BatchGetCall.Seconds()
	units, unitsBound := m.readRate(warmReadUnits)
	byUnits := e.RRU / units
	e.ReadSeconds, e.Bound = calls, fmt.Sprintf("%g BatchGetItem calls in flight", m.AWS.ReadConcurrency)
	if byUnits > calls {
		e.ReadSeconds, e.Bound = byUnits, unitsBound
	}
	// memo streams the names and looks them up window by window: the
	// slower of the two binds.
	e.Seconds = math.Max(e.StreamSeconds, e.ReadSeconds)
	if e.StreamSeconds > e.ReadSeconds {
		e.Bound = "streaming the batch object"
	}
	return e
}

// readRate is the table's read units a second: a new on-demand table's
// unless warmReadUnits is set.
func (m Model) readRate(warmReadUnits float64) (float64, string) {
	if warmReadUnits > 0 {
		return warmReadUnits, "warm_throughput's read units"
	}
	return m.AWS.NewTableReadsPerSecond, "a new on-demand table's 12,000 read units a second"
}

// ExactStatusScan estimates memo status --exact of a settled batch of ops
// read by a parallel scan of a results table of tableItems items of
// itemBytes each: the object streamed into the set of names first, then
// the table scanned, the read units status.ChooseRead counts (half a unit
// per 4 KB read, each page rounded up), at the slowest of the table's read
// rate, the pages ScanSegments at a time at ScanPageCall each, and the SDK
// decoding the items on one core.
func (m Model) ExactStatusScan(ops, tableItems, itemBytes, warmReadUnits float64) ExactStatus {
	bytes := tableItems * itemBytes
	plan := status.ChooseRead(int(ops), status.TableSize{Bytes: int64(bytes), Items: int64(tableItems)})
	e := ExactStatus{Path: status.ReadByScan, Calls: math.Ceil(bytes / status.ScanPageBytes), RRU: plan.ScanUnits}
	e.USD = e.RRU*ListPrices.DynamoDBRRU + ListPrices.S3Get
	e.StreamSeconds = m.AWS.S3Call.Seconds() + ops*m.OpBytes/m.AWS.S3ReadBytesPerSecond + ops*m.CPU.PlanPerOp.Seconds()
	segments := math.Min(math.Max(e.Calls, 1), m.AWS.ScanSegments)
	e.ReadSeconds = math.Ceil(e.Calls/segments) * m.AWS.ScanPageCall.Seconds()
	e.Bound = fmt.Sprintf("%.0f pages, %g segments at %v a page", e.Calls, segments, m.AWS.ScanPageCall)
	units, unitsBound := m.readRate(warmReadUnits)
	if byUnits := e.RRU / units; byUnits > e.ReadSeconds {
		e.ReadSeconds, e.Bound = byUnits, unitsBound
	}
	if cpu := tableItems * m.CPU.ScanItem.Seconds(); cpu > e.ReadSeconds {
		e.ReadSeconds, e.Bound = cpu, "decoding the scanned items (SDK CPU, one core)"
	}
	// The names are streamed into the set before the scan starts.
	e.Seconds = e.StreamSeconds + e.ReadSeconds
	return e
}

// ExactChoice is memo status --exact of a settled batch both ways, and the
// way status.ChooseRead takes for the table's size.
type ExactChoice struct {
	Chosen, Lookups, Scan ExactStatus
	Plan                  status.ReadPlan
}

// ExactStatusChoice estimates memo status --exact of a settled batch of ops
// in a results table of tableItems items of itemBytes each (the figure
// DescribeTable gives, taken as current), both ways, and chooses as memo
// does.
func (m Model) ExactStatusChoice(ops, tableItems, itemBytes, warmReadUnits float64) ExactChoice {
	c := ExactChoice{
		Lookups: m.ExactStatus(ops, warmReadUnits),
		Scan:    m.ExactStatusScan(ops, tableItems, itemBytes, warmReadUnits),
		Plan:    status.ChooseRead(int(ops), status.TableSize{Bytes: int64(tableItems * itemBytes), Items: int64(tableItems)}),
	}
	c.Chosen = c.Lookups
	if c.Plan.Scan {
		c.Chosen = c.Scan
	}
	return c
}
