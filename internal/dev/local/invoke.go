package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
)

// Invoker invokes one function with a JSON payload and returns its JSON
// response. A function error (the handler returned an error, or panicked)
// is a *FunctionError.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// FunctionError is the error a function returned, as Lambda reports it.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return "function error: " + e.Type + ": " + e.Message }

// TimeoutErrorType is the error type of an invocation that outlived the
// function's timeout (Lambda reports "Sandbox.Timedout").
const TimeoutErrorType = "Sandbox.Timedout"

// InProcess invokes a handler linked into this program, through the same
// aws-lambda-go adapter lambda.Start uses (JSON in, JSON out).
type InProcess struct {
	h lambda.Handler
}

// NewInProcess wraps a handler function such as (*splitter.Service).Handle.
func NewInProcess(handler any) *InProcess {
	return &InProcess{h: lambda.NewHandler(handler)}
}

// Invoke implements Invoker.
func (p *InProcess) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &FunctionError{Type: "Runtime.Panic", Message: fmt.Sprint(r)}
		}
	}()
	out, err = p.h.Invoke(ctx, payload)
	if err != nil {
		return nil, &FunctionError{Type: fmt.Sprintf("%T", err), Message: err.Error()}
	}
	return out, nil
}

// RIE invokes a function binary running under aws-lambda-rie, over the
// emulator's invoke API.
type RIE struct {
	URL    string // e.g. http://127.0.0.1:9000
	Client *http.Client
}

// Invoke implements Invoker.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	c := r.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: %s: %s", r.URL, resp.Status, body)
	}
	// A timed-out invocation is answered 200 with a bare text, not an
	// error document: aws-lambda-rie writes "Task timed out after N.00
	// seconds" (and resets the runtime itself).
	if bytes.HasPrefix(body, []byte("Task timed out after ")) {
		return nil, &FunctionError{Type: TimeoutErrorType, Message: string(body)}
	}
	// The emulator answers 200 with an error document when the handler
	// fails (and sets X-Amz-Function-Error, as Lambda's Invoke API does).
	if resp.Header.Get("X-Amz-Function-Error") != "" || looksLikeError(body) {
		fe := &FunctionError{}
		if json.Unmarshal(body, fe) != nil || fe.Type == "" && fe.Message == "" {
			fe.Type, fe.Message = "Unhandled", string(body)
		}
		return nil, fe
	}
	return body, nil
}

func looksLikeError(body []byte) bool {
	var probe struct {
		Type    *string `json:"errorType"`
		Message *string `json:"errorMessage"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.Type != nil && probe.Message != nil
}
