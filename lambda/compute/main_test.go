package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/fn"
)

// memo's evaluator through the public package: an expression string is
// computed; an op of any other JSON value (from a splitter with the json op
// rules) is an error result that says why, never a retry.
func TestEvaluate(t *testing.T) {
	for _, c := range []struct {
		payload string
		want    fn.Result
	}{
		{`"1+1"`, fn.Result{Status: "ok", Value: json.RawMessage(`2`)}},
		{`"1/"`, fn.Result{Status: "error"}},
		{`{"key":"photos/0001.jpg"}`, fn.Result{Status: "error", Error: "the op is a JSON object, not an expression string"}},
		{`[1]`, fn.Result{Status: "error", Error: "the op is a JSON array, not an expression string"}},
		{`7`, fn.Result{Status: "error", Error: "the op is a JSON number, not an expression string"}},
		{`null`, fn.Result{Status: "error", Error: "the op is JSON null, not an expression string"}},
	} {
		got, err := fn.Run(context.Background(), evaluate, fn.Op{Name: "n", Payload: json.RawMessage(c.payload)}, fn.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.Error, c.want.Error) || (c.want.Error == "" && got.Status == "error" && got.Error == "") {
			t.Errorf("%s: error %q, want it to start with %q", c.payload, got.Error, c.want.Error)
		}
		got.Error = ""
		c.want.Error = ""
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.payload, d)
		}
	}
}
