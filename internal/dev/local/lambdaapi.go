package local

// The twin's answer to Lambda's Invoke API for the splitter, so that memo
// resume (and `aws lambda invoke --invocation-type Event`) work against
// the twin as against AWS. moto is not asked: the splitter runs in the
// twin, not in moto.
//
// What the API reference says ("Invoke", AWS Lambda API Reference):
// POST /2015-03-31/functions/{FunctionName}/invocations with the payload as
// the body and the type in X-Amz-Invocation-Type (RequestResponse, the
// default, Event or DryRun); FunctionName is a name, a full ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME) or a partial one
// (ACCOUNT:function:NAME), with an optional :QUALIFIER or ?Qualifier=;
// "For the Event invocation type, this status code is 202. For the DryRun
// invocation type, the status code is 204"; a function that does not exist
// is ResourceNotFoundException, HTTP 404. An Event invocation is queued:
// "Lambda adds events to a queue before sending them to your function",
// and retries it and records it on failure as for any asynchronous
// invocation. The twin queues the event in its notification queue, the one
// S3's notifications go through, so both get the one emulation of
// asynchronous invocation (s3Delivery in plumbing.go: the same retries, the
// same on-failure record). Synchronous invocation is not emulated: the
// twin answers it with an error that says so.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

const invokePathPrefix = "/2015-03-31/functions/"

// lambdaAPI serves Invoke for the twin's functions.
type lambdaAPI struct {
	// functions maps a function's name to what queues an asynchronous
	// invocation of it.
	functions map[string]func(ctx context.Context, payload []byte) error
	region    string
	account   string
}

// isInvoke reports whether r is a Lambda Invoke request.
func isInvoke(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, invokePathPrefix) && strings.HasSuffix(r.URL.Path, "/invocations")
}

// filter is the proxy's filter of Lambda requests: it answers Invoke.
func (a *lambdaAPI) filter(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if !isInvoke(r) {
		return false
	}
	a.serve(w, r, body)
	return true
}

func (a *lambdaAPI) serve(w http.ResponseWriter, r *http.Request, body []byte) {
	raw := strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), invokePathPrefix), "/invocations")
	ref, err := url.PathUnescape(raw)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "undecodable function name "+raw)
		return
	}
	name, qualifier := a.functionName(ref)
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	enqueue, ok := a.functions[name]
	if !ok || (qualifier != "" && qualifier != "$LATEST") {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException",
			"Function not found: arn:aws:lambda:"+a.region+":"+a.account+":function:"+ref+" (the twin has its splitter's $LATEST only)")
		return
	}
	if !json.Valid(body) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	switch t := r.Header.Get("X-Amz-Invocation-Type"); t {
	case "Event":
		if err := enqueue(r.Context(), body); err != nil {
			lambdaError(w, http.StatusInternalServerError, "ServiceException", "queueing the event: "+err.Error())
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	default:
		if t == "" {
			t = "RequestResponse (the default)"
		}
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"the twin emulates asynchronous invocation only (X-Amz-Invocation-Type: Event), not "+t)
	}
}

// functionName takes the function's name and qualifier out of a name
// (NAME[:Q]), a full ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:Q])
// or a partial one (ACCOUNT:function:NAME[:Q]). An ARN of another region
// or account names no function of the twin's (empty name).
func (a *lambdaAPI) functionName(ref string) (name, qualifier string) {
	p := strings.Split(ref, ":")
	at := func(i int) string {
		if i < len(p) {
			return p[i]
		}
		return ""
	}
	switch {
	case len(p) >= 7 && p[0] == "arn" && p[5] == "function":
		if p[3] != a.region || p[4] != a.account {
			return "", ""
		}
		return p[6], at(7)
	case len(p) >= 3 && p[1] == "function":
		if p[0] != a.account {
			return "", ""
		}
		return p[2], at(3)
	default:
		return p[0], at(1)
	}
}

// lambdaError writes an error as Lambda's REST-JSON protocol does: the
// error code in X-Amzn-ErrorType, the message in the body.
func lambdaError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
