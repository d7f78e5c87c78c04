package local

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// A notification as moto 5.2.1 writes it (moto/s3/notifications.py,
// _get_s3_event): no zone on eventTime, microseconds, the key URL-encoded
// ('/' too), no versionId and no sequencer.
const motoNotification = `{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
 "eventTime": "2026-11-25T22:11:54.123456", "eventName": "ObjectCreated:Put",
 "s3": {"s3SchemaVersion": "1.0", "configurationId": "batches.json",
  "bucket": {"name": "memo-local-batches-123456789012", "arn": "arn:aws:s3:::memo-local-batches-123456789012"},
  "object": {"key": "batches%2Fmy+batch+%C3%A9.json", "size": 77, "eTag": "c3cd268ba3e4bc47df81415117b92055"}}}]}`

func TestS3EventPayloadNormalisesMoto(t *testing.T) {
	var raw events.S3Event
	if err := json.Unmarshal([]byte(motoNotification), &raw); err == nil {
		t.Fatal("events.S3Event accepted a zoneless eventTime: the normalisation may be unnecessary now")
	}
	payload, skip, err := S3EventPayload([]byte(motoNotification))
	if err != nil || skip {
		t.Fatalf("S3EventPayload: skip=%v err=%v", skip, err)
	}
	var ev events.S3Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	if got := r.EventTime.UTC().Format(time.RFC3339Nano); got != "2026-11-25T22:11:54.123456Z" {
		t.Errorf("eventTime %s", got)
	}
	// The sequencer the twin adds: moto's microseconds, in hex.
	if want := fmt.Sprintf("%016X", r.EventTime.UnixMicro()); r.S3.Object.Sequencer != want {
		t.Errorf("sequencer %q, want %q", r.S3.Object.Sequencer, want)
	}
	if r.S3.Object.URLDecodedKey != "batches/my batch é.json" {
		t.Errorf("decoded key %q", r.S3.Object.URLDecodedKey)
	}
}

func TestS3TestEventIsSkipped(t *testing.T) {
	_, skip, err := S3EventPayload([]byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-25T22:11:54.000Z","Bucket":"b"}`))
	if err != nil || !skip {
		t.Fatalf("skip=%v err=%v, want the test event skipped", skip, err)
	}
	if _, _, err := S3EventPayload([]byte(`{"nothing": 1}`)); err == nil {
		t.Fatal("a notification without records was accepted")
	}
}

func TestParseBatchResponse(t *testing.T) {
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a"}, {MessageId: "b"}}}
	for _, c := range []struct {
		out, want string
		invalid   bool
	}{
		{out: ``, want: "map[]"},
		{out: `null`, want: "map[]"},
		{out: `{"batchItemFailures": []}`, want: "map[]"},
		{out: `{"batchItemFailures": [{"itemIdentifier": "b"}]}`, want: "map[b:true]"},
		{out: `{"batchItemFailures": [{"itemIdentifier": ""}]}`, invalid: true},
		{out: `{"batchItemFailures": [{"itemIdentifier": "zzz"}]}`, invalid: true},
		{out: `"ok"`, invalid: true},
	} {
		got, err := ParseBatchResponse([]byte(c.out), ev)
		if c.invalid {
			if err == nil {
				t.Errorf("%s: accepted, want the whole batch failed", c.out)
			}
			continue
		}
		if err != nil || fmtMap(got) != c.want {
			t.Errorf("%s: got %v, %v; want %s", c.out, got, err, c.want)
		}
	}
}

func fmtMap(m map[string]bool) string {
	var b strings.Builder
	b.WriteString("map[")
	first := true
	for _, k := range []string{"a", "b"} {
		if m[k] {
			if !first {
				b.WriteString(" ")
			}
			b.WriteString(k + ":true")
			first = false
		}
	}
	b.WriteString("]")
	return b.String()
}
