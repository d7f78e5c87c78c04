package local_test

// Helpers of the fault, crash and DLQ tests on the twin.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/naming"
)

// writeBatch writes a .jsonl batch of n ops "op_NNNN" = i*3+1 and returns
// its path.
func writeBatch(t *testing.T, name string, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"name": "op_%04d", "op": "%d * 3 + 1"}`+"\n", i, i)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// upload puts a batch file under batches/ and returns its batch id.
func upload(t *testing.T, ctx context.Context, c *workspace.Client, file string) string {
	t.Helper()
	up, err := c.Objects.UploadFile(ctx, c.Res.Bucket, naming.BatchPrefix+filepath.Base(file), file)
	if err != nil {
		t.Fatal(err)
	}
	return naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag))
}

// checkValues checks that op_i holds i*3+1 from batch id, for i < n.
func checkValues(t *testing.T, ctx context.Context, c *workspace.Client, id string, n int) {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("op_%04d", i)
	}
	got, err := c.Table.Get(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		r, ok := got[name]
		if !ok || r.Value == nil || r.Value.Num != float64(i*3+1) || r.Batch != id {
			t.Fatalf("%s = %+v (stored %v), want %d from %s", name, r, ok, i*3+1, id)
		}
	}
}

// depth returns a queue's ApproximateNumberOfMessages (the CloudWatch metric
// ApproximateNumberOfMessagesVisible that memo's DLQ alarm watches) and
// ApproximateNumberOfMessagesNotVisible.
func depth(t *testing.T, ctx context.Context, c *workspace.Client, url string) (visible, notVisible int) {
	t.Helper()
	v, nv, err := c.QueueDepth(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return v, nv
}

// eventually polls cond every 200ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v (%s)", what, timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sendRaw sends message bodies straight to a queue.
func sendRaw(t *testing.T, ctx context.Context, c *workspace.Client, url string, bodies ...string) {
	t.Helper()
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i, b := range bodies {
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
	}
	out, err := c.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil || len(out.Failed) > 0 {
		t.Fatalf("sending %d messages: %v %+v", len(bodies), err, out)
	}
}

// logTally reads the twin's and the functions' JSON logs and adds up what
// the functions report: the splitter's send calls and retries, compute's
// write calls, retries and item failures, and the warnings by message.
type logTally struct {
	mu                                                                               sync.Mutex
	buf                                                                              bytes.Buffer
	splits, sendCalls, sendRetries, computes, writeCalls, writeRetries, itemFailures int
	warnings                                                                         map[string]int
}

func (l *logTally) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // an incomplete line: keep it
			return len(p), nil
		}
		var r struct {
			Level, Msg                             string
			SendCalls, Retries, WriteCalls, Failed int
		}
		var raw map[string]any
		if json.Unmarshal(line, &raw) != nil {
			continue
		}
		num := func(k string) int { f, _ := raw[k].(float64); return int(f) }
		r.Level, _ = raw["level"].(string)
		r.Msg, _ = raw["msg"].(string)
		switch r.Msg {
		case "batch split":
			l.splits++
			l.sendCalls += num("send_calls")
			l.sendRetries += num("retries")
		case "batch computed":
			l.computes++
			l.writeCalls += num("write_calls")
			l.writeRetries += num("retries")
			l.itemFailures += num("item_failures")
		}
		if r.Level == "WARN" || r.Level == "ERROR" {
			if l.warnings == nil {
				l.warnings = map[string]int{}
			}
			l.warnings[r.Msg]++
		}
	}
}

func (l *logTally) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("splitter: %d splits, %d SendMessageBatch calls, %d retries; compute: %d invocations logged, %d PutItem calls, %d retries, %d item failures; warnings: %v",
		l.splits, l.sendCalls, l.sendRetries, l.computes, l.writeCalls, l.writeRetries, l.itemFailures, l.warnings)
}

// recorder is a compute invoker that notes every message body it is given.
type recorder struct {
	inner local.Invoker
	mu    sync.Mutex
	seen  map[string]int
}

func (r *recorder) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err == nil {
		r.mu.Lock()
		if r.seen == nil {
			r.seen = map[string]int{}
		}
		for _, m := range ev.Records {
			r.seen[m.Body]++
		}
		r.mu.Unlock()
	}
	return r.inner.Invoke(ctx, payload)
}

func (r *recorder) reset() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.seen
	r.seen = map[string]int{}
	return old
}

func (r *recorder) count(body string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[body]
}

// lines splits command output into non-empty lines.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out
}

// stubborn refuses the first `times` PutItem calls that write one result
// name, while armed, as DynamoDB refuses a throttled request
// (ProvisionedThroughputExceededException). It answers before the SDK's
// retry step, so each refusal is one of the compute service's own write
// attempts. With times at least those attempts, the first invocation that
// holds the name gives up on it and lists its message in the partial batch
// response: the twin's fault test then knows that the partial-failure path
// ran.
type stubborn struct {
	name  string
	times int

	mu    sync.Mutex
	armed bool
	seen  int
}

func (s *stubborn) arm() { s.mu.Lock(); s.armed = true; s.mu.Unlock() }

// refused reports how many writes of the name were refused.
func (s *stubborn) refused() int { s.mu.Lock(); defer s.mu.Unlock(); return min(s.seen, s.times) }

func (s *stubborn) APIOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("memo.test.Stubborn",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			p, ok := in.Parameters.(*dynamodb.PutItemInput)
			if !ok {
				return next.HandleInitialize(ctx, in)
			}
			s.mu.Lock()
			n, isS := p.Item["name"].(*dtypes.AttributeValueMemberS)
			hold := isS && s.armed && n.Value == s.name && s.seen < s.times
			if hold {
				s.seen++
			}
			s.mu.Unlock()
			if hold {
				return middleware.InitializeOutput{}, middleware.Metadata{}, &dtypes.ProvisionedThroughputExceededException{Message: aws.String("memo test: " + s.name + " held")}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// checkStored checks every op_i of batch id that has a result holds
// i*3+1, and that no more than dlq ops have none or the older batch's
// (those went to the DLQ: the newer upload's op never ran).
func checkStored(t *testing.T, ctx context.Context, c *workspace.Client, id, older string, n, dlq int) {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("op_%04d", i)
	}
	got, err := c.Table.Get(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for i, name := range names {
		r, ok := got[name]
		if !ok || r.Batch == older {
			missing++
			continue
		}
		if r.Value == nil || r.Value.Num != float64(i*3+1) || r.Batch != id {
			t.Fatalf("%s = %+v, want %d from %s", name, r, i*3+1, id)
		}
	}
	if missing > dlq {
		t.Fatalf("%d ops without a result, %d in the DLQ", missing, dlq)
	}
}
