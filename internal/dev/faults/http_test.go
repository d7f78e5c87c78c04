package faults

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The HTTP form of the injector answers a selected call as the service
// would (its error format), and leaves the rest to the service.
func TestHandlerAnswersSelectedCallsInTheServicesFormat(t *testing.T) {
	reached := 0
	svc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; _, _ = io.WriteString(w, "{}") })
	for _, c := range []struct {
		name, method, path, target string
		want                       int
		body                       string
	}{
		{"PutItem", http.MethodPost, "/", "DynamoDB_20120810.PutItem", 400, "ProvisionedThroughputExceededException"},
		{"GetObject", http.MethodGet, "/bucket/photos/1.jpg", "", 503, "<Code>SlowDown</Code>"},
		{"SendMessageBatch", http.MethodPost, "/", "AmazonSQS.SendMessageBatch", 400, "RequestThrottled"},
		{"CreateTable is not on the data path", http.MethodPost, "/", "DynamoDB_20120810.CreateTable", 200, "{}"},
		{"ListObjects is not on the data path", http.MethodGet, "/bucket", "", 200, "{}"},
	} {
		inj := New(Config{Rate: 1, Kinds: []Kind{Throttle}})
		srv := httptest.NewServer(inj.Handler(svc))
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader("{}"))
		if c.target != "" {
			req.Header.Set("X-Amz-Target", c.target)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != c.want || !strings.Contains(string(b), c.body) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, resp.StatusCode, b, c.want, c.body)
		}
	}
	if reached != 2 {
		t.Errorf("the service saw %d calls, want the 2 not selected", reached)
	}
}

// A reset closes the connection without an answer; a timeout lets the
// call take effect and loses its answer.
func TestHandlerResetsAndTimeouts(t *testing.T) {
	for _, k := range []Kind{Reset, Timeout} {
		reached := 0
		svc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ })
		inj := New(Config{Rate: 1, Kinds: []Kind{k}})
		srv := httptest.NewServer(inj.Handler(svc))
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
		resp, err := http.DefaultClient.Do(req)
		srv.Close()
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: answered %d, want no answer", k, resp.StatusCode)
		}
		if want := map[Kind]int{Reset: 0, Timeout: 1}[k]; reached != want {
			t.Errorf("%s: the service saw %d calls, want %d", k, reached, want)
		}
		if got := inj.Stats().ByKind()[k]; got != 1 {
			t.Errorf("%s: counted %d", k, got)
		}
	}
}
