package local

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/memohq/memo/internal/aws/awsconfig"
)

// serviceOf reads the service from the JSON protocols' target, else from
// the SigV4 credential scope (header or presigned query); Invoke without a
// signature is Lambda's; anything else is "".
func TestServiceOf(t *testing.T) {
	scope := func(svc string) string {
		return "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/" + svc + "/aws4_request, SignedHeaders=host, Signature=00"
	}
	for _, c := range []struct {
		name, method, target, path, auth, want string
	}{
		{"DynamoDB JSON", "POST", "DynamoDB_20120810.PutItem", "/", scope("dynamodb"), "dynamodb"},
		{"DynamoDB target decides", "POST", "DynamoDB_20120810.Query", "/", "", "dynamodb"},
		{"SQS JSON", "POST", "AmazonSQS.ReceiveMessage", "/", scope("sqs"), "sqs"},
		{"SQS query protocol (AWS CLI v1)", "POST", "", "/", scope("sqs"), "sqs"},
		{"S3 path style", "PUT", "", "/bucket/batches/a.json", scope("s3"), "s3"},
		{"S3 presigned", "GET", "", "/bucket/k?X-Amz-Credential=test%2F20261206%2Fus-east-1%2Fs3%2Faws4_request", "", "s3"},
		{"STS", "POST", "", "/", scope("sts"), "sts"},
		{"Lambda Invoke signed", "POST", "", invokePathPrefix + "f/invocations", scope("lambda"), "lambda"},
		{"Lambda Invoke unsigned", "POST", "", invokePathPrefix + "f/invocations", "", "lambda"},
		{"moto's own API", "GET", "", "/moto-api/", "", ""},
		{"a malformed scope", "POST", "", "/", "AWS4-HMAC-SHA256 Credential=test/sqs, Signature=00", ""},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.target != "" {
			r.Header.Set("X-Amz-Target", c.target)
		}
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		if got := serviceOf(r); got != c.want {
			t.Errorf("%s: serviceOf = %q, want %q", c.name, got, c.want)
		}
	}
}

// fakeEmulator answers every request with its own name and records the
// most requests it saw at once (and, in both, the most requests at once in
// all the emulators sharing both).
type fakeEmulator struct {
	name         string
	mu           sync.Mutex
	now, most, n int
	srv          *httptest.Server
	hold         time.Duration
	all          *allEmulators
}

type allEmulators struct {
	mu        sync.Mutex
	now, most int
}

func (a *allEmulators) add(d int) {
	a.mu.Lock()
	a.now += d
	a.most = max(a.most, a.now)
	a.mu.Unlock()
}

