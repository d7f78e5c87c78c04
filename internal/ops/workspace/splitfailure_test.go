package workspace

import (
	"strings"
	"testing"
	"time"
)

// A record as Lambda writes it to an on-failure destination: the batch id
// comes from the S3 event (key URL-decoded, then @ETag), the error from
// responsePayload.
func TestDecodeSplitFailure(t *testing.T) {
	body := `{"version":"1.0","timestamp":"2026-12-02T05:00:00.123Z",
	"requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:us-east-1:1:function:memo-dev-splitter:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},
	"requestPayload":{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"},"object":{"key":"batches/my+batch%C3%A9.json","eTag":"e1","sequencer":"01"}}}]},
	"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
	"responsePayload":{"errorType":"Runtime.ExitError","errorMessage":"RequestId: r Error: Runtime exited"}}`
	f, err := DecodeSplitFailure(body)
	if err != nil {
		t.Fatal(err)
	}
	if f.Batch() != "batches/my batché.json@e1" || !f.Has("batches/my batché.json@e1") || f.Has("batches/other.json@e1") ||
		f.InvokeCount != 3 || f.Condition != "RetriesExhausted" || f.ErrorType != "Runtime.ExitError" ||
		!strings.Contains(f.ErrorMessage, "Runtime exited") || !f.Timestamp.Equal(time.Date(2026, 12, 2, 5, 0, 0, 123e6, time.UTC)) ||
		!strings.Contains(string(f.RequestPayload), `"sequencer":"01"`) {
		t.Fatalf("%+v", f)
	}
	// A function that timed out leaves a responsePayload that is not an
	// error object: kept as the message.
	f, err = DecodeSplitFailure(strings.Replace(body, `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: r Error: Runtime exited"}`, `"Task timed out"`, 1))
	if err != nil || f.ErrorType != "" || f.ErrorMessage != `"Task timed out"` {
		t.Fatalf("%+v %v", f, err)
	}
	for _, bad := range []string{
		`not json`,
		`{"requestPayload":null}`,
		`{"requestPayload":{"Records":[]}}`,
		`{"requestPayload":{"Records":[{"s3":{"object":{"key":"batches/a%zz.json","eTag":"e"}}}]}}`,
		`{"requestPayload":{"Records":[{"s3":{"object":{"key":"batches/a.json"}}}]}}`,
	} {
		if _, err := DecodeSplitFailure(bad); err == nil {
			t.Errorf("%s: decoded", bad)
		}
	}
}
