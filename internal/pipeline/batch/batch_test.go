package batch

import (
	"bytes"
	"errors"
	"io"
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
		{"work.json.gz", 0, false, ""},
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
	}
	if s := Format(9).String(); s != "Format(9)" {
		t.Errorf("Format(9).String() = %q", s)
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

func TestValidateName(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"1_plus_1", ""},
		{"a", ""},
		{strings.Repeat("n", 255), ""},
		{strings.Repeat("é", 127) + "x", ""},
		{"a/b ../c d", ""},
		{"名前 😀 \u00a0 \u202e \ufffd", ""},
		{"", "name is empty"},
		{strings.Repeat("n", 256), "name is 256 bytes (max 255)"},
		{strings.Repeat("n", 10240), "name is 10240 bytes (max 255)"},
		{"a\x00", "name contains control character U+0000 at byte 1"},
		{"\tx", "name contains control character U+0009 at byte 0"},
		{"a\x1f", "name contains control character U+001F at byte 1"},
		{"a\x7f", "name contains control character U+007F at byte 1"},
		{"a\u0080", "name contains control character U+0080 at byte 1"},
		{"é\u009f", "name contains control character U+009F at byte 2"},
		{"a\xff", "name is not valid UTF-8 (byte 1)"},
		{"a\x80b", "name is not valid UTF-8 (byte 1)"}, // a lone continuation byte: the first byte that is not ASCII
		{"a\xc3", "name is not valid UTF-8 (byte 1)"},
		{"\xc0\xaf", "name is not valid UTF-8 (byte 0)"},
		{"x\xed\xa0\x80", "name is not valid UTF-8 (byte 1)"},
		{"\xf4\x90\x80\x80", "name is not valid UTF-8 (byte 0)"},
	} {
		if got := ValidateName(c.name); got != c.want {
			t.Errorf("ValidateName(%.40q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestValidateOp(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }
	for _, c := range []struct{ op, want string }{
		{"1+1", ""},
		{"'abc' =~ 'b'", ""},
		{"1\t+\n1", ""},
		{"'é' + '😀'", ""},
		{strings.Repeat("1", 1024), ""},
		{nest(64), ""},
		{")))(((1", ""},
		{"(1)(2)(3)", ""},
		{"", "op is empty"},
		{strings.Repeat("1", 1025), "op is 1025 bytes (max 1024)"},
		{nest(100000), "op is 200001 bytes (max 1024)"},
		{nest(65), "op nests parentheses 65 deep (max 64)"},
		{"'" + strings.Repeat("(", 70) + "'", "op nests parentheses 70 deep (max 64)"},
		{"1 + 1\\", "op contains a backslash (byte 5)"},
		{"'a\\'b'", "op contains a backslash (byte 2)"},
		{"1 + \xff", "op is not valid UTF-8 (byte 4)"},
		{"é\xc3", "op is not valid UTF-8 (byte 2)"},
		// Length comes first, then UTF-8, then the backslash, then nesting.
		{strings.Repeat("\\", 1025), "op is 1025 bytes (max 1024)"},
		{"\\\xff", "op is not valid UTF-8 (byte 1)"},
		{nest(65) + "\\", "op contains a backslash (byte 131)"},
	} {
		if got := ValidateOp(c.op); got != c.want {
			t.Errorf("ValidateOp(%.40q) = %q, want %q", c.op, got, c.want)
		}
	}
}

// opCase is one op entry and what Scan must make of it.
type opCase struct {
	elem   string // the entry's JSON text
	name   string // Item.Op.Name
	op     string // Item.Op.Op
	reject string // "" = accepted; else the whole reason
}

var opCases = []opCase{
	{`{"name": "a", "op": "1+1"}`, "a", "1+1", ""},
	{`{"op": "1+1", "name": "a"}`, "a", "1+1", ""},
	{` { "name" : "a" , "op" : "1" } `, "a", "1", ""},
	{`{"n\u0061me": "a", "\u006fp": "1"}`, "a", "1", ""},
	{`{"name": "caf\u00e9", "op": "1\t+\n1\r"}`, "café", "1\t+\n1\r", ""},
	// A backslash is fine in a name: only the op is bounded by it.
	{`{"name": "\"q\" \/ \\/", "op": "\"a\" + \"b\""}`, "\"q\" / \\/", "\"a\" + \"b\"", ""},
	{`{"name": "\ud83d\ude00", "op": "'\uD83D\uDE00'"}`, "😀", "'😀'", ""},
	{`{"name": "é😀", "op": "'ü'"}`, "é😀", "'ü'", ""},
	{`{"name": "a\u00a0b", "op": "1"}`, "a\u00a0b", "1", ""},

	// The shape of the entry.
	{`[1, 2]`, "", "", "not a JSON object (found an array)"},
	{`"a"`, "", "", "not a JSON object (found a string)"},
	{`-1.5e3`, "", "", "not a JSON object (found a number)"},
	{`9`, "", "", "not a JSON object (found a number)"},
	{`0`, "", "", "not a JSON object (found a number)"},
	{`true`, "", "", "not a JSON object (found a boolean)"},
	{`null`, "", "", "not a JSON object (found null)"},
	{`{}`, "", "", `missing field "name"`},
	{`{"name": "a"}`, "a", "", `missing field "op"`},
	{`{"op": "1"}`, "", "1", `missing field "name"`},
	{`{"name": "a", "op": "1", "x": {"y": [1]}}`, "a", "1", `unknown field "x"`},
	{`{"Name": "a", "op": "1"}`, "", "1", `unknown field "Name"`},
	{`{"name": "a", "op": "1", "` + strings.Repeat("k", 100) + `": 0}`, "a", "1", `unknown field "` + strings.Repeat("k", 64) + `"...`},
	{`{"name": "a", "op": "1", "\u0000": 0}`, "a", "1", `unknown field "\x00"`},
	{`{"x": 1}`, "", "", `unknown field "x"`},
	{`{"name": "a", "name": "b", "op": "1"}`, "a", "1", `duplicate field "name"`},
	{`{"name": "a", "op": "1", "op": 2}`, "a", "1", `duplicate field "op"`},
	{`{"name": 7, "op": "1"}`, "", "1", `field "name" is a number, not a string`},
	{`{"name": null, "op": "1"}`, "", "1", `field "name" is null, not a string`},
	{`{"name": "a", "op": ["1"]}`, "a", "", `field "op" is an array, not a string`},
	{`{"name": "a", "op": {"x": "1"}}`, "a", "", `field "op" is an object, not a string`},
	{`{"name": "a", "op": false}`, "a", "", `field "op" is a boolean, not a string`},
	// The first problem in document order wins, before missing fields.
	{`{"name": 1, "x": 2}`, "", "", `field "name" is a number, not a string`},
	{`{"x": 2, "name": 1}`, "", "", `unknown field "x"`},

	// The name.
	{`{"name": "", "op": "1"}`, "", "1", "name is empty"},
	{`{"name": "` + strings.Repeat("n", 255) + `", "op": "1"}`, strings.Repeat("n", 255), "1", ""},
	{`{"name": "` + strings.Repeat("n", 256) + `", "op": "1"}`, strings.Repeat("n", 255), "1", "name is 256 bytes (max 255)"},
	{`{"name": "` + strings.Repeat(`\u00e9`, 128) + `", "op": "1"}`, strings.Repeat("é", 127) + "\xc3", "1", "name is 256 bytes (max 255)"},
	{`{"name": "` + strings.Repeat("n", 10240) + `", "op": "1"}`, strings.Repeat("n", 255), "1", "name is 10240 bytes (max 255)"},
	{`{"name": "a\u0000", "op": "1"}`, "a\x00", "1", "name contains control character U+0000 at byte 1"},
	{`{"name": "a\n", "op": "1"}`, "a\n", "1", "name contains control character U+000A at byte 1"},
	{"{\"name\": \"a\x7f\", \"op\": \"1\"}", "a\x7f", "1", "name contains control character U+007F at byte 1"},
	{`{"name": "a\u0085", "op": "1"}`, "a\u0085", "1", "name contains control character U+0085 at byte 1"},
	{"{\"name\": \"a\xc2\x80\", \"op\": \"1\"}", "a\u0080", "1", "name contains control character U+0080 at byte 1"},
	{"{\"name\": \"a\xff\", \"op\": \"1\"}", "a\xff", "1", "name is not valid UTF-8 (byte 1)"},
	{"{\"name\": \"\xed\xa0\x80\", \"op\": \"1\"}", "\xed\xa0\x80", "1", "name is not valid UTF-8 (byte 0)"},
	{`{"name": "a\ud800", "op": "1"}`, "a\ufffd", "1", `name is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape)`},
	{`{"name": "\udc00a", "op": "1"}`, "\ufffda", "1", `name is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape)`},
	{`{"name": "\ud83d\ud83d\ude00", "op": "1"}`, "\ufffd😀", "1", `name is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape)`},
	{`{"name": "\ud83d\u0041", "op": "1"}`, "\ufffdA", "1", `name is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape)`},
	{`{"name": "\ufffd", "op": "1"}`, "\ufffd", "1", ""},

	// The op.
	{`{"name": "a", "op": ""}`, "a", "", "op is empty"},
	{`{"name": "a", "op": "` + strings.Repeat("1", 1024) + `"}`, "a", strings.Repeat("1", 1024), ""},
	{`{"name": "a", "op": "` + strings.Repeat("1", 1025) + `"}`, "a", strings.Repeat("1", 1024), "op is 1025 bytes (max 1024)"},
	{`{"name": "a", "op": "1\\"}`, "a", "1\\", "op contains a backslash (byte 1)"},
	{`{"name": "a", "op": "\u005c"}`, "a", "\\", "op contains a backslash (byte 0)"},
	{`{"name": "a", "op": "` + strings.Repeat("(", 64) + "1" + strings.Repeat(")", 64) + `"}`, "a", strings.Repeat("(", 64) + "1" + strings.Repeat(")", 64), ""},
	{`{"name": "a", "op": "` + strings.Repeat("(", 65) + `"}`, "a", strings.Repeat("(", 65), "op nests parentheses 65 deep (max 64)"},
	{"{\"name\": \"a\", \"op\": \"1\xff\"}", "a", "1\xff", "op is not valid UTF-8 (byte 1)"},
	{`{"name": "a", "op": "\udfff"}`, "a", "\ufffd", `op is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape)`},
	{`{"name": "a", "op": "1\u0000+1"}`, "a", "1\x00+1", ""},
	// A bad name is reported before a bad op.
	{`{"name": "", "op": ""}`, "", "", "name is empty"},
}

func TestOpRules(t *testing.T) {
	for _, c := range opCases {
		for _, f := range []Format{JSON, JSONL} {
			file := c.elem + "\n"
			if f == JSON {
				file = `{"ops": [` + c.elem + `]}`
			}
			res := scanAll(t, []byte(file), f)
			if res.err != nil {
				t.Errorf("%v %.60s: %v", f, c.elem, res.err)
				continue
			}
			if len(res.items) != 1 {
				t.Errorf("%v %.60s: %d items", f, c.elem, len(res.items))
				continue
			}
			want := Item{Index: 0, Op: Op{Name: c.name, Op: c.op}, Reject: c.reject}
			// The op's bytes, without the whitespace around it.
			lead := len(c.elem) - len(strings.TrimLeft(c.elem, " \t\r\n"))
			want.Start, want.End = int64(lead), int64(len(strings.TrimRight(c.elem, " \t\r\n")))
			if f == JSON {
				want.Start, want.End = want.Start+9, want.End+9
			}
			if got := res.items[0]; got != want {
				t.Errorf("%v %.60s:\n got %+v\nwant %+v", f, c.elem, got, want)
			}
			if err := Check(strings.NewReader(file), f); err != nil {
				t.Errorf("%v %.60s: Check = %v", f, c.elem, err)
			}
		}
	}
}

func TestDuplicates(t *testing.T) {
	file := `{"ops": [
		{"name": "a", "op": "1"},
		{"name": "b", "op": "1\\"},
		{"name": "a", "op": "2"},
		{"name": "b", "op": "3"},
		{"name": "\u0061", "op": "4"},
		{"name": "b", "op": "5"},
		{"name": "A", "op": "6"},
		{"name": "a ", "op": "7"}
	]}`
	want := []string{"", "op contains a backslash (byte 1)", "duplicate of op 0", "", "duplicate of op 0", "duplicate of op 3", "", ""}
	res := scanAll(t, []byte(file), JSON)
	if res.err != nil || len(res.items) != len(want) {
		t.Fatalf("Scan: %v, %d items", res.err, len(res.items))
	}
	for i, it := range res.items {
		if it.Reject != want[i] {
			t.Errorf("op %d (%q): %q, want %q", i, it.Op.Name, it.Reject, want[i])
		}
	}
}

// TestDuplicatesFresh: each Scan has its own set of names.
func TestDuplicatesFresh(t *testing.T) {
	file := []byte(`{"name": "a", "op": "1"}` + "\n")
	for range 2 {
		res := scanAll(t, file, JSONL)
		if res.err != nil || len(res.items) != 1 || res.items[0].Reject != "" {
			t.Fatalf("Scan: %v %v", res.err, res.items)
		}
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

// failReader returns its data, then err instead of io.EOF.
type failReader struct {
	data []byte
	err  error
}

func (r *failReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadError(t *testing.T) {
	cut := errors.New("connection reset")
	for _, c := range []struct {
		f    Format
		data string
	}{
		{JSON, `{"ops": [{"name": "a", "op": "1"}`},
		{JSON, `{"ops": [{"name": "a", "op": "1"}]}`}, // complete, but the stream failed
		{JSON, ``},
		{JSONL, `{"name": "a", "op": "1"}` + "\n"},
		{JSONL, `{"name": "a", "op": "1`},
		{JSONL, ``},
	} {
		for name, run := range map[string]func(io.Reader) error{
			"Check": func(r io.Reader) error { return Check(r, c.f) },
			"Scan":  func(r io.Reader) error { return Scan(r, c.f, func(Item) error { return nil }) },
		} {
			err := run(&failReader{data: []byte(c.data), err: cut})
			if _, syntax := syntaxErr(err); syntax || !errors.Is(err, cut) {
				t.Errorf("%s %v %q: %v, want the read error", name, c.f, c.data, err)
			}
		}
	}
	// A reader that makes no progress is an error too, not a hang.
	if err := Check(zeroReader{}, JSON); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("Check of a reader that returns 0, nil: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// TestReaders: every way of feeding the same input gives the same result,
// over a file with long values that straddle every buffer boundary.
func TestReaders(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\xef\xbb\xbf{\"x\": [\"" + strings.Repeat(`\u00e9\ud83d\ude00\n`, 3000) + "\"], \"ops\": [")
	for i := range 400 {
		if i > 0 {
			b.WriteString(",\n")
		}
		switch i % 5 {
		case 0:
			b.WriteString(`{"name": "n` + strings.Repeat(`\u00e9`, i%300) + `", "op": "` + strings.Repeat("(1+", i%50) + `1"}`)
		case 1:
			b.WriteString(`{"op": "` + strings.Repeat("1+", i*3) + `1", "name": "o` + strings.Repeat("x", i) + `"}`)
		case 2:
			b.WriteString(`{"name": "\ud83d\ude00` + strings.Repeat("y", i%7) + `", "op": "1", "junk": [` + strings.Repeat(`1e-3, true, {"a": null}, `, i%40) + `0]}`)
		case 3:
			b.WriteString(`[` + strings.Repeat(`"\u0041\ud800", -0.5E+2, `, i%40) + `false]`)
		case 4:
			b.WriteString(`{"name": "d` + strings.Repeat("z", i%11) + `", "op": "'` + strings.Repeat(`\"`, i) + `'"}`)
		}
	}
	b.WriteString("]}\n")
	data := b.Bytes()
	t.Logf("%d KiB", len(data)>>10)
	want := scanAll(t, data, JSON)
	if want.err != nil || len(want.items) != 400 {
		t.Fatalf("Scan: %v, %d items", want.err, len(want.items))
	}
	checkItems(t, want.items)
	for seed := range uint64(3) {
		for name, open := range readers(data, seed) {
			r, size := open()
			got := scanReader(r, JSON, size)
			if got.err != nil || !sameItems(got.items, want.items) {
				t.Errorf("%s reader (seed %d): %v, items differ", name, seed, got.err)
			}
			r, size = open()
			if err := check(r, JSON, size); err != nil {
				t.Errorf("%s reader: Check = %v", name, err)
			}
		}
	}
	// The same with the file cut at 50 places.
	for k := range 50 {
		cut := 1 + k*(len(data)-2)/50
		want := scanAll(t, data[:cut], JSON)
		for name, open := range readers(data[:cut], uint64(cut)) {
			if name == "one-byte" || name == "data-err" {
				continue
			}
			r, size := open()
			if got := scanReader(r, JSON, size); !sameErr(got.err, want.err) || !sameItems(got.items, want.items) {
				t.Errorf("cut at %d, %s reader: %v, want %v", cut, name, got.err, want.err)
			}
		}
	}
}

// stallReader returns (0, nil) stalls times, then data in one read.
type stallReader struct {
	data   []byte
	stalls int
}

func (r *stallReader) Read(p []byte) (int, error) {
	if r.stalls > 0 {
		r.stalls--
		return 0, nil
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadersThatStall: a reader may return 0, nil (io.Reader allows it);
// 100 times in a row is no progress, as bufio counts it.
func TestReadersThatStall(t *testing.T) {
	const doc = `{"ops": [{"name": "a", "op": "1"}]}`
	for _, stalls := range []int{1, 99} {
		if err := Check(&stallReader{data: []byte(doc), stalls: stalls}, JSON); err != nil {
			t.Errorf("%d stalls before the data: %v", stalls, err)
		}
	}
	if err := Check(&stallReader{data: []byte(doc), stalls: 100}, JSON); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("100 stalls in a row: %v, want io.ErrNoProgress", err)
	}
}

// overReader claims to have read more than it was given.
type overReader struct{ calls int }

// Read gives one byte, then claims len(p)+1.
func (r *overReader) Read(p []byte) (int, error) {
	if r.calls++; r.calls == 1 {
		return copy(p, "{"), nil
	}
	return len(p) + 1, nil
}

func TestReaderReturningTooMuchIsAnError(t *testing.T) {
	if err := Check(&overReader{}, JSON); err == nil || !strings.Contains(err.Error(), "invalid count") {
		t.Errorf("Check of a reader returning len(p)+1: %v", err)
	}
}
