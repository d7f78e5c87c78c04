package workspace

// The records in the split-failures queue: what Lambda sends to an
// asynchronous invocation's on-failure destination ("Capturing records of
// Lambda asynchronous invocations", AWS Lambda Developer Guide):
//
//	{"version": "1.0", "timestamp": "...",
//	 "requestContext": {"functionArn": "...", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
//	 "requestPayload": <the event>,
//	 "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
//	 "responsePayload": {"errorType": "...", "errorMessage": "..."}}
//
// The twin writes the same record (internal/dev/local, recordFailure).

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// SplitFailure is one decoded split-failures record.
type SplitFailure struct {
	// Batches are the batch ids of the S3 event's records (S3 sends one
	// record per event, so this is one id).
	Batches      []string  `json:"batches"`
	Timestamp    time.Time `json:"timestamp"`
	Condition    string    `json:"condition,omitempty"`
	InvokeCount  int       `json:"approximate_invoke_count"`
	ErrorType    string    `json:"error_type,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`
	// RequestPayload is the event the splitter failed on: what memo resume
	// invokes it with again.
	RequestPayload json.RawMessage `json:"-"`
}

// Batch is the record's first batch id.
func (f SplitFailure) Batch() string {
	if len(f.Batches) == 0 {
		return ""
	}
	return f.Batches[0]
}

// Has reports whether the record's event names batch id.
func (f SplitFailure) Has(id string) bool {
	for _, b := range f.Batches {
		if b == id {
			return true
		}
	}
	return false
}

// DecodeSplitFailure reads a split-failures record. The batch ids come
// from the event's S3 records as the splitter makes them (the key
// URL-decoded, then key@ETag); the error from responsePayload, which is
// Lambda's error object, or any JSON when the function's runtime failed
// otherwise (then ErrorMessage is that JSON).
func DecodeSplitFailure(body string) (SplitFailure, error) {
	var rec struct {
		Timestamp      string `json:"timestamp"`
		RequestContext struct {
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		RequestPayload  json.RawMessage `json:"requestPayload"`
		ResponsePayload json.RawMessage `json:"responsePayload"`
	}
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return SplitFailure{}, fmt.Errorf("not a Lambda destination record: %w", err)
	}
	if len(rec.RequestPayload) == 0 || string(rec.RequestPayload) == "null" {
		return SplitFailure{}, errors.New("not a Lambda destination record: no requestPayload")
	}
	f := SplitFailure{Condition: rec.RequestContext.Condition, InvokeCount: rec.RequestContext.ApproximateInvokeCount, RequestPayload: rec.RequestPayload}
	if t, err := time.Parse(time.RFC3339Nano, rec.Timestamp); err == nil {
		f.Timestamp = t.UTC()
	}
	var resp struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal(rec.ResponsePayload, &resp) == nil && (resp.Type != "" || resp.Message != "") {
		f.ErrorType, f.ErrorMessage = resp.Type, resp.Message
	} else if len(rec.ResponsePayload) > 0 {
		f.ErrorMessage = string(rec.ResponsePayload)
	}
	var ev struct {
		Records []struct {
			S3 struct {
				Object struct {
					Key       string `json:"key"`
					ETag      string `json:"eTag"`
					VersionID string `json:"versionId"`
				} `json:"object"`
			} `json:"s3"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(rec.RequestPayload, &ev); err != nil || len(ev.Records) == 0 {
		return SplitFailure{}, errors.New("the record's requestPayload is not an S3 event")
	}
	for _, r := range ev.Records {
		key, err := url.QueryUnescape(r.S3.Object.Key)
		// As the splitter names a batch (splitter.Split): the version id,
		// or the ETag on an unversioned bucket.
		tag := naming.UploadTag(r.S3.Object.VersionID, r.S3.Object.ETag)
		if err != nil || key == "" || tag == "" {
			return SplitFailure{}, fmt.Errorf("the record's S3 event has an undecodable key %q or neither a versionId nor an ETag", r.S3.Object.Key)
		}
		f.Batches = append(f.Batches, naming.BatchID(key, tag))
	}
	return f, nil
}
