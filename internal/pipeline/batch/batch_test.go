package batch

import (
	"errors"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		key  string
		f    Format
		ok   bool
		name string
	}{
		{"batches/work.json", JSON, true, "json"},
		{"batches/work.jsonl", JSONL, true, "jsonl"},
		{"batches/dir.json/x.jsonl", JSONL, true, "jsonl"},
		{"a b+c é.json", JSON, true, "json"},
		{"work.JSON", 0, false, ""},
		{"work.json.gz", JSONGzip, true, "json.gz"},
		{"work.jsonl.gz", JSONLGzip, true, "jsonl.gz"},
		{"work.csv", CSV, true, "csv"},
		{"work.csv.gz", CSVGzip, true, "csv.gz"},
		{"work.CSV", 0, false, ""},
		{"work.json.GZ", 0, false, ""},
		{"work.gz", 0, false, ""},
		{"work.json.zst", JSONZstd, true, "json.zst"},
		{"work.jsonl.zst", JSONLZstd, true, "jsonl.zst"},
		{"work.csv.zst", CSVZstd, true, "csv.zst"},
		{"work.zst", 0, false, ""},
		{"work.json.zstd", 0, false, ""},
		{"work.ndjson", 0, false, ""},
		{"work", 0, false, ""},
		{"", 0, false, ""},
	} {
		f, ok := FormatOf(c.key)
		if f != c.f || ok != c.ok {
			t.Errorf("FormatOf(%q) = %v, %v; want %v, %v", c.key, f, ok, c.f, c.ok)
		}
		if ok && f.String() != c.name {
			t.Errorf("%v.String() = %q, want %q", f, f.String(), c.name)
		}
		if back, found := ParseFormat(c.name); ok && (!found || back != f) {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", c.name, back, found, f)
		}
	}
	if s := Format(99).String(); s != "Format(99)" {
		t.Errorf("Format(99).String() = %q", s)
	}
}

