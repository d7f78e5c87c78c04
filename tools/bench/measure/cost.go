package measure

import (
	"fmt"
	"math"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

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
	// each global secondary index the item is written to
	// (aws.amazon.com/dynamodb/pricing/on-demand).
	DynamoDBWRU float64
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
	// NewTableWritesPerSecond is what a new on-demand DynamoDB table
	// sustains at once (4,000 WRU/s); it doubles its previous peak after.
	NewTableWritesPerSecond float64
	// ComputeWriteConcurrency is compute's PutItem calls in flight
	// (compute.DefaultConcurrency).
	ComputeWriteConcurrency float64
}

// AWS are the assumptions used.
var AWS = Assumptions{
	SQSCall:                 20 * time.Millisecond,
	DynamoDBCall:            20 * time.Millisecond,
	S3Call:                  30 * time.Millisecond,
	FullVCPUMemoryMB:        1769,
	NewTableWritesPerSecond: 4000,
	ComputeWriteConcurrency: compute.DefaultConcurrency,
}

// Defaults are the Terraform module's defaults the model depends on, read
// from terraform/modules/pipeline/variables.tf.
type Defaults struct {
	SplitterMemoryMB, ComputeMemoryMB float64
	SplitterTimeoutSeconds            float64
	SendConcurrency                   float64 // splitter_send_concurrency
	BatchSize                         float64 // compute_batch_size
	MaxConcurrency                    float64 // compute_max_concurrency
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
		"splitter_memory_mb":        &d.SplitterMemoryMB,
		"compute_memory_mb":         &d.ComputeMemoryMB,
		"splitter_timeout_seconds":  &d.SplitterTimeoutSeconds,
		"splitter_send_concurrency": &d.SendConcurrency,
		"compute_batch_size":        &d.BatchSize,
		"compute_max_concurrency":   &d.MaxConcurrency,
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
	SplitterPerOp time.Duration // 1 / splitter ops/s against an in-memory queue
	ComputePerOp  time.Duration // 1 / compute ops/s against an in-memory table
	SendCall      time.Duration // SDK CPU of one SendMessageBatch
	WriteCall     time.Duration // SDK CPU of one (conditional) PutItem
}

// Usage is what a million ops consume, in billing units.
type Usage struct {
	LambdaRequests float64
	LambdaGBs      float64
	SQSRequests    float64
	WRU            float64
	S3Puts, S3Gets float64
	// SplitterSeconds and ComputeSeconds are the estimated billed
	// durations of one splitter invocation (per batch) and one compute
	// invocation, for the record.
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
		DynamoDB: u.WRU * p.DynamoDBWRU,
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
}

const million = 1e6

func (m Model) share(memoryMB float64) float64 {
	return math.Min(1, memoryMB/m.AWS.FullVCPUMemoryMB)
}

// billed rounds a duration up to Lambda's 1 ms granularity, in seconds.
func billed(seconds float64) float64 { return math.Ceil(seconds*1000) / 1000 }

// SplitterSeconds estimates one splitter invocation on a batch of ops:
// its CPU (scaled by its CPU share) overlaps its sends, which go
// SendConcurrency at a time; then two S3 GETs (check, split) and the
// report's PUT.
func (m Model) SplitterSeconds(per PerOp, ops float64) float64 {
	sends := ops * per.SendCalls
	cpu := (ops*m.CPU.SplitterPerOp.Seconds() + sends*m.CPU.SendCall.Seconds()) / m.share(m.Defaults.SplitterMemoryMB)
	io := sends / m.Defaults.SendConcurrency * m.AWS.SQSCall.Seconds()
	return math.Max(cpu, io) + (per.S3GetsPerBatch+per.S3PutsPerBatch)*m.AWS.S3Call.Seconds()
}

