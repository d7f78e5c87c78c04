package faults_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/dev/faults"
)

// fakeAWS answers the few calls the tests make, in each service's wire
// protocol, and records what reached it.
type fakeAWS struct {
	mu       sync.Mutex
	sent     []string // SQS message bodies
	deleted  int      // SQS receipt handles deleted
	written  []string // DynamoDB item names
	requests map[string]int
	objects  map[string]string
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	target := r.Header.Get("X-Amz-Target")
	op := target
	if op == "" {
		op = "S3." + r.Method
	}
	f.requests[op]++
	switch target {
	case "AmazonSQS.SendMessageBatch":
		var in struct {
			Entries []struct{ Id, MessageBody string }
		}
		_ = json.Unmarshal(body, &in)
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		var out struct {
			Successful []ok
			Failed     []any
		}
		out.Failed = []any{}
		for _, e := range in.Entries {
			sum := md5.Sum([]byte(e.MessageBody))
			f.sent = append(f.sent, e.MessageBody)
			out.Successful = append(out.Successful, ok{e.Id, "m" + strconv.Itoa(len(f.sent)), hex.EncodeToString(sum[:])})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_ = json.NewEncoder(w).Encode(out)
	case "AmazonSQS.DeleteMessageBatch":
		var in struct{ Entries []struct{ Id string } }
		_ = json.Unmarshal(body, &in)
		type ok struct{ Id string }
		out := struct {
			Successful []ok
			Failed     []any
		}{Failed: []any{}}
		for _, e := range in.Entries {
			f.deleted++
			out.Successful = append(out.Successful, ok{e.Id})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_ = json.NewEncoder(w).Encode(out)
	case "AmazonSQS.GetQueueAttributes":
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"Attributes":{}}`))
	case "DynamoDB_20120810.BatchWriteItem":
		var in struct {
			RequestItems map[string][]struct {
				PutRequest struct {
					Item map[string]map[string]string
				}
			}
		}
		_ = json.Unmarshal(body, &in)
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				f.written = append(f.written, r.PutRequest.Item["name"]["S"])
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"UnprocessedItems":{}}`))
	case "":
		switch r.Method {
		case http.MethodPut:
			f.objects[r.URL.Path] = string(body)
			w.Header().Set("ETag", `"abc"`)
		case http.MethodGet:
			b, ok := f.objects[r.URL.Path]
			if !ok {
				w.WriteHeader(404)
				_, _ = w.Write([]byte(`<Error><Code>NoSuchKey</Code><Message>no</Message></Error>`))
				return
			}
			_, _ = w.Write([]byte(b))
		}
	default:
		http.Error(w, "unexpected "+target, 400)
	}
}

type env struct {
	fake    *fakeAWS
	sqs     *sqs.Client
	ddb     *dynamodb.Client
	s3      *s3.Client
	counter *faults.Counter
}

// newEnv returns clients of the fake, with the SDK's standard retryer (3
// attempts) and backoff shortened to keep the tests fast.
func newEnv(t *testing.T, inj *faults.Injector) *env {
	t.Helper()
	f := &fakeAWS{requests: map[string]int{}, objects: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := faults.NewCounter()
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond })
		},
		APIOptions: []func(*middleware.Stack) error{c.APIOption},
	}
	if inj != nil {
		cfg.APIOptions = append(cfg.APIOptions, inj.APIOption)
	}
	return &env{
		fake: f, counter: c,
		sqs: sqs.NewFromConfig(cfg),
		ddb: dynamodb.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
	}
}

func (e *env) sendBatch(ctx context.Context, n int) (*sqs.SendMessageBatchOutput, error) {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, n)
	for i := range entries {
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String("body-" + strconv.Itoa(i))}
	}
	return e.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String("http://q/1/ops"), Entries: entries})
}

func (e *env) writeBatch(ctx context.Context, n int) (*dynamodb.BatchWriteItemOutput, error) {
	reqs := make([]dtypes.WriteRequest, n)
	for i := range reqs {
		reqs[i] = dtypes.WriteRequest{PutRequest: &dtypes.PutRequest{Item: map[string]dtypes.AttributeValue{
			"name": &dtypes.AttributeValueMemberS{Value: "op" + strconv.Itoa(i)},
		}}}
	}
	return e.ddb.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]dtypes.WriteRequest{"results": reqs}})
}

