// Package faults makes AWS SDK calls fail the way AWS makes them fail, for
// tests and for `memo local --faults RATE`. An Injector is an
// aws-sdk-go-v2 middleware: add Injector.APIOption to a config's (or a
// client's) APIOptions and a chosen fraction of the S3, SQS and DynamoDB
// calls it selects fail with
//
//   - Throttle: the service's throttling error (SQS RequestThrottled 400,
//     DynamoDB ProvisionedThroughputExceededException 400, S3 SlowDown 503);
//     the request never reaches the service;
//   - ServerError: a 5xx (SQS InternalFailure, DynamoDB InternalServerError,
//     S3 InternalError; all 500); the request never reaches the service;
//   - Reset: the connection is reset before the request is sent;
//   - Timeout: the request IS sent and applied by the service, then the
//     response is lost (the client times out): a retry duplicates it;
//   - Partial: a batch call succeeds but some of its entries fail, as AWS
//     reports it with HTTP 200 (SendMessageBatch and DeleteMessageBatch
//     entries in Failed[], BatchWriteItem items in UnprocessedItems); the
//     failed entries are removed from the request, so they are really not
//     applied.
//
// The call-level faults are produced inside the SDK's retry loop (the
// innermost deserialize middleware, between the operation's deserializer
// and the HTTP transport), as a fabricated HTTP response or a transport
// error: the SDK's own deserializers turn them into the typed errors AWS
// would cause, and its retryer sees, classifies, backs off from and retries
// them exactly as it would real ones. Partial faults are decided once per
// operation call (the initialize step, outside the retry loop: the SDK does
// not retry a 200), by editing the call's input and output.
//
// Every attempt of a selected call fails with probability Rate, the kind
// drawn uniformly from the configured kinds the call can suffer (Partial
// only for the batch calls above with two entries or more, decided once per
// call before its first attempt). Only (default DataPath) selects the calls:
// by default provisioning and status reads never fail. The random source is
// seeded: a sequential run is reproducible; with concurrent callers the
// draws interleave in scheduling order.
//
// Counter counts calls and attempts by operation, with or without faults.
package faults

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind is a kind of fault.
type Kind string

// The kinds of faults an Injector produces.
const (
	Throttle    Kind = "throttle"
	ServerError Kind = "server-error"
	Reset       Kind = "reset"
	Timeout     Kind = "timeout"
	Partial     Kind = "partial"
)

// AllKinds is the default mix.
var AllKinds = []Kind{Throttle, ServerError, Reset, Timeout, Partial}

// Service ids as the SDK names them.
const (
	S3       = "S3"
	SQS      = "SQS"
	DynamoDB = "DynamoDB"
)

// Config configures an Injector.
type Config struct {
	// Rate is the probability (0..1) that one attempt of a selected call
	// fails.
	Rate float64
	// Seed seeds the random source.
	Seed uint64
	// Kinds is the mix of faults (default AllKinds).
	Kinds []Kind
	// Only selects the calls that may fail, by service id and operation
	// name (default DataPath).
	Only func(service, operation string) bool
}

// dataPath lists the calls memo's pipeline makes per op or per batch: the
// splitter's and compute's, and those of the event plumbing (S3 delivery,
// the SQS event source mapping, DLQ redrive).
var dataPath = map[string]bool{
	"S3.GetObject": true, "S3.PutObject": true, "S3.UploadPart": true,
	"SQS.SendMessage": true, "SQS.SendMessageBatch": true, "SQS.ReceiveMessage": true,
	"SQS.DeleteMessage": true, "SQS.DeleteMessageBatch": true,
	"SQS.ChangeMessageVisibility": true, "SQS.ChangeMessageVisibilityBatch": true,
	"DynamoDB.BatchWriteItem": true, "DynamoDB.PutItem": true,
}

// DataPath selects the S3, SQS and DynamoDB calls of the pipeline's data
// path (object reads and writes, message sends, receives and deletes, result
// writes), and leaves alone the calls that provision resources or look at
// them (CreateQueue, GetQueueAttributes, Query, ...).
func DataPath(service, operation string) bool { return dataPath[Key(service, operation)] }

// Key names an operation as "Service.Operation", e.g. "SQS.SendMessageBatch".
func Key(service, operation string) string { return service + "." + operation }

// Injector injects faults. It is safe for concurrent use.
type Injector struct {
	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	kinds    map[Kind]bool
	only     func(service, operation string) bool
	attempts map[string]int64
	calls    map[string]int64
	faults   map[string]map[Kind]int64
}

