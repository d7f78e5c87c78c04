package record

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestValueJSONAndText(t *testing.T) {
	for _, c := range []struct {
		v          Value
		json, text string
	}{
		{Number(2), `2`, `2`},
		{Number(0.5), `0.5`, `0.5`},
		{Number(1e21), `1e+21`, `1e+21`},
		{Number(-3.25), `-3.25`, `-3.25`},
		{Bool(true), `true`, `true`},
		{String("a\"b"), `"a\"b"`, `"a\"b"`},
		{Null(), `null`, `null`},
		{List(Number(1), String("x"), List()), `[1,"x",[]]`, `[1,"x",[]]`},
		{Map(map[string]Value{"b": Bool(false), "a": Map(map[string]Value{})}), `{"a":{},"b":false}`, `{"a":{},"b":false}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.json {
			t.Errorf("%+v: json %s (%v), want %s", c.v, b, err, c.json)
		}
		if c.v.String() != c.text {
			t.Errorf("%+v: text %s, want %s", c.v, c.v.String(), c.text)
		}
		var back Value
		if err := json.Unmarshal(b, &back); err != nil || !cmp.Equal(back, c.v, cmpopts.EquateEmpty()) {
			t.Errorf("%s: decoded %+v (%v)", b, back, err)
		}
	}
	if _, err := json.Marshal(Number(math.Inf(1))); err == nil {
		t.Error("an infinite number was encoded")
	}
}

func TestReportCapsRejectionsButCountsExactly(t *testing.T) {
	var r Report
	for i := range MaxReportRejections + 5 {
		r.Reject(Rejection{Index: i, Reason: "x"})
	}
	if len(r.Rejections) != MaxReportRejections || !r.RejectionsTruncated || r.Totals.Rejected != MaxReportRejections+5 || r.Totals.Ops != MaxReportRejections+5 {
		t.Fatalf("list %d, truncated %v, totals %+v", len(r.Rejections), r.RejectionsTruncated, r.Totals)
	}
	r.StartedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeReport(b)
	if err != nil || back.Totals != r.Totals || !back.StartedAt.Equal(r.StartedAt) {
		t.Fatalf("report round trip: %+v, %v", back.Totals, err)
	}
}

// TestReportEncodeListsRejections: a report always has a rejections list,
// empty when nothing was rejected, and keeps the ones it has.
func TestReportEncodeListsRejections(t *testing.T) {
	b, err := Report{Batch: "b", Status: ReportSplit}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"rejections": []`) {
		t.Fatalf("a report without rejections encodes as %s, want an empty list", b)
	}
	var r Report
	r.Reject(Rejection{Index: 3, Name: "x", Reason: "name is empty"})
	b, err = r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeReport(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rejections) != 1 || got.Rejections[0] != r.Rejections[0] {
		t.Fatalf("rejections %+v after a round trip, want %+v", got.Rejections, r.Rejections)
	}
}