// Each call-level fault, on every attempt: the SDK's retryer sees it as it
// would see AWS's, retries it (3 attempts), and gives up with AWS's error.
func TestCallFaultsAsAWSAnswers(t *testing.T) {
	ctx := context.Background()
	type check func(t *testing.T, err error)
	apiErr := func(code string, status int, typed func(error) bool) check {
		return func(t *testing.T, err error) {
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != code {
				t.Fatalf("error %v, want API error %s", err, code)
			}
			var st interface{ HTTPStatusCode() int }
			if !errors.As(err, &st) || st.HTTPStatusCode() != status {
				t.Fatalf("error %v: want HTTP status %d", err, status)
			}
			if typed != nil && !typed(err) {
				t.Fatalf("error %T %v is not the SDK's modeled type", err, err)
			}
		}
	}
	connErr := func(want string) check {
		return func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
		}
	}
	cases := []struct {
		kind faults.Kind
		call func(e *env) error
		// reached: attempts that reached the service (the fake).
		reached int
		check   check
	}{
		{faults.Throttle, func(e *env) error { _, err := e.sendBatch(ctx, 3); return err }, 0,
			apiErr("RequestThrottled", 400, func(err error) bool { var x *sqstypes.RequestThrottled; return errors.As(err, &x) })},
		{faults.ServerError, func(e *env) error { _, err := e.sendBatch(ctx, 3); return err }, 0, apiErr("InternalFailure", 500, nil)},
		{faults.Throttle, func(e *env) error { _, err := e.writeBatch(ctx, 3); return err }, 0,
			apiErr("ProvisionedThroughputExceededException", 400, func(err error) bool {
				var x *dtypes.ProvisionedThroughputExceededException
				return errors.As(err, &x)
			})},
		{faults.ServerError, func(e *env) error { _, err := e.writeBatch(ctx, 3); return err }, 0,
			apiErr("InternalServerError", 500, func(err error) bool { var x *dtypes.InternalServerError; return errors.As(err, &x) })},
		{faults.Throttle, func(e *env) error {
			_, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
			return err
		}, 0, apiErr("SlowDown", 503, nil)},
		{faults.ServerError, func(e *env) error {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		}, 0, apiErr("InternalError", 500, nil)},
		{faults.Reset, func(e *env) error { _, err := e.sendBatch(ctx, 3); return err }, 0, connErr("connection reset by peer")},
		// A timeout loses the answer of a request that was applied: all
		// three attempts reached the service.
		{faults.Timeout, func(e *env) error { _, err := e.sendBatch(ctx, 3); return err }, 3, connErr("timeout awaiting response headers")},
		{faults.Timeout, func(e *env) error { _, err := e.writeBatch(ctx, 3); return err }, 3, connErr("timeout awaiting response headers")},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			inj := faults.New(faults.Config{Rate: 1, Kinds: []faults.Kind{c.kind}})
			e := newEnv(t, inj)
			err := c.call(e)
			if err == nil {
				t.Fatal("the call succeeded; every attempt should have failed")
			}
			if !strings.Contains(err.Error(), "retry quota exceeded") && !strings.Contains(err.Error(), "exceeded maximum number of attempts, 3") {
				t.Fatalf("the SDK did not retry the fault to its limit: %v", err)
			}
			c.check(t, err)
			calls, attempts := e.counter.Totals()
			if calls != 1 || attempts != 3 {
				t.Fatalf("calls=%d attempts=%d, want 1 call of 3 attempts (the retryer sees the faults)", calls, attempts)
			}
			st := inj.Stats()
			if st.Total() != 3 || st.ByKind()[c.kind] != 3 {
				t.Fatalf("injected %v, want 3 %s", st.ByKind(), c.kind)
			}
			e.fake.mu.Lock()
			reached := 0
			for _, n := range e.fake.requests {
				reached += n
			}
			e.fake.mu.Unlock()
			if reached != c.reached {
				t.Fatalf("%d attempts reached the service, want %d", reached, c.reached)
			}
		})
	}
}

// A partial SendMessageBatch: the call succeeds, some entries are in
// Failed[] (retryable, not the sender's fault), and exactly the others
// reached the queue.
func TestPartialSendMessageBatch(t *testing.T) {
	inj := faults.New(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.Partial}, Seed: 7})
	e := newEnv(t, inj)
	for range 20 {
		e.fake.sent = nil
		out, err := e.sendBatch(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Failed) == 0 || len(out.Successful) == 0 || len(out.Failed)+len(out.Successful) != 10 {
			t.Fatalf("successful=%d failed=%d, want a split of 10", len(out.Successful), len(out.Failed))
		}
		ids := map[string]bool{}
		for _, f := range out.Failed {
			if f.SenderFault || aws.ToString(f.Code) == "" {
				t.Fatalf("failed entry %+v: want a server-side code", f)
			}
			ids[aws.ToString(f.Id)] = true
		}
		var sent []string
		for _, s := range out.Successful {
			if ids[aws.ToString(s.Id)] {
				t.Fatalf("entry %s both failed and successful", aws.ToString(s.Id))
			}
			sent = append(sent, "body-"+aws.ToString(s.Id))
		}
		if diff := cmp.Diff(e.fake.sent, sent); diff != "" {
			t.Fatalf("the output's successes differ from what the queue got (-queue +output):\n%s", diff)
		}
	}
	// A single entry is never split (AWS would answer with a call error).
	out, err := e.sendBatch(context.Background(), 1)
	if err != nil || len(out.Failed) != 0 {
		t.Fatalf("one entry: %v %+v", err, out)
	}
}

