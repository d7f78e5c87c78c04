// Package fn runs your own per-op function inside memo's compute service.
//
// memo splits a batch file of named ops into SQS messages, and its compute
// Lambda stores one result per op name in DynamoDB, where the newest upload
// wins. With this package the work done per op is yours: a Func gets a
// context and the Op (its name, its JSON payload, its batch and its index)
// and returns a value or an error. One call, Start, makes the Lambda:
//
//	func main() {
//		fn.Start(checksum, fn.Options{Concurrency: 16})
//	}
//
// Around your function, memo keeps its plumbing: the conditional write of
// each result (a redelivered op is idempotent, an older upload never
// overwrites a newer one), the partial batch response (a message carries
// several ops, and only the messages with an op that must be retried go
// back to SQS; their ops already stored are not run again), metrics
// (CloudWatch embedded metric format) and JSON logs whose lines about an op
// carry its name and batch.
//
// # Results
//
// The value returned is stored as the op's result with status "ok". It may
// be any JSON value: nil, a bool, a number, a string, a slice, a map or a
// struct (encoded with encoding/json), or a json.RawMessage. It is stored as
// DynamoDB's own types (NULL, BOOL, N, S, L, M), so that aws dynamodb
// get-item shows it as it is. A value DynamoDB cannot hold is stored as an
// "error" result that says why: larger than MaxValueBytes as DynamoDB counts
// it, a number outside DynamoDB's range (magnitude in [1e-130, 1e126)), an
// integer beyond ±2^53 (a float64 would change it: return it as a string),
// nesting deeper than 32 levels, or a value encoding/json refuses.
//
// # Errors
//
// An error is transient by default: the op's message (with the other ops it
// carries) is left for SQS, which delivers it again after its visibility
// timeout (the ops stored meanwhile are skipped then), and after the queue's
// maxReceiveCount moves it to the dead-letter queue, where `memo dlq` shows
// it and a redrive retries it. Wrap an error with Permanent when retrying
// cannot help (the input is wrong, the object is missing): it is stored as
// the op's "error" result and never retried. A panic is a bug, not bad luck:
// it is stored as an "error" result too, and its stack goes to the log.
//
// # Time
//
// Each op has a time limit (Options.OpTimeout). Its context ends at that
// limit or shortly before the invocation's deadline, whichever comes first;
// an op still running then is transient (its message is retried) and is left
// behind, so pass ctx to every call that can wait. Ops run concurrently
// within an invocation, up to Options.Concurrency.
//
// # Ops
//
// An op's payload is the JSON value its batch file gave. Which values a
// batch may hold is the pipeline's op rules (Terraform's split_op_rules):
// set them to "json" for your function (memo local --function does), and
// an op is any JSON value, a string, number, object, array, true, false or
// null, of at most 32 KiB of JSON text nested at most 64 deep, delivered
// as the file wrote it ({"name": "img-0001", "op": {"key": "a.jpg"}} gives
// the Payload {"key": "a.jpg"}; a string op arrives as the same string,
// its escapes possibly written another way). A CSV cell is a JSON string.
// Under memo's default rules, "expression", every op is a string of at
// most 1024 bytes and any other value is rejected by the splitter.
//
// # Sizes
//
// An SQS message holds at most 1 MiB and a DynamoDB item 400 KB, and the
// item holds the op as well as its result: results are bounded by
// MaxValueBytes, ops by the op rules (docs/design.md, "Op rules").
package fn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// Op is one op of a batch.
type Op struct {
	// Name is the op's name, the key of its result.
	Name string
	// Payload is the op's JSON value as the batch file gave it: any JSON
	// value when the pipeline's op rules are "json" (see Ops above), a
	// JSON string holding an expression under memo's default rules.
	Payload json.RawMessage
	// Batch identifies the upload the op came from.
	Batch string
	// Index is the op's zero-based position in its batch file.
	Index int
}

// Decode unmarshals the payload into v (encoding/json's rules). A payload
// that does not fit v is the batch file's problem, not bad luck: return the
// error wrapped with Permanent.
func (o Op) Decode(v any) error {
	if err := json.Unmarshal(o.Payload, v); err != nil {
		return fmt.Errorf("op %s: %w", o.Name, err)
	}
	return nil
}

// Func computes one op. It returns the op's result, or an error: transient
// unless wrapped with Permanent. It must be safe to call concurrently.
type Func func(ctx context.Context, op Op) (any, error)

// Permanent marks err as permanent: the op's result is stored with status
// "error" and err's message, and the op is not retried. Permanent(nil) is nil.
func Permanent(err error) error { return retry.Permanent(err) }

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool { return retry.IsPermanent(err) }

