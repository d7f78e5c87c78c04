package batch

// memo's per-op rules (rules.go): what makes a name and an op valid, in which
// order they are checked, and the duplicate rule.

import (
	"strings"
	"testing"
)

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
