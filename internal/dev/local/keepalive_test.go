package local

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The differential test of motopatch.py's keep-alive patch (6.), through
// moto_server itself: the same requests (DynamoDB, SQS, S3 and STS, good
// and bad, with bodies and without, one sent chunked, one asking to close,
// one expecting a 100 Continue)
// to moto_server as installed and to moto started as the twin starts it
// get the same answers (status, content type, ETag and body, once the parts that
// differ between any two runs are masked: request ids, times, ports), over
// connections that the patched moto keeps open and moto as installed
// closes after every answer.
func TestMotoKeepAliveAnswersAsMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server not on PATH; integration test skipped")
	}
	pythonForDiff(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plain, err := startMoto(ctx, nil, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Stop()
	patched, err := StartMoto(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer patched.Stop()

	want, wantReused := keepAliveTranscript(t, plain.URL)
	got, gotReused := keepAliveTranscript(t, patched.URL)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-moto +patched):\n%s", diff)
	}
	if wantReused != 0 {
		t.Errorf("moto as installed kept %d connections open: this test no longer tells the two apart", wantReused)
	}
	// All but the first request and those after a close could reuse a
	// connection.
	if n := len(got); gotReused < n-4 {
		t.Errorf("the patched moto let %d of %d requests reuse a connection", gotReused, n)
	}
}

// keepAliveTranscript sends the test's requests to the emulator at url, one
// at a time over one client, and returns each answer (masked) and how many
// requests reused a connection.
func keepAliveTranscript(t *testing.T, url string) (answers []string, reused int) {
	t.Helper()
	const ddbAuth = "AWS4-HMAC-SHA256 Credential=test/20261207/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
	const sqsAuth = "AWS4-HMAC-SHA256 Credential=test/20261207/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=0"
	const s3Auth = "AWS4-HMAC-SHA256 Credential=test/20261207/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0"
	const stsAuth = "AWS4-HMAC-SHA256 Credential=test/20261207/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=0"
	type req struct {
		method, path, auth, target, body string
		chunked, close, expect           bool
	}
	ddb := func(target, body string) req {
		return req{method: "POST", path: "/", auth: ddbAuth, target: "DynamoDB_20120810." + target, body: body}
	}
	table := `{"TableName": "t", "AttributeDefinitions": [{"AttributeName": "name", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}`
	cond := `{"TableName": "t", "Item": {"name": {"S": "a"}, "v": {"N": "2"}}, "ConditionExpression": "attribute_not_exists(#n)", "ExpressionAttributeNames": {"#n": "name"}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}`
	reqs := []req{
		ddb("ListTables", `{}`),
		ddb("CreateTable", table),
		ddb("PutItem", `{"TableName": "t", "Item": {"name": {"S": "a"}, "v": {"N": "1"}}}`),
		ddb("PutItem", cond),
		ddb("GetItem", `{"TableName": "t", "Key": {"name": {"S": "a"}}}`),
		ddb("GetItem", `{"TableName": "t", "Key": {"name": {"S": "a"}`), // cut short
		ddb("NoSuchAction", `{}`),
		{method: "POST", path: "/", auth: sqsAuth, body: "Action=CreateQueue&QueueName=q&Version=2012-11-05"},
		{method: "POST", path: "/", auth: sqsAuth, target: "AmazonSQS.GetQueueAttributes", body: `{"QueueUrl": "http://HOST/123456789012/q", "AttributeNames": ["VisibilityTimeout"]}`},
		{method: "POST", path: "/", auth: sqsAuth, target: "AmazonSQS.ReceiveMessage", body: `{"QueueUrl": "http://HOST/123456789012/nosuch"}`},
		{method: "PUT", path: "/bkt", auth: s3Auth, body: `<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`},
		{method: "PUT", path: "/bkt/k.json", auth: s3Auth, body: `{"ops": []}`},
		{method: "PUT", path: "/bkt/chunked.json", auth: s3Auth, body: strings.Repeat("x", 3000), chunked: true},
		{method: "PUT", path: "/bkt/expect.json", auth: s3Auth, body: strings.Repeat("y", 3000), expect: true},
		{method: "GET", path: "/bkt/k.json", auth: s3Auth},
		{method: "HEAD", path: "/bkt/k.json", auth: s3Auth},
		{method: "GET", path: "/bkt/chunked.json", auth: s3Auth},
		{method: "GET", path: "/bkt/missing", auth: s3Auth, close: true},
		{method: "GET", path: "/bkt?list-type=2", auth: s3Auth},
		{method: "POST", path: "/", auth: stsAuth, body: "Action=GetCallerIdentity&Version=2011-06-15"},
		ddb("DeleteTable", `{"TableName": "t"}`),
	}
	host := strings.TrimPrefix(url, "http://")
	// The S3 client sends "Expect: 100-continue" for large uploads and
	// waits for the 100 (a second by default) before the body: a 100 left
	// in a buffer makes every such upload a second slower.
	const expectWait = 5 * time.Second
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, ExpectContinueTimeout: expectWait}}
	defer client.CloseIdleConnections()
	for _, r := range reqs {
		var body io.Reader = strings.NewReader(strings.ReplaceAll(r.body, "HOST", host))
		if r.chunked {
			body = io.MultiReader(body) // no length: the request goes chunked
		}
		hr, err := http.NewRequest(r.method, url+r.path, body)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Authorization", r.auth)
		if r.target != "" {
			hr.Header.Set("X-Amz-Target", r.target)
			hr.Header.Set("Content-Type", "application/x-amz-json-1.0")
		} else if r.method == "POST" {
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		hr.Close = r.close
		if r.expect {
			hr.Header.Set("Expect", "100-continue")
		}
		start := time.Now()
		hr = hr.WithContext(httptrace.WithClientTrace(hr.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) {
				if i.Reused {
					reused++
				}
			},
		}))
		resp, err := client.Do(hr)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: reading the answer: %v", r.method, r.path, err)
		}
		if r.expect && time.Since(start) >= expectWait {
			t.Errorf("%s %s with Expect: 100-continue took %v: the 100 never came", r.method, r.path, time.Since(start))
		}
		answers = append(answers, r.method+" "+r.path+" "+r.target+" -> "+resp.Status+" "+resp.Header.Get("Content-Type")+" "+resp.Header.Get("ETag")+" "+masked(b, host))
	}
	return answers, reused
}

// What differs between any two runs of moto: request and message ids,
// times, the port.
var unstable = []*regexp.Regexp{
	regexp.MustCompile(`[0-9]{10}\.[0-9]+`),                         // epoch seconds
	regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?`),     // ISO times
	regexp.MustCompile(`<RequestId>[^<]*</RequestId>`),              // query protocol
	regexp.MustCompile(`<RequestID>[^<]*</RequestID>`),              // S3
	regexp.MustCompile(`"RequestId": ?"[^"]*"`),                     // JSON protocol
	regexp.MustCompile(`[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}`), // uuids
}

func masked(b []byte, host string) string {
	b = bytes.ReplaceAll(b, []byte(host), []byte("HOST"))
	for _, re := range unstable {
		b = re.ReplaceAll(b, []byte("*"))
	}
	return string(b)
}