// New returns an Injector.
func New(c Config) *Injector {
	if c.Only == nil {
		c.Only = DataPath
	}
	if len(c.Kinds) == 0 {
		c.Kinds = AllKinds
	}
	i := &Injector{
		rng:      rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)),
		rate:     clamp(c.Rate),
		kinds:    map[Kind]bool{},
		only:     c.Only,
		attempts: map[string]int64{},
		calls:    map[string]int64{},
		faults:   map[string]map[Kind]int64{},
	}
	for _, k := range c.Kinds {
		i.kinds[k] = true
	}
	return i
}

func clamp(r float64) float64 { return min(max(r, 0), 1) }

// SetRate changes the rate from now on (tests turn faults on and off).
func (i *Injector) SetRate(r float64) {
	i.mu.Lock()
	i.rate = clamp(r)
	i.mu.Unlock()
}

// APIOption adds the injector to a middleware stack; use it in
// aws.Config.APIOptions or a client's Options.APIOptions.
func (i *Injector) APIOption(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("memo.faults.Partial", i.partial), middleware.After); err != nil {
		return err
	}
	// Last in the deserialize step: inside the retry loop (finalize step)
	// and inside the operation's deserializer, right above the transport.
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("memo.faults.Attempt", i.attempt), middleware.After)
}

// Stats is what an Injector did.
type Stats struct {
	// Calls and Attempts count the selected operation calls and their
	// HTTP attempts (retries included), by "Service.Operation".
	Calls, Attempts map[string]int64
	// Faults counts the injected faults by operation and kind.
	Faults map[string]map[Kind]int64
}

// Stats returns a copy of the counters.
func (i *Injector) Stats() Stats {
	i.mu.Lock()
	defer i.mu.Unlock()
	s := Stats{Calls: copyMap(i.calls), Attempts: copyMap(i.attempts), Faults: map[string]map[Kind]int64{}}
	for op, m := range i.faults {
		s.Faults[op] = copyMap(m)
	}
	return s
}

// ByKind sums the faults of every operation by kind.
func (s Stats) ByKind() map[Kind]int64 {
	out := map[Kind]int64{}
	for _, m := range s.Faults {
		for k, n := range m {
			out[k] += n
		}
	}
	return out
}

// Total is the number of faults injected.
func (s Stats) Total() int64 {
	var n int64
	for _, v := range s.ByKind() {
		n += v
	}
	return n
}