func newFakeEmulator(t *testing.T, name string, hold time.Duration, all *allEmulators) *fakeEmulator {
	e := &fakeEmulator{name: name, hold: hold, all: all}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.now++
		e.n++
		e.most = max(e.most, e.now)
		e.mu.Unlock()
		e.all.add(1)
		time.Sleep(e.hold)
		e.all.add(-1)
		e.mu.Lock()
		e.now--
		e.mu.Unlock()
		_, _ = w.Write([]byte(e.name))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// The proxy sends DynamoDB to its route and everything else to the
// default emulator; each emulator sees one request at a time, and the two
// work at the same time.
func TestProxyRoutesByServiceOneRequestAtATimeEach(t *testing.T) {
	const hold = 20 * time.Millisecond
	all := &allEmulators{}
	def, ddb := newFakeEmulator(t, "default", hold, all), newFakeEmulator(t, "ddb", hold, all)
	p, err := startProxy(def.srv.URL, route{services: ddbServices, target: ddb.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(target string) string {
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return b.String()
	}
	const each = 10
	var wg sync.WaitGroup
	got := make([]string, 2*each)
	for i := range each {
		wg.Go(func() { got[i] = send("DynamoDB_20120810.PutItem") })
		wg.Go(func() { got[each+i] = send("AmazonSQS.SendMessage") })
	}
	wg.Wait()
	for i, g := range got {
		want := "ddb"
		if i >= each {
			want = "default"
		}
		if g != want {
			t.Errorf("request %d answered by %q, want %q", i, g, want)
		}
	}
	if def.most != 1 || ddb.most != 1 {
		t.Errorf("requests at once: default %d, ddb %d; want 1 each", def.most, ddb.most)
	}
	if def.n != each || ddb.n != each {
		t.Errorf("requests seen: default %d, ddb %d; want %d each", def.n, ddb.n, each)
	}
	if all.most != 2 {
		t.Errorf("at most %d requests at once in the two emulators, want 2 (one each, at the same time)", all.most)
	}
}

// A service's filter sees its requests first and may answer them; the
// others reach the emulator.
func TestProxyFilter(t *testing.T) {
	def := newFakeEmulator(t, "default", 0, &allEmulators{})
	p, err := startProxy(def.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.setFilter("sqs", func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if r.Header.Get("X-Amz-Target") != "AmazonSQS.ReceiveMessage" {
			return false
		}
		_, _ = w.Write([]byte("filtered"))
		return true
	})
	for target, want := range map[string]string{
		"AmazonSQS.ReceiveMessage":  "filtered",
		"AmazonSQS.SendMessage":     "default",
		"DynamoDB_20120810.GetItem": "default",
	} {
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if b.String() != want {
			t.Errorf("%s answered %q, want %q", target, b.String(), want)
		}
	}
}

// The twin that starts moto runs two: DynamoDB's resources are in the
// second, S3's and SQS's in the first, and the twin's endpoint reaches
// both.
func TestTwinRunsDynamoDBInASecondMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip("moto_server not on PATH; integration test skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	twin, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer twin.Stop()
	if len(twin.motos) != 2 {
		t.Fatalf("%d moto processes, want 2", len(twin.motos))
	}
	tables := func(endpoint string) []string {
		cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: endpoint, Region: awsconfig.DefaultRegion, StaticCredentials: true})
		if err != nil {
			t.Fatal(err)
		}
		out, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out.TableNames
	}
	queues := func(endpoint string) []string {
		cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: endpoint, Region: awsconfig.DefaultRegion, StaticCredentials: true})
		if err != nil {
			t.Fatal(err)
		}
		out, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out.QueueUrls
	}
	if got := tables(twin.motos[1].URL); !slices.Equal(slices.Sorted(slices.Values(got)), []string{twin.BatchesTable, twin.Table}) {
		t.Errorf("second moto's tables: %v, want [%s %s]", got, twin.BatchesTable, twin.Table)
	}
	if got := tables(twin.motos[0].URL); len(got) != 0 {
		t.Errorf("first moto's tables: %v, want none", got)
	}
	if got := queues(twin.motos[1].URL); len(got) != 0 {
		t.Errorf("second moto's queues: %v, want none", got)
	}
	if got := tables(twin.Endpoint()); len(got) != 2 {
		t.Errorf("tables through the twin's endpoint: %v", got)
	}
	if got := queues(twin.Endpoint()); len(got) < 6 {
		t.Errorf("queues through the twin's endpoint: %v", got)
	}
	// Both report the same account, so the ARNs the twin builds agree.
	for _, m := range twin.motos {
		cfg, _ := awsconfig.Load(ctx, awsconfig.Options{Endpoint: m.URL, Region: awsconfig.DefaultRegion, StaticCredentials: true})
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(id.Account) != twin.Account {
			t.Errorf("moto at %s: account %s, want %s", m.URL, aws.ToString(id.Account), twin.Account)
		}
	}
}

