// Package app wires memo's services to AWS clients. The Lambda mains and the
// local twin build the functions through it, so that both run the same
// handlers with the same wiring; only where the configuration comes from
// differs (the Lambda environment, or the twin's provisioning).
package app

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/batches"
	"github.com/memohq/memo/internal/aws/emf"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/aws/opsqueue"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Environment variables of the functions (Terraform sets them from resource
// attributes: terraform/modules/pipeline/functions.tf).
const (
	EnvQueueURL        = "MEMO_QUEUE_URL"
	EnvChunkQueueURL   = "MEMO_CHUNK_QUEUE_URL"
	EnvChunkOps        = "MEMO_CHUNK_OPS"
	EnvPackOps         = "MEMO_PACK_OPS"
	EnvOpRules         = "MEMO_OP_RULES" // "expression" (unset) or "json": batch.Rules
	EnvSendConcurrency = "MEMO_SEND_CONCURRENCY"
	EnvTable           = "MEMO_TABLE"
	// EnvBatchesTable is the batches table: the splitter mirrors its
	// reports there and compute adds its counters. Unset (a function
	// deployed before it existed), neither happens and memo status
	// reconciles every batch by names.
	EnvBatchesTable = "MEMO_BATCHES_TABLE"
	EnvWorkspace    = "MEMO_WORKSPACE"
	EnvLogLevel     = "MEMO_LOG_LEVEL"
)

// SplitterEnv configures the splitter function.
type SplitterEnv struct {
	QueueURL string
	// ChunkQueueURL, when set, is the chunk queue: the splitter plans each
	// batch and queues its chunks there, and the same function runs them
	// from the queue's event source mapping. Unset, it runs the chunks of
	// a batch itself, one after the other.
	ChunkQueueURL string
	// ChunkOps is the most ops of one chunk (splitter.DefaultChunkOps).
	ChunkOps int
	// PackOps is the most ops of one message (splitter.DefaultPackOps).
	PackOps     int
	OpRules     batch.Rules // what the splitter accepts as an op (EnvOpRules)
	Concurrency int
	// BatchesTable, when set, receives each upload's report (EnvBatchesTable).
	BatchesTable string
	Workspace    string
	LogLevel     slog.Level
}

// ComputeEnv configures the compute function.
type ComputeEnv struct {
	Table string
	// BatchesTable, when set, keeps the per-batch counters (EnvBatchesTable).
	BatchesTable string
	Workspace    string
	LogLevel     slog.Level
}

// SplitterFromEnv reads the splitter's configuration.
func SplitterFromEnv(getenv func(string) string) (SplitterEnv, error) {
	e := SplitterEnv{QueueURL: getenv(EnvQueueURL), ChunkQueueURL: getenv(EnvChunkQueueURL), Workspace: getenv(EnvWorkspace),
		BatchesTable: getenv(EnvBatchesTable), Concurrency: splitter.DefaultConcurrency, ChunkOps: splitter.DefaultChunkOps, PackOps: splitter.DefaultPackOps}
	if e.QueueURL == "" {
		return e, fmt.Errorf("%s is not set", EnvQueueURL)
	}
	if v := getenv(EnvChunkOps); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > splitter.DefaultMaxOps {
			return e, fmt.Errorf("%s=%q: want an integer from 1 to %d", EnvChunkOps, v, splitter.DefaultMaxOps)
		}
		e.ChunkOps = n
	}
	if v := getenv(EnvPackOps); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > splitter.MaxPackOps {
			return e, fmt.Errorf("%s=%q: want an integer from 1 to %d", EnvPackOps, v, splitter.MaxPackOps)
		}
		e.PackOps = n
	}
	if v := getenv(EnvOpRules); v != "" {
		r, ok := batch.ParseRules(v)
		if !ok {
			return e, fmt.Errorf("%s=%q: want %q (memo's evaluator) or %q (your own function)", EnvOpRules, v, batch.ExpressionRules, batch.JSONRules)
		}
		e.OpRules = r
	}
	if v := getenv(EnvSendConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return e, fmt.Errorf("%s=%q: want an integer from 1 to 64", EnvSendConcurrency, v)
		}
		e.Concurrency = n
	}
	lvl, err := parseLevel(getenv(EnvLogLevel))
	e.LogLevel = lvl
	return e, err
}

