package local

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// serialProxy sits between every client and moto and lets one request
// through at a time. moto's SQS is not thread-safe: Queue.delete_message
// rebuilds the queue's message list, so a SendMessageBatch that lands while
// a DeleteMessageBatch runs can be dropped (seen here as an op lost in a
// 2,000-op batch: the twin's pollers delete while the splitter sends).
// moto holds Python's GIL anyway, so serialising costs little.
//
// A long-polling ReceiveMessage (WaitTimeSeconds > 0) would hold the line
// for its whole wait, so the proxy turns it into short polls (every 50ms,
// each under the lock) until a message arrives or the wait is over, which
// is what the caller observes from SQS.
type serialProxy struct {
	mu     sync.Mutex
	rp     *httputil.ReverseProxy
	srv    *http.Server
	ln     net.Listener
	URL    string
	polls  time.Duration
	closed chan struct{}
	// lambda, once set, answers Lambda's Invoke API (lambdaapi.go)
	// instead of moto.
	lambda atomic.Pointer[lambdaAPI]
}

func startSerialProxy(target string) (*serialProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// A client that gives up (a cancelled context) is not the proxy's
	// error to print; it answers 502 as a gateway does.
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	p := &serialProxy{rp: rp, ln: ln, polls: 50 * time.Millisecond, closed: make(chan struct{})}
	p.URL = "http://" + ln.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *serialProxy) Close() {
	close(p.closed)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

func (p *serialProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if api := p.lambda.Load(); api != nil && isInvoke(r) {
		api.serve(w, r, body)
		return
	}
	wait, rewritten := longPoll(r, body)
	if wait <= 0 {
		p.forward(w, r, body)
		return
	}
	deadline := time.Now().Add(wait)
	for {
		rec := &recorder{header: http.Header{}}
		p.forward(rec, r, rewritten)
		if rec.code != http.StatusOK || hasMessages(rec.body.Bytes()) || time.Now().After(deadline) {
			rec.flush(w)
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-p.closed:
			rec.flush(w)
			return
		case <-time.After(p.polls):
		}
	}
}

func (p *serialProxy) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rp.ServeHTTP(w, req)
}

// longPoll recognises an SQS ReceiveMessage with WaitTimeSeconds > 0, in
// the JSON protocol (aws-sdk-go-v2, recent CLIs) or the query protocol,
// and returns the wait and the request body with the wait set to 0. The
// request is still signed over the original body, which moto does not
// check.
func longPoll(r *http.Request, body []byte) (time.Duration, []byte) {
	if r.Header.Get("X-Amz-Target") == "AmazonSQS.ReceiveMessage" {
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return 0, nil
		}
		secs, _ := m["WaitTimeSeconds"].(float64)
		if secs <= 0 {
			return 0, nil
		}
		m["WaitTimeSeconds"] = 0
		out, err := json.Marshal(m)
		if err != nil {
			return 0, nil
		}
		return time.Duration(secs) * time.Second, out
	}
	if r.Method == http.MethodPost && bytes.Contains(body, []byte("Action=ReceiveMessage")) {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return 0, nil
		}
		secs, _ := strconv.Atoi(v.Get("WaitTimeSeconds"))
		if secs <= 0 {
			return 0, nil
		}
		v.Set("WaitTimeSeconds", "0")
		return time.Duration(secs) * time.Second, []byte(v.Encode())
	}
	return 0, nil
}

func hasMessages(body []byte) bool {
	return bytes.Contains(body, []byte(`"MessageId"`)) || bytes.Contains(body, []byte("<MessageId>"))
}

// recorder buffers one response.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) { r.code = code }

func (r *recorder) flush(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(r.body.Len()))
	if r.code == 0 {
		r.code = http.StatusOK
	}
	w.WriteHeader(r.code)
	_, _ = w.Write(r.body.Bytes())
}
