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
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// proxy is the twin's one endpoint: every client, the AWS CLI included,
// reaches the emulators through it. It routes each request by its AWS
// service (serviceOf) to the emulator process that holds that service, and
// lets one request at a time through to each process. moto's SQS is not
// thread-safe: Queue.delete_message rebuilds the queue's message list, so a
// SendMessageBatch that lands while a DeleteMessageBatch runs can be
// dropped (seen here as an op lost in a 2,000-op batch: the twin's pollers
// delete while the splitter sends). moto holds Python's GIL anyway, so
// serialising one process costs little; a second process, on the other
// core, is what buys time. S3 stays with SQS: moto delivers S3's
// notifications to SQS inside its own process. DynamoDB takes part in
// neither and may live in a process of its own (its requests are
// serialised there too: moto's conditional PutItem checks, then writes).
//
// A long-polling ReceiveMessage (WaitTimeSeconds > 0) would hold its
// process's line for its whole wait, so the proxy turns it into short polls
// (each under the lock) until a message arrives or the wait is over, which
// is what the caller observes from SQS: "long polling ... returns messages
// as soon as they become available" ("Amazon SQS short and long polling",
// Amazon SQS Developer Guide). A waiting poll polls again at once when a
// request that can make a message of its queue available has passed (a
// send, a change of visibility, an S3 write: moto delivers notifications),
// and otherwise every polls (messages also return by time: visibility
// timeouts and delays end), so that idle pollers do not keep moto busy.
//
// Between reading a request and forwarding it, a service may have a filter
// (filters): it sees the request first and may answer it itself. Lambda's
// Invoke API is one (the twin answers it, lambdaapi.go).
type proxy struct {
	// backends[0] takes every service not routed elsewhere.
	backends  []*backend
	byService map[string]*backend
	srv       *http.Server
	ln        net.Listener
	URL       string
	polls     time.Duration
	closed    chan struct{}
	// filters, once set, maps a service (as serviceOf names it) to the
	// filter of its requests.
	filters atomic.Pointer[map[string]requestFilter]
}

// requestFilter sees a request to its service before the emulator does;
// it returns true when it has answered the request itself.
type requestFilter func(w http.ResponseWriter, r *http.Request, body []byte) bool

// backend is one emulator process: its requests pass one at a time.
type backend struct {
	mu sync.Mutex
	rp *httputil.ReverseProxy
	// url is the emulator's.
	url string
	// arrivals maps a queue's name to a channel closed when a message of
	// that queue may have become available ("" for a queue not named).
	arrivalsMu sync.Mutex
	arrivals   map[string]chan struct{}
}

// arrival returns the channel closed at queue's next possible arrival.
func (b *backend) arrival(queue string) <-chan struct{} {
	b.arrivalsMu.Lock()
	defer b.arrivalsMu.Unlock()
	if b.arrivals == nil {
		b.arrivals = map[string]chan struct{}{}
	}
	ch, ok := b.arrivals[queue]
	if !ok {
		ch = make(chan struct{})
		b.arrivals[queue] = ch
	}
	return ch
}

// arrived wakes the polls waiting on queue, and those on a queue not
// named; "" wakes every poll.
func (b *backend) arrived(queue string) {
	b.arrivalsMu.Lock()
	defer b.arrivalsMu.Unlock()
	for q, ch := range b.arrivals {
		if queue == "" || q == queue || q == "" {
			close(ch)
			delete(b.arrivals, q)
		}
	}
}

// route sends a service's requests to an emulator other than the default.
type route struct {
	services []string
	target   string
}