func TestPartialDeleteMessageBatch(t *testing.T) {
	inj := faults.New(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.Partial}})
	e := newEnv(t, inj)
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, 10)
	for i := range entries {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String("h")}
	}
	out, err := e.sqs.DeleteMessageBatch(context.Background(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String("http://q/1/ops"), Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Failed) == 0 || len(out.Failed)+len(out.Successful) != 10 || e.fake.deleted != len(out.Successful) {
		t.Fatalf("failed=%d successful=%d deleted=%d", len(out.Failed), len(out.Successful), e.fake.deleted)
	}
	if len(entries) != 10 {
		t.Fatal("the caller's input was modified")
	}
}

// A partial BatchWriteItem: 200 with UnprocessedItems, which were not
// written; the caller's input is left as it was.
func TestPartialBatchWriteItem(t *testing.T) {
	inj := faults.New(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.Partial}, Seed: 3})
	e := newEnv(t, inj)
	out, err := e.writeBatch(context.Background(), 25)
	if err != nil {
		t.Fatal(err)
	}
	un := out.UnprocessedItems["results"]
	if len(un) == 0 || len(un) == 25 {
		t.Fatalf("%d unprocessed of 25, want some", len(un))
	}
	if len(e.fake.written)+len(un) != 25 {
		t.Fatalf("written %d + unprocessed %d != 25", len(e.fake.written), len(un))
	}
	written := map[string]bool{}
	for _, n := range e.fake.written {
		written[n] = true
	}
	for _, r := range un {
		n := r.PutRequest.Item["name"].(*dtypes.AttributeValueMemberS).Value
		if written[n] {
			t.Fatalf("%s is unprocessed but was written", n)
		}
	}
	if st := inj.Stats(); st.Faults["DynamoDB.BatchWriteItem"][faults.Partial] != 1 {
		t.Fatalf("stats %v", st)
	}
}

// At 10%, about a tenth of the attempts fail, the SDK's retries absorb
// almost all of them, and the same seed makes the same faults.
func TestRateAndSeed(t *testing.T) {
	run := func(seed uint64) (faults.Stats, int, *env) {
		inj := faults.New(faults.Config{Rate: 0.1, Seed: seed})
		e := newEnv(t, inj)
		failed := 0
		for i := range 1000 {
			var err error
			if i%2 == 0 {
				_, err = e.sendBatch(context.Background(), 10)
			} else {
				_, err = e.writeBatch(context.Background(), 25)
			}
			if err != nil {
				failed++
			}
		}
		return inj.Stats(), failed, e
	}
	st, failed, e := run(42)
	var attempts int64
	for _, n := range st.Attempts {
		attempts += n
	}
	frac := float64(st.Total()) / float64(attempts)
	t.Logf("rate 0.1: %d attempts for 1000 calls, %d faults (%.3f) %v; %d calls failed after the SDK's retries\n%s",
		attempts, st.Total(), frac, st.ByKind(), failed, st)
	if frac < 0.07 || frac > 0.13 {
		t.Fatalf("fault fraction %.3f, want about 0.1", frac)
	}
	for _, k := range faults.AllKinds {
		if st.ByKind()[k] == 0 {
			t.Fatalf("no %s fault in %d attempts", k, attempts)
		}
	}
	if failed > 5 {
		t.Fatalf("%d calls failed after 3 attempts; at 10%% about 1 in 1000 should", failed)
	}
	if _, a := e.counter.Totals(); a != attempts {
		t.Fatalf("the counter saw %d attempts, the injector %d", a, attempts)
	}
	again, _, _ := run(42)
	if again.String() != st.String() {
		t.Fatalf("the same seed gave other faults:\n%s\nvs\n%s", st, again)
	}
	other, _, _ := run(43)
	if other.String() == st.String() {
		t.Fatal("another seed gave the same faults")
	}
}

// By default only the data path fails: provisioning and status reads never.
func TestDataPathOnly(t *testing.T) {
	inj := faults.New(faults.Config{Rate: 1})
	e := newEnv(t, inj)
	if _, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String("http://q/1/ops")}); err != nil {
		t.Fatalf("GetQueueAttributes is not on the data path: %v", err)
	}
	if _, err := e.sendBatch(context.Background(), 1); err == nil {
		t.Fatal("SendMessageBatch at rate 1 succeeded")
	}
	if got := e.counter.Calls(); got["SQS.GetQueueAttributes"] != 1 || got["SQS.SendMessageBatch"] != 1 {
		t.Fatalf("counter %v", got)
	}
	inj.SetRate(0)
	if _, err := e.sendBatch(context.Background(), 2); err != nil {
		t.Fatalf("rate 0: %v", err)
	}
}