// String summarises the stats on one line per operation, sorted.
func (s Stats) String() string {
	var ops []string
	for op := range s.Attempts {
		ops = append(ops, op)
	}
	for op := range s.Calls {
		if _, ok := s.Attempts[op]; !ok {
			ops = append(ops, op)
		}
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s: calls=%d attempts=%d faults=%d", op, s.Calls[op], s.Attempts[op], sumKinds(s.Faults[op]))
		var ks []string
		for k, n := range s.Faults[op] {
			ks = append(ks, fmt.Sprintf("%s=%d", k, n))
		}
		sort.Strings(ks)
		if len(ks) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(ks, " "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func sumKinds(m map[Kind]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func copyMap[K comparable](m map[K]int64) map[K]int64 {
	out := make(map[K]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// opOf returns the service id and operation name of the call under way.
func opOf(ctx context.Context) (service, operation string) {
	service, operation = awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	if service == "" {
		service = middleware.GetServiceID(ctx)
	}
	if operation == "" {
		operation = middleware.GetOperationName(ctx)
	}
	return service, operation
}

// callKinds are the faults of one attempt, in a fixed order (the draw must
// not depend on map order, for reproducibility).
var callKinds = []Kind{Throttle, ServerError, Reset, Timeout}

// splittable reports whether a call can fail per entry: a batch call
// with at least two entries (AWS fails a one-entry batch as a whole).
func splittable(params any) bool {
	switch p := params.(type) {
	case *sqs.SendMessageBatchInput:
		return len(p.Entries) >= 2
	case *sqs.DeleteMessageBatchInput:
		return len(p.Entries) >= 2
	case *dynamodb.BatchWriteItemInput:
		n := 0
		for _, reqs := range p.RequestItems {
			n += len(reqs)
		}
		return n >= 2
	}
	return false
}

// splitKey marks, in the context, a call that Partial could have hit.
type splitKey struct{}

// draw decides the fate of one attempt: "" for no fault. A call that
// could have been split has Partial as one more kind, drawn by drawSplit.
func (i *Injector) draw(ctx context.Context, key string) Kind {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.attempts[key]++
	var kinds []Kind
	for _, k := range callKinds {
		if i.kinds[k] {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return ""
	}
	rate := i.rate
	if split, _ := ctx.Value(splitKey{}).(bool); split && i.kinds[Partial] {
		rate *= float64(len(kinds)) / float64(len(kinds)+1)
	}
	if i.rng.Float64() >= rate {
		return ""
	}
	return kinds[i.rng.IntN(len(kinds))]
}

// drawSplit counts a call and decides whether its entries partly fail.
func (i *Injector) drawSplit(key string, split bool) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.calls[key]++
	if !split || !i.kinds[Partial] {
		return false
	}
	n := 1
	for _, k := range callKinds {
		if i.kinds[k] {
			n++
		}
	}
	return i.rng.Float64() < i.rate/float64(n)
}

func (i *Injector) count(key string, k Kind) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.faults[key] == nil {
		i.faults[key] = map[Kind]int64{}
	}
	i.faults[key][k]++
}

// subset picks which of n entries fail: each with probability 1/2, at least
// one and at most n-1.
func (i *Injector) subset(n int) map[int]bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	fail := map[int]bool{}
	for j := range n {
		if i.rng.IntN(2) == 0 {
			fail[j] = true
		}
	}
	switch len(fail) {
	case 0:
		fail[i.rng.IntN(n)] = true
	case n:
		delete(fail, i.rng.IntN(n))
	}
	return fail
}

// attempt is the per-attempt middleware.
func (i *Injector) attempt(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	svc, op := opOf(ctx)
	if !i.only(svc, op) {
		return next.HandleDeserialize(ctx, in)
	}
	key := Key(svc, op)
	kind := i.draw(ctx, key)
	var resp *http.Response
	switch kind {
	case "":
		return next.HandleDeserialize(ctx, in)
	case Throttle, ServerError:
		resp = errorResponse(svc, kind)
		if resp == nil {
			kind = Reset // a service whose error format is not known here
		}
	}
	i.count(key, kind)
	if resp != nil {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			resp.Request = req.Request
		}
		return middleware.DeserializeOutput{RawResponse: &smithyhttp.Response{Response: resp}}, middleware.Metadata{}, nil
	}
	u := ""
	if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil {
		u = req.URL.String()
	}
	var md middleware.Metadata
	var cause error
	if kind == Timeout {
		// The request reaches the service and takes effect; its answer
		// is lost.
		out, m, err := next.HandleDeserialize(ctx, in)
		md = m
		if r, ok := out.RawResponse.(*smithyhttp.Response); ok && r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			_ = r.Body.Close()
		}
		if err != nil && ctx.Err() != nil {
			return out, md, err // really cancelled: say so
		}
		cause = timeoutError{}
	} else {
		cause = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	// What smithy's HTTP client handler returns for a transport error.
	return middleware.DeserializeOutput{RawResponse: &smithyhttp.Response{Response: &http.Response{Header: http.Header{}, Body: http.NoBody}}},
		md, &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: u, Err: cause}}
}

// timeoutError is what net/http returns when a client times out waiting
// for the response.
type timeoutError struct{}

func (timeoutError) Error() string {
	return "net/http: timeout awaiting response headers (injected by memo faults)"
}
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// errorResponse fabricates the HTTP response a service answers with.
func errorResponse(service string, k Kind) *http.Response {
	var status int
	var code, msg, ctype, body string
	h := http.Header{}
	h.Set("X-Amzn-Requestid", "memo-faults")
	switch service {
	case SQS:
		ctype = "application/x-amz-json-1.0"
		if k == Throttle {
			status, code, msg = 400, "RequestThrottled", "Rate exceeded"
		} else {
			status, code, msg = 500, "InternalFailure", "We encountered an internal error. Please try again."
		}
		// SQS speaks JSON and keeps its query-protocol codes in a header.
		h.Set("X-Amzn-Query-Error", code+";"+map[bool]string{true: "Sender", false: "Receiver"}[status < 500])
		body = fmt.Sprintf(`{"__type":"com.amazonaws.sqs#%s","message":"%s (injected by memo faults)"}`, code, msg)
	case DynamoDB:
		ctype = "application/x-amz-json-1.0"
		if k == Throttle {
			status, code, msg = 400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded."
		} else {
			status, code, msg = 500, "InternalServerError", "Internal server error"
		}
		body = fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"%s (injected by memo faults)"}`, code, msg)
	case S3:
		ctype = "application/xml"
		if k == Throttle {
			status, code, msg = 503, "SlowDown", "Please reduce your request rate."
		} else {
			status, code, msg = 500, "InternalError", "We encountered an internal error. Please try again."
		}
		h.Set("X-Amz-Request-Id", "memo-faults")
		body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s (injected by memo faults)</Message><RequestId>memo-faults</RequestId></Error>`, code, msg)
	default:
		return nil
	}
	h.Set("Content-Type", ctype)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