// A long poll waits without polling moto again until a send to its queue
// (or its fallback interval): a send to another queue does not wake it;
// a send to its own does, and it returns the message at once.
func TestProxyLongPollWakesOnSend(t *testing.T) {
	var mu sync.Mutex
	receives, sent := 0, false
	emu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		switch r.Header.Get("X-Amz-Target") {
		case "AmazonSQS.ReceiveMessage":
			receives++
			if sent {
				_, _ = w.Write([]byte(`{"Messages":[{"MessageId":"m1","Body":"x"}]}`))
				return
			}
			_, _ = w.Write([]byte(`{}`))
		case "AmazonSQS.SendMessage":
			sent = sent || strings.Contains(string(body), "/q1")
			_, _ = w.Write([]byte(`{"MessageId":"m1"}`))
		}
	}))
	defer emu.Close()
	p, err := startProxy(emu.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.polls = time.Minute // only an arrival wakes a waiting poll
	call := func(target, body string) (string, error) {
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	got := make(chan string, 1)
	go func() {
		out, err := call("AmazonSQS.ReceiveMessage", `{"QueueUrl":"http://h/123456789012/q1","WaitTimeSeconds":20}`)
		if err != nil {
			out = err.Error()
		}
		got <- out
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := call("AmazonSQS.SendMessage", `{"QueueUrl":"http://h/123456789012/q2","MessageBody":"x"}`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	before := receives
	mu.Unlock()
	if before != 1 {
		t.Errorf("%d receives before a send to the poll's queue, want 1 (no re-poll while nothing arrives)", before)
	}
	start := time.Now()
	if _, err := call("AmazonSQS.SendMessage", `{"QueueUrl":"http://h/123456789012/q1","MessageBody":"x"}`); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-got:
		if !strings.Contains(out, `"MessageId":"m1"`) {
			t.Errorf("long poll answered %s", out)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("long poll returned %v after the send", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the send to its queue did not wake the long poll")
	}
}

func TestQueueNameAndArrivals(t *testing.T) {
	json := httptest.NewRequest(http.MethodPost, "/", nil)
	json.Header.Set("X-Amz-Target", "AmazonSQS.SendMessageBatch")
	query := httptest.NewRequest(http.MethodPost, "/", nil)
	for _, c := range []struct {
		name    string
		r       *http.Request
		service string
		body    string
		queue   string
		ok      bool
	}{
		{"JSON send batch", json, "sqs", `{"QueueUrl":"http://127.0.0.1:1/123456789012/memo-local-ops","Entries":[]}`, "memo-local-ops", true},
		{"query send", query, "sqs", "Action=SendMessage&QueueUrl=http%3A%2F%2Fh%2F1%2Fq&MessageBody=x", "q", true},
		{"query change visibility", query, "sqs", "Action=ChangeMessageVisibility&QueueUrl=http%3A%2F%2Fh%2F1%2Fq", "q", true},
		{"query delete", query, "sqs", "Action=DeleteMessage&QueueUrl=http%3A%2F%2Fh%2F1%2Fq", "", false},
		{"S3 put: any queue", httptest.NewRequest(http.MethodPut, "/b/k", nil), "s3", "", "", true},
		{"S3 get", httptest.NewRequest(http.MethodGet, "/b/k", nil), "s3", "", "", false},
		{"DynamoDB", json, "dynamodb", `{}`, "", false},
	} {
		q, ok := mayMakeAvailable(c.service, c.r, []byte(c.body))
		if q != c.queue || ok != c.ok {
			t.Errorf("%s: mayMakeAvailable = %q, %v; want %q, %v", c.name, q, ok, c.queue, c.ok)
		}
	}
}

// moto's own reset (POST /moto-api/reset) through the twin's endpoint
// clears every emulator behind it.
func TestProxyResetReachesEveryEmulator(t *testing.T) {
	all := &allEmulators{}
	def, ddb := newFakeEmulator(t, "default", 0, all), newFakeEmulator(t, "ddb", 0, all)
	p, err := startProxy(def.srv.URL, route{services: ddbServices, target: ddb.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	resp, err := http.Post(p.URL+"/moto-api/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if def.n != 1 || ddb.n != 1 {
		t.Errorf("resets seen: default %d, ddb %d; want 1 each", def.n, ddb.n)
	}
}
