package batch

// JSONRules (rules.go): an op is any JSON value, kept as the file holds it,
// within MaxJSONOpBytes and MaxJSONOpDepth, of valid UTF-8. Names and
// duplicates follow the same rules as under ExpressionRules.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func scanRules(t testing.TB, r io.Reader, f Format, rules Rules) []Item {
	t.Helper()
	var items []Item
	if err := rules.Scan(r, f, func(it Item) error {
		items = append(items, it)
		return nil
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return items
}

type ruled struct {
	Op, Reject string
}

func ops(items []Item) []ruled {
	out := make([]ruled, len(items))
	for i, it := range items {
		out[i] = ruled{it.Op.Op, it.Reject}
	}
	return out
}

func nestJSON(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

// Each value is one op's "op" in a .jsonl file, then in a .json file.
func TestJSONRulesTakeAnyJSONValue(t *testing.T) {
	big := `"` + strings.Repeat("x", MaxJSONOpBytes-2) + `"`
	for _, c := range []struct {
		name, value string
		want        ruled // want.op "" means the value itself
	}{
		{"string", `"photos/0001.jpg"`, ruled{}},
		{"string with escapes", `"a\"b\\c\n\u00e9\ud83d\ude00"`, ruled{}},
		{"an expression is a string", `"1+1"`, ruled{}},
		{"empty string", `""`, ruled{}},
		{"integer", `42`, ruled{}},
		{"number", `-1.5e+300`, ruled{}},
		{"object", `{"key": "photos/0001.jpg", "size": [1, 2.5, null]}`, ruled{}},
		{"object kept as written", "{ \"k\" :\t1 }", ruled{}},
		{"array", `[1, "two", {"three": 3}]`, ruled{}},
		{"true", `true`, ruled{}},
		{"false", `false`, ruled{}},
		{"null", `null`, ruled{}},
		{"empty object", `{}`, ruled{}},
		{"nested 64 deep", nestJSON(64), ruled{}},
		{"longest", big, ruled{}},
		{"nested 65 deep", nestJSON(65), ruled{nestJSON(65), "op nests arrays and objects 65 deep (max 64)"}},
		{"nested in objects", `{"a":` + nestJSON(64) + `}`, ruled{`{"a":` + nestJSON(64) + `}`, "op nests arrays and objects 65 deep (max 64)"}},
		{"one byte too long", big + " ", ruled{}}, // whitespace after the value is not the op's
		{"too long", `"` + strings.Repeat("x", MaxJSONOpBytes-1) + `"`, ruled{big[:MaxJSONOpBytes-1] + "x", fmt.Sprintf("op is %d bytes (max %d)", MaxJSONOpBytes+1, MaxJSONOpBytes)}},
		{"invalid UTF-8", `"a` + "\xff" + `"`, ruled{`"a` + "\xff" + `"`, "op is not valid UTF-8 (byte 2)"}},
		{"lone high surrogate", `["\ud800"]`, ruled{`["\ud800"]`, `op is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape at byte 2)`}},
		{"lone low surrogate", `"x\udc00"`, ruled{`"x\udc00"`, `op is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape at byte 2)`}},
		{"high surrogate then a letter", `"\ud800\u0041"`, ruled{`"\ud800\u0041"`, `op is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape at byte 1)`}},
		{"escaped backslash then u", `"\\ud800"`, ruled{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			if want.Op == "" {
				want.Op = strings.TrimRight(c.value, " ")
			}
			line := `{"name":"n","op":` + c.value + "}"
			for _, file := range []struct {
				f    Format
				data string
			}{
				{JSONL, line + "\n"},
				{JSON, `{"ops":[` + line + `]}`},
			} {
				for how, r := range readers([]byte(file.data), 1) {
					rd, size := r()
					var items []Item
					err := scanFileSized(rd, file.f, JSONRules, size, &items)
					if err != nil {
						t.Fatalf("%v %s: %v", file.f, how, err)
					}
					if diff := cmp.Diff([]ruled{want}, ops(items)); diff != "" {
						t.Fatalf("%v %s: op (-want +got):\n%s", file.f, how, diff)
					}
					if got := file.data[items[0].Start:items[0].End]; got != line {
						t.Errorf("%v %s: Start..End = %q, want the element %q", file.f, how, got, line)
					}
				}
			}
		})
	}
}

func scanFileSized(r io.Reader, f Format, rules Rules, size int, items *[]Item) error {
	_, err := scanFile(r, f, newRules(rules, newNameSet()), func(it Item) error {
		*items = append(*items, it)
		return nil
	}, size)
	return err
}

// The rules are the pipeline's setting: the same file under each.
func TestRulesDecideWhatAnOpIs(t *testing.T) {
	data := `{"name":"a","op":"1+1"}
{"name":"b","op":{"key":"k"}}
{"name":"c","op":"a\\b"}
{"name":"a","op":2}
{"name":"","op":3}
{"name":"d"}
`
	for _, c := range []struct {
		rules Rules
		want  []ruled
	}{
		{ExpressionRules, []ruled{
			{"1+1", ""},
			{"", `field "op" is an object, not a string`},
			{`a\b`, "op contains a backslash (byte 1)"},
			{"", `field "op" is a number, not a string`},
			{"", `field "op" is a number, not a string`},
			{"", `missing field "op"`},
		}},
		{JSONRules, []ruled{
			{`"1+1"`, ""},
			{`{"key":"k"}`, ""},
			{`"a\\b"`, ""},
			{"2", "duplicate of op 0"},
			{"3", "name is empty"},
			{"", `missing field "op"`},
		}},
	} {
		got := ops(scanRules(t, strings.NewReader(data), JSONL, c.rules))
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%v rules (-want +got):\n%s", c.rules, diff)
		}
	}
}

// A CSV cell is text: under JSONRules it is carried as a JSON string,
// whatever it looks like.
func TestJSONRulesCarryACSVCellAsAString(t *testing.T) {
	data := "name,op\r\n" +
		"a,photos/0001.jpg\r\n" +
		"b,42\r\n" +
		"c,\"{\"\"key\"\": 1}\"\r\n" +
		"d,\"tab\tquote\"\"\nline\"\r\n" +
		"e,\r\n" +
		"f,\"\xff\"\r\n" +
		"g," + strings.Repeat("x", MaxJSONOpBytes-1) + "\r\n" +
		"a,dup\r\n"
	items := scanRules(t, strings.NewReader(data), CSV, JSONRules)
	want := []ruled{
		{`"photos/0001.jpg"`, ""},
		{`"42"`, ""},
		{`"{\"key\": 1}"`, ""},
		{`"tab\tquote\"\nline"`, ""},
		{`""`, ""},
		{"\xff", "line 8: op is not valid UTF-8 (byte 0)"},
		{`"` + strings.Repeat("x", MaxJSONOpBytes-1), fmt.Sprintf("line 9: op is %d bytes of JSON (max %d)", MaxJSONOpBytes+1, MaxJSONOpBytes)},
		{`"dup"`, "line 10: duplicate of op 0"},
	}
	if diff := cmp.Diff(want, ops(items)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, it := range items {
		if it.Reject == "" && !json.Valid([]byte(it.Op.Op)) {
			t.Errorf("op %d: %q is not JSON", it.Index, it.Op.Op)
		}
	}
}

// A chunk reads its run of ops with the rules of its plan: the same items,
// with offsets counted from the run's start.
func TestJSONRulesChunksCutAtOffsets(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `{"name":"n%d","op":{"i":%d,"pad":%q}}`+"\n", i, i, strings.Repeat("p", i*37))
	}
	for _, f := range []Format{JSONL, JSON, CSV} {
		var data string
		switch f {
		case JSON:
			data = `{"ops":[` + strings.ReplaceAll(strings.TrimSuffix(b.String(), "\n"), "}\n{", "},\n {") + "]}"
		case CSV:
			var c strings.Builder
			c.WriteString("name,op\n")
			for i := range 50 {
				fmt.Fprintf(&c, "n%d,\"{\"\"i\"\":%d}\"\n", i, i)
			}
			data = c.String()
		default:
			data = b.String()
		}
		var header []string
		var whole []Item
		header, err := JSONRules.ScanFile(strings.NewReader(data), f, func(it Item) error {
			whole = append(whole, it)
			return nil
		})
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		for _, cut := range [][2]int{{0, 50}, {7, 23}, {49, 50}} {
			first, last := whole[cut[0]], whole[cut[1]-1]
			run := Run{Offset: first.Start, Length: last.End - first.Start, First: first.Index, Header: header}
			var got []Item
			if err := JSONRules.ScanChunk(strings.NewReader(data[first.Start:last.End]), f, run, func(it Item) error {
				got = append(got, it)
				return nil
			}); err != nil {
				t.Fatalf("%v run %v: %v", f, cut, err)
			}
			if diff := cmp.Diff(ops(whole[cut[0]:cut[1]]), ops(got)); diff != "" {
				t.Errorf("%v run %v (-plan +chunk):\n%s", f, cut, diff)
			}
			for i, it := range got {
				if it.Start+first.Start != whole[cut[0]+i].Start || it.End+first.Start != whole[cut[0]+i].End {
					t.Errorf("%v run %v op %d: offsets %d..%d in the run, %d..%d in the file", f, cut, it.Index, it.Start, it.End, whole[cut[0]+i].Start, whole[cut[0]+i].End)
				}
			}
		}
	}
}

