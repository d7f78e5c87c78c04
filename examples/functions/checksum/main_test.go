package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/fn"
)

type fakeS3 map[string]string

func (f fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	switch body, ok := f[*in.Key]; {
	case *in.Key == "throttled":
		return nil, errors.New("api error SlowDown: Please reduce your request rate.")
	case !ok:
		return nil, &types.NoSuchKey{}
	default:
		return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader([]byte(body)))}, nil
	}
}

func TestChecksumOfObjectsNamedByOps(t *testing.T) {
	f := function(fakeS3{"photos/0001.jpg": "hello"}, "b")
	for _, c := range []struct {
		op   string
		want fn.Result
	}{
		{`"photos/0001.jpg"`, fn.Result{Status: "ok", Value: json.RawMessage(`{"bytes":5,"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}`)}},
		{`{"key": "photos/0001.jpg"}`, fn.Result{Status: "ok", Value: json.RawMessage(`{"bytes":5,"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}`)}},
		{`"photos/missing.jpg"`, fn.Result{Status: "error", Error: "s3://b/photos/missing.jpg does not exist"}},
		{`"throttled"`, fn.Result{Status: "retry", Error: "api error SlowDown: Please reduce your request rate."}},
		{`42`, fn.Result{Status: "error", Error: `want an object key or {"key": ...}: op x: json: cannot unmarshal number into Go value of type struct { Key string "json:\"key\"" }`}},
	} {
		got, err := fn.Run(context.Background(), f, fn.Op{Name: "x", Payload: json.RawMessage(c.op), Batch: "b"}, fn.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("op %s (-want +got):\n%s", c.op, d)
		}
	}
}
