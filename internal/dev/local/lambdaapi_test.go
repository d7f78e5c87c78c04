package local

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The twin's Invoke API: Event is queued and answered 202, DryRun 204; a
// name, a full ARN or a partial one reach the splitter; another function,
// region, account or version is ResourceNotFoundException (404);
// RequestResponse is refused, saying that the twin does not emulate it.
func TestLambdaInvokeAPI(t *testing.T) {
	var queued []string
	api := &lambdaAPI{region: "us-east-1", account: "123456789012", functions: map[string]func(context.Context, []byte) error{
		"memo-local-splitter": func(_ context.Context, p []byte) error { queued = append(queued, string(p)); return nil },
	}}
	for _, c := range []struct {
		path, typ, body string
		code            int
		errType         string
	}{
		{"memo-local-splitter", "Event", `{"a":1}`, 202, ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:memo-local-splitter", "Event", `{"a":2}`, 202, ""},
		{"123456789012:function:memo-local-splitter:$LATEST", "Event", `{"a":3}`, 202, ""},
		{"memo-local-splitter", "DryRun", `{}`, 204, ""},
		{"memo-local-compute", "Event", `{}`, 404, "ResourceNotFoundException"},
		{"arn:aws:lambda:eu-west-1:123456789012:function:memo-local-splitter", "Event", `{}`, 404, "ResourceNotFoundException"},
		{"999999999999:function:memo-local-splitter", "Event", `{}`, 404, "ResourceNotFoundException"},
		{"memo-local-splitter:3", "Event", `{}`, 404, "ResourceNotFoundException"},
		{"memo-local-splitter", "Event", `not json`, 400, "InvalidRequestContentException"},
		{"memo-local-splitter", "", `{}`, 400, "InvalidParameterValueException"},
	} {
		r := httptest.NewRequest(http.MethodPost, invokePathPrefix+strings.ReplaceAll(c.path, ":", "%3A")+"/invocations", nil)
		if !isInvoke(r) {
			t.Fatalf("%s: not taken for an Invoke request", r.URL.Path)
		}
		if c.typ != "" {
			r.Header.Set("X-Amz-Invocation-Type", c.typ)
		}
		w := httptest.NewRecorder()
		api.serve(w, r, []byte(c.body))
		if w.Code != c.code || w.Header().Get("X-Amzn-ErrorType") != c.errType {
			t.Errorf("%s %s: %d %q %s, want %d %q", c.typ, c.path, w.Code, w.Header().Get("X-Amzn-ErrorType"), w.Body, c.code, c.errType)
		}
	}
	if strings.Join(queued, " ") != `{"a":1} {"a":2} {"a":3}` {
		t.Fatalf("queued %q", queued)
	}
	if isInvoke(httptest.NewRequest(http.MethodPost, "/", nil)) || isInvoke(httptest.NewRequest(http.MethodGet, invokePathPrefix+"f/invocations", nil)) {
		t.Fatal("an SQS request or a GET taken for an Invoke")
	}
}
