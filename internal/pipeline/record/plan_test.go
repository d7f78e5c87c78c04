package record

import (
	"strings"
	"testing"
)

// Skip runs merge consecutive ops, and Skips finds exactly the ops added.
func TestChunkSkips(t *testing.T) {
	c := Chunk{First: 10, Count: 20}
	for _, i := range []int{10, 11, 12, 15, 17, 18, 29} {
		c.SkipOp(i)
	}
	if got := len(c.Skip); got != 4 || c.Skipped() != 7 {
		t.Fatalf("skip %v (%d skipped)", c.Skip, c.Skipped())
	}
	for i := 0; i < 40; i++ {
		want := strings.Contains(",10,11,12,15,17,18,29,", ","+itoa(i)+",")
		if c.Skips(i) != want {
			t.Fatalf("Skips(%d) = %v", i, !want)
		}
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// A plan round-trips, and a plan whose chunks do not add up is refused.
func TestPlanDecodeChecksChunks(t *testing.T) {
	good := Plan{Batch: "batches/a.json@e", Bucket: "b", Key: "batches/a.json", Format: "json",
		Report: Report{Totals: Totals{Ops: 5, Rejected: 1}},
		Chunks: []Chunk{{Offset: 9, Length: 40, First: 0, Count: 3, Skip: [][2]int{{1, 2}}}, {Offset: 50, Length: 20, First: 3, Count: 2}}}
	b, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodePlan(b)
	if err != nil || len(back.Chunks) != 2 || !back.Chunks[0].Skips(1) {
		t.Fatalf("%+v %v", back, err)
	}
	for name, edit := range map[string]func(p *Plan){
		"gap":            func(p *Plan) { p.Chunks[1].First = 4 },
		"short":          func(p *Plan) { p.Report.Totals.Ops = 6 },
		"skip outside":   func(p *Plan) { p.Chunks[0].Skip = [][2]int{{2, 4}} },
		"empty chunk":    func(p *Plan) { p.Chunks[1].Count = 0; p.Report.Totals.Ops = 3 },
		"no bytes":       func(p *Plan) { p.Chunks[0].Length = 0 },
		"skips backward": func(p *Plan) { p.Chunks[0].Skip = [][2]int{{2, 3}, {1, 2}} },
	} {
		p := good
		p.Chunks = append([]Chunk(nil), good.Chunks...)
		edit(&p)
		b, _ := p.Encode()
		if _, err := DecodePlan(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := DecodePlan([]byte(`{"batch":"x","chunks":[],"extra":1}`)); err == nil {
		t.Error("unknown field decoded")
	}
}

// A chunk task round-trips; a task without its plan is refused.
func TestChunkTaskDecode(t *testing.T) {
	body, _ := ChunkTask{Batch: "batches/a.json@e", Bucket: "b", Plan: "reports/a.json.plan/e/plan.json", Chunk: 3}.Encode()
	if task, err := DecodeChunkTask(body); err != nil || task.Chunk != 3 {
		t.Fatalf("%+v %v", task, err)
	}
	for _, body := range []string{`{"batch":"x","bucket":"b","chunk":1}`, `{"batch":"x","bucket":"b","plan":"p","chunk":-1}`, `nope`} {
		if _, err := DecodeChunkTask(body); err == nil {
			t.Errorf("%s decoded", body)
		}
	}
}

// The bounds of a valid plan, each at its edge: a chunk of one op and one
// byte, skip runs that start at the chunk's first op, touch each other and
// end at its last; an empty skip run is refused, and the error names the
// chunk's range.
func TestPlanDecodeEdges(t *testing.T) {
	edge := Plan{Batch: "x", Bucket: "b", Key: "batches/x.jsonl", Format: "jsonl",
		Report: Report{Totals: Totals{Ops: 5, Rejected: 4}},
		Chunks: []Chunk{{Offset: 0, Length: 1, First: 0, Count: 1}, {Offset: 1, Length: 9, First: 1, Count: 4, Skip: [][2]int{{1, 2}, {2, 5}}}}}
	b, err := edge.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"rejections":[]`) || !strings.Contains(string(b), `"chunks":[{`) {
		t.Errorf("encoded plan %s: want rejections as [] (never null)", b)
	}
	if _, err := DecodePlan(b); err != nil {
		t.Fatalf("a plan at every edge: %v", err)
	}
	if b, _ := (Plan{}).Encode(); !strings.Contains(string(b), `"chunks":[]`) {
		t.Errorf("empty plan encodes as %s: want chunks as []", b)
	}
	bad := edge
	bad.Chunks = append([]Chunk(nil), edge.Chunks...)
	bad.Chunks[1].Skip = [][2]int{{1, 2}, {3, 3}}
	b, _ = bad.Encode()
	if _, err := DecodePlan(b); err == nil {
		t.Error("an empty skip run decoded")
	}
	bad.Chunks[1].Skip = [][2]int{{1, 6}}
	b, _ = bad.Encode()
	if _, err := DecodePlan(b); err == nil || !strings.Contains(err.Error(), "outside [1, 5)") {
		t.Errorf("skip past the chunk: %v, want it named against [1, 5)", err)
	}
	if task, err := DecodeChunkTask(`{"batch":"x","bucket":"b","plan":"p","chunk":0}`); err != nil || task.Chunk != 0 {
		t.Errorf("chunk 0: %+v %v", task, err)
	}
}