// partial is the per-call middleware: it fails some entries of a batch
// call, as AWS reports them with a 200.
func (i *Injector) partial(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	svc, op := opOf(ctx)
	if !i.only(svc, op) {
		return next.HandleInitialize(ctx, in)
	}
	key := Key(svc, op)
	split := splittable(in.Parameters)
	if split {
		ctx = context.WithValue(ctx, splitKey{}, true)
	}
	if !i.drawSplit(key, split) {
		return next.HandleInitialize(ctx, in)
	}
	switch p := in.Parameters.(type) {
	case *sqs.SendMessageBatchInput:
		cp := *p
		var failed []sqstypes.BatchResultErrorEntry
		cp.Entries, failed = splitEntries(p.Entries, i.subset(len(p.Entries)), func(e sqstypes.SendMessageBatchRequestEntry) *string { return e.Id })
		i.count(key, Partial)
		in.Parameters = &cp
		out, md, err := next.HandleInitialize(ctx, in)
		if o, ok := out.Result.(*sqs.SendMessageBatchOutput); ok && err == nil {
			o.Failed = append(o.Failed, failed...)
		}
		return out, md, err
	case *sqs.DeleteMessageBatchInput:
		cp := *p
		var failed []sqstypes.BatchResultErrorEntry
		cp.Entries, failed = splitEntries(p.Entries, i.subset(len(p.Entries)), func(e sqstypes.DeleteMessageBatchRequestEntry) *string { return e.Id })
		i.count(key, Partial)
		in.Parameters = &cp
		out, md, err := next.HandleInitialize(ctx, in)
		if o, ok := out.Result.(*sqs.DeleteMessageBatchOutput); ok && err == nil {
			o.Failed = append(o.Failed, failed...)
		}
		return out, md, err
	case *dynamodb.BatchWriteItemInput:
		var total int
		var tables []string
		for t, reqs := range p.RequestItems {
			total += len(reqs)
			tables = append(tables, t)
		}
		sort.Strings(tables)
		fail := i.subset(total)
		cp := *p
		cp.RequestItems = map[string][]dtypes.WriteRequest{}
		unprocessed := map[string][]dtypes.WriteRequest{}
		j := 0
		for _, t := range tables {
			for _, r := range p.RequestItems[t] {
				if fail[j] {
					unprocessed[t] = append(unprocessed[t], r)
				} else {
					cp.RequestItems[t] = append(cp.RequestItems[t], r)
				}
				j++
			}
		}
		i.count(key, Partial)
		in.Parameters = &cp
		out, md, err := next.HandleInitialize(ctx, in)
		if o, ok := out.Result.(*dynamodb.BatchWriteItemOutput); ok && err == nil {
			if o.UnprocessedItems == nil {
				o.UnprocessedItems = map[string][]dtypes.WriteRequest{}
			}
			for t, rs := range unprocessed {
				o.UnprocessedItems[t] = append(o.UnprocessedItems[t], rs...)
			}
		}
		return out, md, err
	}
	return next.HandleInitialize(ctx, in)
}

func entryError(id *string) sqstypes.BatchResultErrorEntry {
	code, msg := "InternalError", "internal error (injected by memo faults)"
	return sqstypes.BatchResultErrorEntry{Id: id, Code: &code, Message: &msg, SenderFault: false}
}

// splitEntries keeps the entries not chosen to fail and returns an SQS
// per-entry error for each of the others.
func splitEntries[E any](entries []E, fail map[int]bool, id func(E) *string) (kept []E, failed []sqstypes.BatchResultErrorEntry) {
	for j, e := range entries {
		if fail[j] {
			failed = append(failed, entryError(id(e)))
		} else {
			kept = append(kept, e)
		}
	}
	return kept, failed
}