// startProxy serves a proxy in front of target (every service not in
// routes) and of each route's target.
func startProxy(target string, routes ...route) (*proxy, error) {
	p := &proxy{byService: map[string]*backend{}, polls: 250 * time.Millisecond, closed: make(chan struct{})}
	def, err := newBackend(target)
	if err != nil {
		return nil, err
	}
	p.backends = append(p.backends, def)
	for _, rt := range routes {
		b, err := newBackend(rt.target)
		if err != nil {
			return nil, err
		}
		p.backends = append(p.backends, b)
		for _, s := range rt.services {
			p.byService[s] = b
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.ln = ln
	p.URL = "http://" + ln.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func newBackend(target string) (*backend, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// A client that gives up (a cancelled context) is not the proxy's
	// error to print; it answers 502 as a gateway does.
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	// The default transport keeps 2 idle connections a host: with several
	// clients at once the rest would open (and leave in TIME_WAIT) a
	// connection per request.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	rp.Transport = tr
	return &backend{rp: rp, url: target}, nil
}

// setFilter installs f as the filter of service's requests.
func (p *proxy) setFilter(service string, f requestFilter) {
	for {
		old := p.filters.Load()
		m := map[string]requestFilter{service: f}
		if old != nil {
			for k, v := range *old {
				if k != service {
					m[k] = v
				}
			}
		}
		if p.filters.CompareAndSwap(old, &m) {
			return
		}
	}
}

func (p *proxy) Close() {
	close(p.closed)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

// backendOf is the emulator that holds service.
func (p *proxy) backendOf(service string) *backend {
	if b, ok := p.byService[service]; ok {
		return b
	}
	return p.backends[0]
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/moto-api/reset") {
		// moto's own API: a reset clears every emulator.
		for _, b := range p.backends[1:] {
			b.forward(&recorder{header: http.Header{}}, r, body)
		}
		p.backends[0].forward(w, r, body)
		return
	}
	service := serviceOf(r)
	if fs := p.filters.Load(); fs != nil {
		if f := (*fs)[service]; f != nil && f(w, r, body) {
			return
		}
	}
	b := p.backendOf(service)
	wait, rewritten := longPoll(r, body)
	if wait <= 0 {
		b.forward(w, r, body)
		if queue, ok := mayMakeAvailable(service, r, body); ok {
			b.arrived(queue)
		}
		return
	}
	queue := queueName(r, body)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		arrival := b.arrival(queue) // before the poll: no arrival is missed
		rec := &recorder{header: http.Header{}}
		b.forward(rec, r, rewritten)
		if rec.code != http.StatusOK || hasMessages(rec.body.Bytes()) {
			rec.flush(w)
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-p.closed:
			rec.flush(w)
			return
		case <-deadline.C:
			rec.flush(w)
			return
		case <-arrival:
		case <-time.After(p.polls):
		}
	}
}

// mayMakeAvailable reports whether a request (answered) can have made a
// message available, and in which queue ("": any).
func mayMakeAvailable(service string, r *http.Request, body []byte) (queue string, ok bool) {
	switch service {
	case "s3":
		// An S3 write may send a notification to any queue.
		return "", r.Method == http.MethodPut || r.Method == http.MethodPost
	case "sqs":
		action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
		if action == "" {
			if v, err := url.ParseQuery(string(body)); err == nil {
				action = v.Get("Action")
			}
		}
		switch action {
		case "SendMessage", "SendMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch":
			return queueName(r, body), true
		}
	}
	return "", false
}

// queueName is the name of the queue an SQS request names (its QueueUrl's
// last segment), or "".
func queueName(r *http.Request, body []byte) string {
	var u string
	if r.Header.Get("X-Amz-Target") != "" {
		var m struct{ QueueUrl string }
		if json.Unmarshal(body, &m) == nil {
			u = m.QueueUrl
		}
	} else if v, err := url.ParseQuery(string(body)); err == nil {
		u = v.Get("QueueUrl")
	}
	if u == "" {
		return ""
	}
	return u[strings.LastIndex(u, "/")+1:]
}

func (b *backend) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rp.ServeHTTP(w, req)
}

// serviceOf names the AWS service a request is for, as the signing name of
// its SigV4 credential scope (Credential=KEY/DATE/REGION/SERVICE/
// aws4_request, in the Authorization header or, presigned, the
// X-Amz-Credential parameter: "Authenticating Requests (AWS Signature
// Version 4)", Amazon S3 API Reference) says it: "s3", "sqs", "dynamodb",
// "sts", "lambda". The JSON protocols' X-Amz-Target decides first. An
// unsigned request is "".
func serviceOf(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		switch {
		case strings.HasPrefix(t, "DynamoDB_"):
			return "dynamodb"
		case strings.HasPrefix(t, "DynamoDBStreams_"):
			return "dynamodbstreams"
		case strings.HasPrefix(t, "AmazonSQS."):
			return "sqs"
		}
	}
	cred := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		if _, after, ok := strings.Cut(auth, "Credential="); ok {
			cred, _, _ = strings.Cut(after, ",")
		}
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) == 5 && parts[4] == "aws4_request" {
		return parts[3]
	}
	if isInvoke(r) {
		return "lambda"
	}
	return ""
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