// MaxValueBytes bounds a result's size as DynamoDB counts it (UTF-8 bytes
// of strings and keys, about one byte per two digits of a number, a few
// bytes per list or map and per element).
const MaxValueBytes = 300 * 1024

// Defaults of Options.
const (
	DefaultConcurrency = 10
	DefaultOpTimeout   = 30 * time.Second
)

// Options tune how ops are run. Zero fields take the defaults.
type Options struct {
	// Concurrency is the number of ops computed at once in one invocation
	// (default DefaultConcurrency). CPU-bound work gains nothing beyond the
	// function's vCPUs; I/O-bound work (S3 reads, calls to a service) wants
	// more.
	Concurrency int
	// OpTimeout is the time limit of one op (default DefaultOpTimeout). It
	// should be well below the function's timeout.
	OpTimeout time.Duration
}

func (o Options) config() compute.Config {
	return compute.Config{Ops: o.Concurrency, OpTimeout: o.OpTimeout}
}

// Start runs f as the compute Lambda and never returns. It reads memo's
// settings from the function's environment (MEMO_TABLE, MEMO_BATCHES_TABLE, MEMO_WORKSPACE,
// MEMO_LOG_LEVEL, set by memo's Terraform module) and exits with a logged
// error if they are wrong.
func Start(f Func, opts Options) {
	env, err := app.ComputeFromEnv(os.Getenv)
	logger := app.Logger(os.Stdout, env.LogLevel, "compute")
	if err != nil {
		logger.Error("bad configuration", "error", err)
		os.Exit(1)
	}
	if err := opts.check(); err != nil {
		logger.Error("bad options", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		logger.Error("loading AWS configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(app.NewComputeFunc(cfg, env, logger, os.Stdout, wrap(f), opts.config()).Handle)
}

func (o Options) check() error {
	if o.Concurrency < 0 || o.OpTimeout < 0 {
		return fmt.Errorf("options %+v: want zero (the default) or positive values", o)
	}
	return nil
}

// wrap turns f into the compute service's per-op function.
func wrap(f Func) compute.Func {
	return func(ctx context.Context, op compute.Op) (record.Value, error) {
		v, err := f(ctx, Op{Name: op.Name, Payload: op.Payload, Batch: op.Batch, Index: op.Index})
		if err != nil {
			return record.Value{}, err
		}
		val, err := toValue(v)
		if err != nil {
			return record.Value{}, retry.Permanent(fmt.Errorf("the result cannot be stored: %w", err))
		}
		return val, nil
	}
}

// toValue converts a function's result to a record.Value, without a JSON
// round trip for the common scalar types.
func toValue(v any) (record.Value, error) {
	switch x := v.(type) {
	case nil:
		return record.Null(), nil
	case record.Value:
		return x, nil
	case bool:
		return record.Bool(x), nil
	case string:
		return record.String(x), nil
	case float64:
		return record.Number(x), nil
	case float32:
		return record.Number(float64(x)), nil
	case int:
		return intValue(int64(x))
	case int64:
		return intValue(x)
	case int32:
		return record.Number(float64(x)), nil
	case json.RawMessage:
		return record.ParseJSON(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return record.Value{}, err
	}
	return record.ParseJSON(b)
}

func intValue(i int64) (record.Value, error) {
	if i > 1<<53 || i < -(1<<53) {
		return record.Value{}, fmt.Errorf("integer %d is beyond ±2^53 and would lose digits as a float64: return it as a string", i)
	}
	return record.Number(float64(i)), nil
}

// Result is what memo does with one op, as Run reports it.
type Result struct {
	// Status is "ok" or "error" (stored as the op's result), or "retry":
	// the op failed transiently and its message is left for SQS.
	Status string
	// Value is the stored value as JSON when Status is "ok".
	Value json.RawMessage
	// Error says why, when Status is "error" or "retry".
	Error string
}

// Run computes one op the way the compute Lambda does (the time limit,
// panics, errors and the checks of the value) without any AWS service, and
// returns what memo would do with it: the function's unit tests call it.
// Logs go to logger (nil discards them).
func Run(ctx context.Context, f Func, op Op, opts Options, logger *slog.Logger) (Result, error) {
	if err := opts.check(); err != nil {
		return Result{}, err
	}
	cc := opts.config()
	cc.Logger = logger
	svc := compute.New(nil, wrap(f), cc)
	res, transient := svc.Compute(ctx, compute.Op{Name: op.Name, Payload: op.Payload, Batch: op.Batch, Index: op.Index})
	switch {
	case transient:
		return Result{Status: "retry", Error: res.Error}, nil
	case res.Status == record.StatusOK:
		b, err := json.Marshal(res.Value)
		return Result{Status: string(res.Status), Value: b}, err
	}
	return Result{Status: string(res.Status), Error: res.Error}, nil
}