// The table of formats is the one list of suffixes: every format has one,
// no suffix ends with another (S3 refuses overlapping suffix filters on one
// event, and FormatOf must find exactly one), and messages name them all.
func TestFormatTable(t *testing.T) {
	fs, suffixes := Formats(), Suffixes()
	if len(fs) != len(suffixes) || len(fs) == 0 {
		t.Fatalf("%d formats, %d suffixes", len(fs), len(suffixes))
	}
	for i, f := range fs {
		if f.Suffix() != suffixes[i] || !strings.HasPrefix(suffixes[i], ".") {
			t.Errorf("%v: suffix %q, list says %q", f, f.Suffix(), suffixes[i])
		}
		if got, ok := FormatOf("batches/x" + f.Suffix()); !ok || got != f {
			t.Errorf("FormatOf(x%s) = %v, %v", f.Suffix(), got, ok)
		}
		if f.Compressed() != (strings.HasSuffix(f.Suffix(), ".gz") || strings.HasSuffix(f.Suffix(), ".zst")) {
			t.Errorf("%v: Compressed() = %v", f, f.Compressed())
		}
		if off, n := f.ReadRange(Run{Offset: 10, Length: 5}); f.Compressed() != (off == 0 && n == 0) {
			t.Errorf("%v: ReadRange = %d, %d", f, off, n)
		}
		for j, other := range suffixes {
			if i != j && strings.HasSuffix(suffixes[i], other) {
				t.Errorf("suffix %q ends with %q: S3 would refuse the overlapping filters", suffixes[i], other)
			}
		}
		if !strings.Contains(SuffixList(), f.Suffix()) {
			t.Errorf("SuffixList() = %q lacks %q", SuffixList(), f.Suffix())
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	err := error(&SyntaxError{Offset: 123, Reason: "unexpected end of input"})
	if got := err.Error(); got != "byte 123: unexpected end of input" {
		t.Errorf("Error() = %q", got)
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Check(strings.NewReader("{}"), 0); err == nil {
		t.Error("Check with format 0: nil error")
	}
	if err := Scan(strings.NewReader("{}"), 7, func(Item) error { return nil }); err == nil {
		t.Error("Scan with format 7: nil error")
	}
}

func TestJSONLLines(t *testing.T) {
	file := "\xef\xbb\xbf\n  \r\n" +
		`{"name": "a", "op": "1"}` + "\r\n" +
		"\t\n" +
		`[1]` + "  \t\r\n" +
		`{"name": "b", "op": "2"}` + "\n\n\n" +
		`{"name": "c", "op": "3"}`
	res := scanAll(t, []byte(file), JSONL)
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := []Item{
		{Index: 0, Op: Op{"a", "1"}},
		{Index: 1, Reject: "not a JSON object (found an array)"},
		{Index: 2, Op: Op{"b", "2"}},
		{Index: 3, Op: Op{"c", "3"}},
	}
	if !sameItems(res.items, want) {
		t.Fatalf("items %+v, want %+v", res.items, want)
	}
}

// structCase is a structurally broken file.
type structCase struct {
	f      Format
	in     string
	offset int64
	reason string // the whole reason
}

var structCases = []structCase{
	{JSON, ``, 0, "empty file"},
	{JSON, " \n\t\r ", 5, "empty file"},
	{JSON, "\xef\xbb\xbf", 3, "empty file"},
	{JSONL, ``, 0, "empty file (no line holds an op)"},
	{JSONL, "\n \r\n\t\n", 6, "empty file (no line holds an op)"},
	{JSON, `x`, 0, "invalid character 'x' looking for beginning of value"},
	{JSON, "\x00", 0, "invalid character byte 0x00 looking for beginning of value"},
	{JSON, "\xef\xbb", 0, "invalid character byte 0xef looking for beginning of value"},
	{JSON, `[]`, 0, `top-level value is an array, not an object with an "ops" array`},
	{JSON, ` "ops"`, 1, `top-level value is a string, not an object with an "ops" array`},
	{JSON, `12 `, 0, `top-level value is a number, not an object with an "ops" array`},
	{JSON, `1_plus_1`, 0, `top-level value is a number, not an object with an "ops" array`},
	{JSON, `null`, 0, `top-level value is null, not an object with an "ops" array`},
	{JSON, `nul`, 3, "unexpected end of input"},
	{JSON, `this`, 1, "invalid character 'h' in literal true (expecting 'r')"},
	{JSON, `-x`, 1, "invalid character 'x' in numeric literal"},
	{JSON, `{}`, 1, `no "ops" array in the top-level object`},
	{JSON, `{"op": []}`, 9, `no "ops" array in the top-level object`},
	{JSON, `{"OPS": []}`, 10, `no "ops" array in the top-level object`},
	{JSON, `{"ops": {}}`, 8, `"ops" is an object, not an array`},
	{JSON, `{"ops": null}`, 8, `"ops" is null, not an array`},
	{JSON, `{"ops": "[]"}`, 8, `"ops" is a string, not an array`},
	{JSON, `{"ops": 1.5}`, 8, `"ops" is a number, not an array`},
	{JSON, `{"ops": 1.}`, 10, "invalid character '}' after decimal point in numeric literal"},
	{JSON, `{"ops": nope}`, 9, "invalid character 'o' in literal null (expecting 'u')"},
	{JSON, `{"ops": [], "ops": []}`, 12, `duplicate "ops" key (the first is at byte 1)`},
	{JSON, `{"ops": [], "\u006fps": []}`, 12, `duplicate "ops" key (the first is at byte 1)`},
	{JSON, `{"ops": []`, 10, "unexpected end of input"},
	{JSON, `{"ops": [{"name": "a", "op": "1"}`, 33, "unexpected end of input"},
	{JSON, `{"ops": [{"name": "a", "op": "1`, 31, "unexpected end of input"},
	{JSON, `{"ops": [{"name": "a", "op": "1\`, 32, "unexpected end of input"},
	{JSON, `{"ops": [{"name": "a", "op": "1\u00`, 35, "unexpected end of input"},
	{JSON, `{"ops": [{"name": "a", "op": "1\u00g0"}]}`, 35, `invalid character 'g' in \u hexadecimal character escape`},
	{JSON, `{"ops": [{"name": "a", "op": "1\x"}]}`, 32, "invalid character 'x' in string escape code"},
	{JSON, "{\"ops\": [{\"name\": \"a\tb\", \"op\": \"1\"}]}", 20, "invalid character byte 0x09 in string literal"},
	{JSON, `{"ops": []} x`, 12, "invalid character 'x' after top-level value"},
	{JSON, `{"ops": []}{}`, 11, "invalid character '{' after top-level value"},
	{JSON, "{\"ops\": []}\n\xef\xbb\xbf", 12, "invalid character byte 0xef after top-level value"},
	{JSON, `{"ops": [1,]}`, 11, "invalid character ']' looking for beginning of value"},
	{JSON, `{"ops": [1 2]}`, 11, "invalid character '2' after array element"},
	{JSON, `{"ops": [], }`, 12, "invalid character '}' looking for beginning of object key string"},
	{JSON, `{"ops" []}`, 7, "invalid character '[' after object key"},
	{JSON, `{"ops": [] "x": 1}`, 11, "invalid character '\"' after object key:value pair"},
	{JSON, `{'ops': []}`, 1, "invalid character '\\'' looking for beginning of object key string"},
	{JSON, `{"ops": [{"name": "a" "op": "1"}]}`, 22, "invalid character '\"' after object key:value pair"},
	{JSON, `{"ops": [{"name": "a", 1: "1"}]}`, 23, "invalid character '1' looking for beginning of object key string"},
	{JSON, `{"ops": [{"name": "a", "op": "1", "x": [1,}]}`, 42, "invalid character '}' looking for beginning of value"},
	{JSON, `{"ops": [{"name": "a", "op": "1", "x": 01}]}`, 40, "invalid character '1' after object key:value pair"},
	{JSON, `{"ops": [{"name": "a", "op": "1", "x": tru}]}`, 42, "invalid character '}' in literal true (expecting 'e')"},
	{JSON, `{"ops": [{"name": "a", "op": "1", "x": 1e+}]}`, 42, "invalid character '}' in exponent of numeric literal"},
	{JSON, `{"ops": [], "x": {"a" 1}}`, 22, "invalid character '1' after object key"},
	{JSON, `{"ops": [], "x": {"a": 1,}}`, 25, "invalid character '}' looking for beginning of object key string"},
	{JSON, `{"ops": [], "x": [[[]]}`, 22, "invalid character '}' after array element"},
	{JSONL, "x\n", 0, "invalid character 'x' looking for beginning of value"},
	{JSONL, `{"name": "a", "op": "1"} x`, 25, "invalid character 'x' after top-level value"},
	{JSONL, `{"name": "a", "op": "1"}{}`, 24, "invalid character '{' after top-level value"},
	{JSONL, "{\"name\": \"a\",\n\"op\": \"1\"}\n", 13, "unexpected end of line"},
	{JSONL, "{\"name\": \"a\n\", \"op\": \"1\"}\n", 11, "unexpected end of line"},
	{JSONL, "[1,\n2]\n", 3, "unexpected end of line"},
	{JSONL, "tr\nue\n", 2, "unexpected end of line"},
	{JSONL, "-\n", 1, "unexpected end of line"},
	{JSONL, `{"name": "a", "op": "1"}` + "\n" + `{"name": "b"`, 37, "unexpected end of input"},
	{JSONL, "{\"name\": \"a\", \"op\": \"1\"}\n\f\n", 25, "invalid character byte 0x0c looking for beginning of value"},
	{JSONL, "\xef\xbb\xbf\xef\xbb\xbf{}", 3, "invalid character byte 0xef looking for beginning of value"},
}

func TestStructural(t *testing.T) {
	for _, c := range structCases {
		want := &SyntaxError{Offset: c.offset, Reason: c.reason}
		err := Check(strings.NewReader(c.in), c.f)
		if se, ok := syntaxErr(err); !ok || *se != *want {
			t.Errorf("%v %q: Check = %v, want %v", c.f, c.in, err, want)
		}
		res := scanAll(t, []byte(c.in), c.f)
		if se, ok := syntaxErr(res.err); !ok || *se != *want {
			t.Errorf("%v %q: Scan = %v, want %v", c.f, c.in, res.err, want)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	// encoding/json's limit: 10000 levels, the top-level object included.
	ok := `{"ops": [], "x": ` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + "}"
	if err := Check(strings.NewReader(ok), JSON); err != nil {
		t.Errorf("10000 levels: %v", err)
	}
	deep := `{"ops": [], "x": ` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "}"
	want := SyntaxError{Offset: int64(len(`{"ops": [], "x": `) + 9999), Reason: "exceeded max depth (10000)"}
	if se, ok := syntaxErr(Check(strings.NewReader(deep), JSON)); !ok || *se != want {
		t.Errorf("10001 levels: %v, want %v", se, want)
	}
	if json := jsonSyntaxAt([]byte(deep)); json != want.Offset {
		t.Errorf("encoding/json fails at %d, want %d", json, want.Offset)
	}
	// In an op, inside a field, and on a .jsonl line.
	line := `{"name": "a", "op": "1", "x": ` + strings.Repeat("{\"k\":", 10000) + "1" + strings.Repeat("}", 10000) + "}"
	if err := Check(strings.NewReader(line), JSONL); err == nil {
		t.Error("a .jsonl line 10001 deep passed")
	}
	if res := scanAll(t, []byte(line), JSONL); res.err == nil {
		t.Error("Scan: a .jsonl line 10001 deep passed")
	}
	line = `{"name": "a", "op": "1", "x": ` + strings.Repeat("{\"k\":", 9999) + "1" + strings.Repeat("}", 9999) + "}"
	res := scanAll(t, []byte(line), JSONL)
	if res.err != nil || len(res.items) != 1 || res.items[0].Reject != `unknown field "x"` {
		t.Errorf("10000 deep .jsonl line: %v %+v", res.err, res.items)
	}
}

// TestScanStopsAtStructure: Scan has passed on the ops before a structural
// problem; Check has passed on nothing.
func TestScanStopsAtStructure(t *testing.T) {
	file := `{"ops": [{"name": "a", "op": "1"}, {"name": "b", "op": "2"}, x]}`
	res := scanAll(t, []byte(file), JSON)
	if _, ok := syntaxErr(res.err); !ok || len(res.items) != 2 {
		t.Fatalf("Scan: %v after %d items", res.err, len(res.items))
	}
}

func TestCallbackError(t *testing.T) {
	stop := errors.New("queue full")
	file := strings.Repeat(`{"name": "a", "op": "1"}`+"\n", 5)
	calls := 0
	err := Scan(strings.NewReader(file), JSONL, func(Item) error {
		if calls++; calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Fatalf("Scan = %v after %d calls, want %v after 3", err, calls, stop)
	}
}
