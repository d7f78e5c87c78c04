package faults

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// Handler injects the same faults as APIOption into the HTTP requests that
// reach next, for programs whose SDK clients the twin cannot reach (a
// function binary under aws-lambda-rie): throttling and server errors
// answered in the service's own error format, resets (the connection
// closed before an answer) and timeouts (the request takes effect, its
// answer is lost). Partial failures of batch calls are APIOption's only.
func (i *Injector) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc, op := httpOp(r)
		if svc == "" || !i.only(svc, op) {
			next.ServeHTTP(w, r)
			return
		}
		key := Key(svc, op)
		i.mu.Lock()
		i.calls[key]++
		i.mu.Unlock()
		kind := i.draw(context.Background(), key)
		switch kind {
		case "":
			next.ServeHTTP(w, r)
			return
		case Throttle, ServerError:
			i.count(key, kind)
			resp := errorResponse(svc, kind)
			for k, vs := range resp.Header {
				w.Header()[k] = vs
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			return
		case Timeout:
			i.count(key, kind)
			next.ServeHTTP(discard{}, r)
		default:
			i.count(key, Reset)
		}
		// Close the connection without an answer.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	})
}

// httpOp names the call of an HTTP request: DynamoDB and SQS (JSON
// protocol) carry it in X-Amz-Target; S3 by its method and path
// (path-style, as the twin's clients use).
func httpOp(r *http.Request) (service, operation string) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, op, _ := strings.Cut(t, ".")
		switch {
		case strings.HasPrefix(prefix, "DynamoDB_"):
			return DynamoDB, op
		case prefix == "AmazonSQS":
			return SQS, op
		}
		return "", ""
	}
	if r.URL.Query().Has("Action") || r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		return "", "" // the query protocol: not one of the SDK's current clients
	}
	object := strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
	switch {
	case object && r.Method == http.MethodGet:
		return S3, "GetObject"
	case object && r.Method == http.MethodPut && r.URL.Query().Has("partNumber"):
		return S3, "UploadPart"
	case object && r.Method == http.MethodPut:
		return S3, "PutObject"
	case object && r.Method == http.MethodHead:
		return S3, "HeadObject"
	}
	return S3, r.Method
}

// discard is a ResponseWriter that drops the answer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