// ComputeSeconds estimates one compute invocation of msgs messages: CPU
// scaled by its share, then its writes, ComputeWriteConcurrency at a time.
func (m Model) ComputeSeconds(per PerOp, msgs float64) float64 {
	writes := msgs * per.WriteCalls
	cpu := (msgs*m.CPU.ComputePerOp.Seconds() + writes*m.CPU.WriteCall.Seconds()) / m.share(m.Defaults.ComputeMemoryMB)
	return cpu + math.Ceil(writes/m.AWS.ComputeWriteConcurrency)*m.AWS.DynamoDBCall.Seconds()
}

// Pipeline is the usage of a million ops through a queue-and-table design
// (memo, or the naive queue baseline) from a twin run's counts, with
// batches of batchOps ops and the batch index on or off.
func (m Model) Pipeline(per PerOp, batchOps float64, index bool) Usage {
	batches := million / batchOps
	msgs := per.MessagesPerInvocation
	u := Usage{
		SplitterSeconds: billed(m.SplitterSeconds(per, batchOps)),
		ComputeSeconds:  billed(m.ComputeSeconds(per, msgs)),
	}
	invocations := million * per.ComputeInvocations
	u.LambdaRequests = batches + invocations
	u.LambdaGBs = batches*u.SplitterSeconds*m.Defaults.SplitterMemoryMB/1024 +
		invocations*u.ComputeSeconds*m.Defaults.ComputeMemoryMB/1024
	// Receives that returned messages: on AWS the event source mapping's
	// empty polls depend on time, not on ops (its pollers long-poll an
	// idle queue, 20 s a call), and the twin's differ from them.
	u.SQSRequests = million * (per.SendChunks + per.ReceiveChunksWithMsgs + per.DeleteChunks)
	u.WRU = million * per.WRU
	if index {
		// The index item (name, batch, status) is far below 1 KB: one
		// more WRU for each item written.
		u.WRU += million * per.ItemsWritten
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

// Throughput is the on-paper estimate of a batch on AWS at the defaults.
type Throughput struct {
	SplitterOpsPerSecond float64 // bounded by its send concurrency (or CPU)
	ComputeOpsPerSecond  float64 // MaxConcurrency invocations of BatchSize
	TableOpsPerSecond    float64 // a new on-demand table's write rate
	Bound                string  // the setting or limit that bounds the batch
	Seconds              float64 // for the ops given to Estimate
	SplitterSeconds      float64 // the splitter's own invocation
	// SplitterCPUSeconds is the splitter's CPU time at its memory's
	// share of a vCPU: it overlaps the sends, and bounds the splitter
	// instead of them when it is the longer.
	SplitterCPUSeconds float64
}

// Estimate is the time a batch of ops takes on AWS: the splitter and
// compute run at once, so the slowest stage sets the pace, plus one
// batching window and one compute invocation for the last ops.
func (m Model) Estimate(per PerOp, ops float64) Throughput {
	t := Throughput{}
	t.SplitterSeconds = m.SplitterSeconds(per, ops)
	t.SplitterOpsPerSecond = ops / t.SplitterSeconds
	full := m.Defaults.BatchSize
	t.ComputeOpsPerSecond = m.Defaults.MaxConcurrency * full / m.ComputeSeconds(per, full)
	t.TableOpsPerSecond = m.AWS.NewTableWritesPerSecond / math.Max(per.WRU, 1)
	rate := t.SplitterOpsPerSecond
	t.Bound = "splitter_send_concurrency"
	t.SplitterCPUSeconds = ops * (m.CPU.SplitterPerOp.Seconds() + per.SendCalls*m.CPU.SendCall.Seconds()) / m.share(m.Defaults.SplitterMemoryMB)
	if t.SplitterCPUSeconds >= ops*per.SendCalls/m.Defaults.SendConcurrency*m.AWS.SQSCall.Seconds() {
		t.Bound = "splitter_memory_mb"
	}
	if t.ComputeOpsPerSecond < rate {
		rate, t.Bound = t.ComputeOpsPerSecond, "compute_max_concurrency"
	}
	if t.TableOpsPerSecond < rate {
		rate, t.Bound = t.TableOpsPerSecond, "DynamoDB's initial on-demand write rate"
	}
	t.Seconds = ops/rate + 1 + m.ComputeSeconds(per, full)
	return t
}