// ComputeFromEnv reads the compute function's configuration.
func ComputeFromEnv(getenv func(string) string) (ComputeEnv, error) {
	e := ComputeEnv{Table: getenv(EnvTable), BatchesTable: getenv(EnvBatchesTable), Workspace: getenv(EnvWorkspace)}
	if e.Table == "" {
		return e, fmt.Errorf("%s is not set", EnvTable)
	}
	lvl, err := parseLevel(getenv(EnvLogLevel))
	e.LogLevel = lvl
	return e, err
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo, fmt.Errorf("%s=%q: want DEBUG, INFO, WARN or ERROR", EnvLogLevel, s)
	}
	return l, nil
}

// Logger returns the JSON logger the functions use.
func Logger(w io.Writer, level slog.Level, function string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("function", function)
}

// NewSplitter builds the splitter service. metrics may be nil.
func NewSplitter(cfg aws.Config, env SplitterEnv, logger *slog.Logger, metrics io.Writer) *splitter.Service {
	client := sqs.NewFromConfig(cfg)
	var chunks splitter.ChunkQueue
	if env.ChunkQueueURL != "" {
		chunks = opsqueue.NewChunkSender(client, env.ChunkQueueURL)
	}
	var objs splitter.Objects = objects.New(awsconfig.S3(cfg))
	if env.BatchesTable != "" {
		reports := batches.Reports{Objects: objs, Table: batches.New(dynamodb.NewFromConfig(cfg), env.BatchesTable), Logger: logger}
		if metrics != nil {
			rec := emf.New(metrics, env.Workspace, emf.FunctionSplitter)
			reports.Failed = func() { _ = rec.Emit(map[string]int{emf.ReportMirrorFailures: 1}) }
		}
		objs = reports
	}
	return newSplitter(objs, opsqueue.NewSender(client, env.QueueURL), chunks, env, logger, metrics)
}

// newSplitter wires the splitter to its adapters (tests pass fakes).
func newSplitter(objs splitter.Objects, queue splitter.Queue, chunks splitter.ChunkQueue, env SplitterEnv, logger *slog.Logger, metrics io.Writer) *splitter.Service {
	var m splitter.Metrics
	if metrics != nil {
		m = emf.New(metrics, env.Workspace, emf.FunctionSplitter)
	}
	return splitter.New(objs, queue, splitter.Config{Concurrency: env.Concurrency, Logger: logger, Metrics: m,
		ChunkOps: env.ChunkOps, PackOps: env.PackOps, OpRules: env.OpRules, Chunks: chunks})
}

// NewCompute builds the compute service around memo's evaluator. metrics
// may be nil.
func NewCompute(cfg aws.Config, env ComputeEnv, logger *slog.Logger, metrics io.Writer) *compute.Service {
	// memo's evaluator is CPU-bound and takes microseconds: one op at a
	// time, as lambda/compute runs it.
	return NewComputeFunc(cfg, env, logger, metrics, compute.Expressions(eval.Evaluate), compute.Config{Ops: 1})
}

// NewComputeFunc builds the compute service around a per-op function
// (the public package fn wraps a user's function into one). cc sets the
// per-op settings (Ops, OpTimeout); the wiring sets its logger and metrics.
func NewComputeFunc(cfg aws.Config, env ComputeEnv, logger *slog.Logger, metrics io.Writer, f compute.Func, cc compute.Config) *compute.Service {
	// compute keeps DefaultConcurrency PutItem calls in flight; the SDK's
	// transport keeps only 10 idle connections per host by default
	// (awshttp.DefaultHTTPTransportMaxIdleConnsPerHost), which would close
	// and reopen (TLS included) the rest on every round of writes.
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = compute.DefaultConcurrency
		})
	})
	table := results.New(ddb, env.Table)
	if env.BatchesTable != "" {
		cc.Tallier = batches.New(ddb, env.BatchesTable)
	}
	// The ops of a redelivered message are read (BatchGetItem, eventually
	// consistent) before they are written again: a read costs a tenth of
	// a write.
	cc.Stored = results.Stored{Table: table}
	return NewComputeOn(table, env, logger, metrics, f, cc)
}

// NewComputeOn wires compute to a result writer (tests pass a fake).
func NewComputeOn(table compute.ResultWriter, env ComputeEnv, logger *slog.Logger, metrics io.Writer, f compute.Func, cc compute.Config) *compute.Service {
	var m compute.Metrics
	if metrics != nil {
		m = emf.New(metrics, env.Workspace, emf.FunctionCompute)
	}
	cc.Logger, cc.Metrics = logger, m
	return compute.New(table, f, cc)
}