// hostileOp is a .jsonl file of one op whose value is an array of n bytes,
// generated as it is read.
type hostileOp struct {
	head, tail string
	n, sent    int64
}

func (h *hostileOp) Read(p []byte) (int, error) {
	total := int64(len(h.head)) + h.n + int64(len(h.tail))
	if h.sent >= total {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && h.sent < total {
		switch i := h.sent; {
		case i < int64(len(h.head)):
			p[k] = h.head[i]
		case i < int64(len(h.head))+h.n:
			if (i-int64(len(h.head)))%2 == 0 {
				p[k] = '1'
			} else {
				p[k] = ','
			}
		default:
			p[k] = h.tail[i-int64(len(h.head))-h.n]
		}
		k++
		h.sent++
	}
	return k, nil
}

// A hostile value is read through, never held: memory stays at the
// scanner's buffer and the op's kept prefix, and the op is rejected alone.
func TestJSONRulesBoundAValueWhileReadingIt(t *testing.T) {
	const n = 64 << 20 // an even count: "1,1,...,1," closed by "1]"
	h := &hostileOp{head: `{"name":"big","op":[`, n: n, tail: "1]}\n" + `{"name":"small","op":[1]}` + "\n"}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	items := scanRules(t, h, JSONL, JSONRules)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("scanning a %d-byte op allocated %d bytes", n, got)
	}
	want := []ruled{
		{"[" + strings.Repeat("1,", (MaxJSONOpBytes-1)/2) + "1", fmt.Sprintf("op is %d bytes (max %d)", n+3, MaxJSONOpBytes)},
		{"[1]", ""},
	}
	if diff := cmp.Diff(want, ops(items)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzJSONRules: under JSONRules, for any bytes, every way of reading the
// input gives the same items, and each op object encoding/json accepts
// (with the keys name and op, the name a string) is an item whose op is
// the bytes of its value exactly, accepted when it is within the bounds.
func FuzzJSONRules(f *testing.F) {
	addSeeds(f)
	for _, s := range []string{
		`{"ops":[{"name":"a","op":{"key":"photos/1.jpg"}},{"name":"b","op":[1,true,null,"\ud83d\ude00"]}]}`,
		`{"name":"a","op":` + nestJSON(65) + `}` + "\n" + `{"name":"b","op":-0.5e3}`,
		`{"name":"a","op":"\udc00"}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		format := formatOf(jsonl)
		var first []Item
		firstErr := scanFileSized(bytes.NewReader(data), format, JSONRules, bufSize, &first)
		for how, r := range readers(data, uint64(len(data))) {
			rd, size := r()
			var items []Item
			err := scanFileSized(rd, format, JSONRules, size, &items)
			if !sameErr(err, firstErr) || !sameItems(items, first) {
				t.Fatalf("%s: %v %d items, whole: %v %d items", how, err, len(items), firstErr, len(first))
			}
		}
		want := encodingJSONVerdict(data, jsonl)
		if (firstErr == nil) != want.valid {
			t.Fatalf("Scan = %v, encoding/json says valid=%v", firstErr, want.valid)
		}
		if firstErr != nil {
			return
		}
		for i, it := range first {
			var op struct {
				Name *string         `json:"name"`
				Op   json.RawMessage `json:"op"`
			}
			dec := json.NewDecoder(bytes.NewReader(want.elems[i]))
			dec.DisallowUnknownFields()
			if dec.Decode(&op) != nil || op.Name == nil || op.Op == nil {
				if it.Reject == "" {
					t.Fatalf("item %d accepted, encoding/json does not see an op in %s", i, want.elems[i])
				}
				continue
			}
			if it.Reject == "" || strings.HasPrefix(it.Reject, "op ") {
				if len(op.Op) <= MaxJSONOpBytes && it.Op.Op != string(op.Op) {
					t.Fatalf("item %d: op %q, encoding/json reads %q", i, it.Op.Op, op.Op)
				}
			}
			if it.Reject != "" {
				continue
			}
			if !utf8.Valid(op.Op) || len(op.Op) > MaxJSONOpBytes || jsonDepth(op.Op) > MaxJSONOpDepth {
				t.Fatalf("item %d accepted: %q", i, op.Op)
			}
			var v any
			if err := json.Unmarshal(op.Op, &v); err != nil {
				t.Fatalf("item %d accepted, encoding/json: %v", i, err)
			}
		}
	})
}

// jsonDepth is the deepest nesting of arrays and objects of valid JSON.
func jsonDepth(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}
