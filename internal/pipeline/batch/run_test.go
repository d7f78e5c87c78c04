package batch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cutting a file into runs at the offsets Scan reports, and scanning each
// run alone with ScanRun, gives back the same ops with the same indices and
// verdicts, except the duplicate verdicts, which only the whole batch can
// give (the plan keeps them). Every hostile file that Scan accepts, runs of
// 1, 2, 3 and 7 ops, with the normal buffer and the smallest one.
func TestScanRunMatchesScan(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.json*"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "inline.json", "inline.jsonl")
	inline := map[string]string{
		"inline.json":  "\uFEFF{\"x\": 1, \"ops\" : [ {\"name\":\"a\",\"op\":\"1\"} ,\n\t7, \"s\",{\"name\":\"a\",\"op\":\"2\"},[1,{\"a\":[]}], {\"name\":\"b\",\"op\":\"(\"}\r\n ] , \"y\": {}}",
		"inline.jsonl": "{\"name\":\"a\",\"op\":\"1\"}\r\n\n  \n7\n{\"name\":\"a\",\"op\":\"2\"}  \n{\"op\":\"1\",\"name\":\"b\"}",
	}
	tested := 0
	for _, file := range files {
		f, ok := FormatOf(file)
		if !ok || (f != JSON && f != JSONL) {
			continue // the other formats: TestChunksReadThePlansOps
		}
		data, ok := []byte(inline[file]), inline[file] != ""
		if !ok {
			if data, err = os.ReadFile(file); err != nil {
				t.Fatal(err)
			}
		}
		whole := scanAll(t, data, f)
		if whole.err != nil || len(whole.items) == 0 {
			continue
		}
		tested++
		for _, it := range whole.items {
			if it.Start < 0 || it.End <= it.Start || it.End > int64(len(data)) {
				t.Fatalf("%s: op %d at [%d, %d) of %d bytes", file, it.Index, it.Start, it.End, len(data))
			}
			if c := data[it.Start]; c == ' ' || c == ',' || c == '\n' || c == '\r' || c == '\t' {
				t.Fatalf("%s: op %d starts at %q", file, it.Index, c)
			}
		}
		for _, k := range []int{1, 2, 3, 7} {
			for _, size := range []int{bufSize, minBuf} {
				for a := 0; a < len(whole.items); a += k {
					b := min(a+k, len(whole.items))
					from, to := whole.items[a].Start, whole.items[b-1].End
					var got []Item
					err := scanRun(bytes.NewReader(data[from:to]), f, a, func(it Item) error {
						got = append(got, it)
						return nil
					}, size)
					if err != nil {
						t.Fatalf("%s: run [%d, %d) bytes [%d, %d): %v", file, a, b, from, to, err)
					}
					if len(got) != b-a {
						t.Fatalf("%s: run [%d, %d): %d ops", file, a, b, len(got))
					}
					for i, g := range got {
						w := whole.items[a+i]
						if strings.HasPrefix(w.Reject, "duplicate of op ") {
							w.Reject = ""
						}
						w.Start -= from
						w.End -= from
						if g != w {
							t.Fatalf("%s: run [%d, %d) op %d:\n got %+v\nwant %+v", file, a, b, a+i, g, w)
						}
					}
				}
			}
		}
	}
	if tested < 10 {
		t.Fatalf("only %d files tested", tested)
	}
}

// A run that is not a run of ops is a structural error, not ops: a cut in
// the middle of an op, a trailing comma, a closing bracket.
func TestScanRunRefusesBrokenRuns(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		data string
	}{
		{JSON, `{"name":"a","op":"1"}, {"name":"b"`},
		{JSON, `{"name":"a","op":"1"},`},
		{JSON, `{"name":"a","op":"1"}]`},
		{JSON, `"op":"1"}`},
		{JSON, ``},
		{JSONL, `{"name":"a","op":"1"} x`},
		{JSONL, `{"name":"a",`},
	} {
		err := ScanRun(strings.NewReader(tc.data), tc.f, 0, func(Item) error { return nil })
		if _, ok := syntaxErr(err); !ok {
			t.Errorf("%v %q: %v, want a *SyntaxError", tc.f, tc.data, err)
		}
	}
}
