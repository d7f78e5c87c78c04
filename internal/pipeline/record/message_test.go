package record

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// sqsAllowed is SQS's rule for message bodies.
func sqsAllowed(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// A pack survives its wire form; its body is one SQS accepts and exactly
// as long as Size says.
func TestMessageRoundTripAndSQSSafe(t *testing.T) {
	for _, m := range []Message{
		{Batch: "batches/work.json@abc", Ops: []MessageOp{{Name: "1_plus_1", Op: "1+1", Index: 0}}},
		{Batch: "b", Stamp: "0000000000001-00-b", Ops: []MessageOp{
			{Name: "odd \uFFFE\uFFFF \x01\x7f é 𝄞 \t\n\r\"\\", Op: "'\uFFFF' + \"\u2028\" <&>", Index: 42},
			{Name: "second", Op: "2", Index: -7},
			{Name: "third", Op: "\uFFFD", Index: 1234567890},
		}},
		{Batch: "b \uFFFF", Stamp: "s\x00", Ops: []MessageOp{{Name: "invalid \xff utf8", Op: "1", Index: 10}}},
	} {
		body, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if len(body) != m.Size() {
			t.Errorf("Size() = %d, the body has %d bytes: %q", m.Size(), len(body), body)
		}
		for _, r := range body {
			if !sqsAllowed(r) {
				t.Fatalf("body %q has %U, which SQS refuses", body, r)
			}
		}
		if !json.Valid([]byte(body)) {
			t.Fatalf("body %q is not JSON", body)
		}
		got, err := DecodeMessage(body)
		if err != nil {
			t.Fatal(err)
		}
		want := m
		want.Ops = append([]MessageOp(nil), m.Ops...)
		for i := range want.Ops {
			want.Ops[i].Name = strings.ToValidUTF8(want.Ops[i].Name, "\uFFFD")
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", body, d)
		}
	}
}

// The body matches encoding/json's reading of the same strings, and Size
// and OpSize count exactly what Encode writes, for any string.
func FuzzMessageEncoding(f *testing.F) {
	f.Add("a", "1+1", "b", 3)
	f.Add("\uFFFE\x00\xff", "\u2028\"", "\\", -1)
	f.Fuzz(func(t *testing.T, name, op, batch string, index int) {
		if name == "" || op == "" || batch == "" {
			return
		}
		m := Message{Batch: batch, Stamp: name + op, Ops: []MessageOp{{Name: name, Op: op, Index: index}, {Name: op, Op: name, Index: index / 2}}}
		body, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		one := Message{Batch: batch, Stamp: name + op, Ops: m.Ops[:1]}
		if len(body) != m.Size() || m.Size() != one.Size()+OpSize(m.Ops[1]) {
			t.Fatalf("%d bytes, Size %d, one op %d + OpSize %d", len(body), m.Size(), one.Size(), OpSize(m.Ops[1]))
		}
		for _, r := range body {
			if !sqsAllowed(r) {
				t.Fatalf("body %q has %U", body, r)
			}
		}
		got, err := DecodeMessage(body)
		if err != nil {
			t.Fatal(err)
		}
		var std struct {
			Batch string
			Ops   []MessageOp
		}
		if err := json.Unmarshal([]byte(body), &std); err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(got.Batch) || got.Batch != std.Batch || got.Ops[0] != std.Ops[0] || !utf8.ValidString(got.Ops[1].Op) {
			t.Fatalf("decoded %+v, encoding/json read %+v", got, std)
		}
	})
}

// Messages queued before packs existed hold one op in the old form: they
// decode as a pack of one.
func TestDecodeMessageOneOpForm(t *testing.T) {
	for body, want := range map[string]Message{
		`{"name":"x","op":"1+1","batch":"batches/a.json@v","index":7,"stamp":"0000000000001-00-batches/a.json@v"}`: {
			Batch: "batches/a.json@v", Stamp: "0000000000001-00-batches/a.json@v", Ops: []MessageOp{{Name: "x", Op: "1+1", Index: 7}}},
		`{"name":"y","op":"'\uffff'","batch":"b","index":0}`: {Batch: "b", Ops: []MessageOp{{Name: "y", Op: "'\uFFFF'"}}},
	} {
		got, err := DecodeMessage(body)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", body, d)
		}
	}
}

func TestDecodeMessageIsStrict(t *testing.T) {
	for _, body := range []string{
		``, `{}`, `null`, `[]`, `{"name":"a","op":"1"}`, `{"name":"a","op":"1","batch":"b","extra":1}`,
		`{"name":"a","op":"1","batch":"b"} {}`, `{"name":1,"op":"1","batch":"b"}`, `{"name":"","op":"1","batch":"b"}`,
		`{"name":"a","op":"","batch":"b"}`, `{"name":"a","op":"1","batch":""}`,
		`{"batch":"b","ops":[]}`, `{"batch":"b"}`, `{"batch":"b","ops":null}`, `{"ops":[{"name":"a","op":"1","index":0}]}`,
		`{"batch":"b","ops":[{"name":"a","op":"1","index":0,"x":1}]}`, `{"batch":"b","ops":[{"name":"","op":"1","index":0}]}`,
		`{"batch":"b","ops":[{"name":"a","op":"","index":0}]}`, `{"batch":"b","ops":[{"name":"a","op":"1"}],"name":"a"}`,
		`{"batch":"b","ops":[{"name":"a","op":"1"}],"index":0}`,
	} {
		if _, err := DecodeMessage(body); err == nil {
			t.Errorf("DecodeMessage(%q) accepted", body)
		}
	}
}

func TestEncodeRefusesAnEmptyPack(t *testing.T) {
	for _, m := range []Message{{Batch: "b"}, {Ops: []MessageOp{{Name: "a", Op: "1"}}}, {Batch: "b", Ops: []MessageOp{{Op: "1"}}}} {
		if body, err := m.Encode(); err == nil {
			t.Errorf("%+v encoded as %q", m, body)
		}
	}
}

// Under the json op rules an op is any JSON value: it crosses the queue as
// it was, and Size counts its escapes (what SQS refuses, only ever inside
// a string of it) exactly.
func TestMessageCarriesAnyJSONValue(t *testing.T) {
	raw := func(op string) MessageOp { return MessageOp{Name: "n", Op: op, Raw: true, Index: 3} }
	for _, c := range []struct {
		op   MessageOp
		body string // the op's part of the body
	}{
		{raw(`{"key":"photos/0001.jpg"}`), `{"key":"photos/0001.jpg"}`},
		{raw("{ \"k\" :\t[1, 2.5e3,\n null] }"), "{ \"k\" :\t[1, 2.5e3,\n null] }"},
		{raw(`42`), `42`},
		{raw(`-0.5`), `-0.5`},
		{raw(`true`), `true`},
		{raw(`false`), `false`},
		{raw(`null`), `null`},
		{raw(`[]`), `[]`},
		{raw(`["a\"b\\c\u0000"]`), `["a\"b\\c\u0000"]`},
		{raw("[\"\uFFFE\"]"), `["\ufffe"]`},
		{raw("{\"\uFFFF\":\"é\uFFFF𝄞\"}"), `{"\uffff":"é\uffff𝄞"}`},
		{raw("[\"\xff\"]"), `["\ufffd"]`},
		{raw("[\"\uFFFD\u2028\"]"), "[\"\uFFFD\u2028\"]"},
		{MessageOp{Name: "n", Op: "photos/0001.jpg", Index: 3}, `"photos/0001.jpg"`},
	} {
		m := Message{Batch: "b", Ops: []MessageOp{c.op}}
		body, err := m.Encode()
		if err != nil {
			t.Fatalf("%q: %v", c.op.Op, err)
		}
		if want := `{"batch":"b","ops":[{"name":"n","op":` + c.body + `,"index":3}]}`; body != want {
			t.Errorf("body %q, want %q", body, want)
		}
		if len(body) != m.Size() {
			t.Errorf("%q: Size() = %d, the body has %d bytes", c.op.Op, m.Size(), len(body))
		}
		for _, r := range body {
			if !sqsAllowed(r) {
				t.Fatalf("body %q has %U, which SQS refuses", body, r)
			}
		}
		got, err := DecodeMessage(body)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if !json.Valid([]byte(got.Ops[0].Op)) && got.Ops[0].Raw {
			t.Errorf("%q decoded as %q", body, got.Ops[0].Op)
		}
		var v1, v2 any
		if err := json.Unmarshal(got.Ops[0].JSON(), &v1); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.body), &v2); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(v2, v1); d != "" {
			t.Errorf("%q: the value changed on the queue (-sent +received):\n%s", body, d)
		}
		if c.body == c.op.Op && cmp.Diff(c.op, got.Ops[0]) != "" {
			t.Errorf("%q decoded as %+v, sent %+v", body, got.Ops[0], c.op)
		}
	}
}

// JSONOp gives one value one form: a string is a string op, anything else
// its JSON text; what is not one JSON value is refused.
func TestJSONOp(t *testing.T) {
	for _, c := range []struct {
		text string
		want MessageOp
		bad  bool
	}{
		{text: `"1+1"`, want: MessageOp{Name: "n", Op: "1+1", Index: 1}},
		{text: `"a\"\u00e9"`, want: MessageOp{Name: "n", Op: `a"é`, Index: 1}},
		{text: `{"key":"k"}`, want: MessageOp{Name: "n", Op: `{"key":"k"}`, Raw: true, Index: 1}},
		{text: `null`, want: MessageOp{Name: "n", Op: `null`, Raw: true, Index: 1}},
		{text: `{"a":`, bad: true},
		{text: `1 2`, bad: true},
		{text: `"a`, bad: true},
	} {
		got, err := JSONOp("n", c.text, 1)
		if (err != nil) != c.bad {
			t.Errorf("JSONOp(%q) = %+v, %v", c.text, got, err)
			continue
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("JSONOp(%q) (-want +got):\n%s", c.text, d)
		}
	}
	if _, err := JSONOp("n", "", 1); err != nil {
		t.Errorf("JSONOp of nothing: %v (the message refuses it: missing op)", err)
	}
}

// A Raw op is one JSON value other than a string, with nothing around it,
// so that the body gives it back as it was.
func TestEncodeRefusesARawOpThatIsNotOneValue(t *testing.T) {
	for _, op := range []string{`"a"`, ` 1`, `1 `, "\n[]", "[]\t", "\r1", `{`, `1 2`, `nul`, "\xff"} {
		m := Message{Batch: "b", Ops: []MessageOp{{Name: "n", Op: op, Raw: true}}}
		if body, err := m.Encode(); err == nil {
			t.Errorf("Raw op %q encoded as %q", op, body)
		}
	}
}

// Bodies already on a queue, written before ops could be any value, still
// decode; a value other than a string is now an op in both forms.
func TestDecodeMessageAnyValueInBothForms(t *testing.T) {
	for body, want := range map[string]Message{
		`{"batch":"b","ops":[{"name":"a","op":"1+1","index":0},{"name":"c","op":{"k":[1]},"index":1},{"name":"d","op":null,"index":2}]}`: {
			Batch: "b", Ops: []MessageOp{{Name: "a", Op: "1+1"}, {Name: "c", Op: `{"k":[1]}`, Raw: true, Index: 1}, {Name: "d", Op: "null", Raw: true, Index: 2}}},
		`{"name":"x","op":[1, 2],"batch":"b","index":7}`: {Batch: "b", Ops: []MessageOp{{Name: "x", Op: `[1, 2]`, Raw: true, Index: 7}}},
		`{"name":"x","op":false,"batch":"b","index":7}`:  {Batch: "b", Ops: []MessageOp{{Name: "x", Op: `false`, Raw: true, Index: 7}}},
	} {
		got, err := DecodeMessage(body)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", body, d)
		}
		// And the tools' view (encoding/json) agrees.
		var std Message
		if err := json.Unmarshal([]byte(body), &std); err == nil && std.Ops != nil {
			if d := cmp.Diff(want.Ops, std.Ops); d != "" {
				t.Errorf("encoding/json of %s (-want +got):\n%s", body, d)
			}
		}
	}
}

// The tools' JSON of a message is its body's form.
func TestMessageOpJSONIsTheBodysForm(t *testing.T) {
	m := Message{Batch: "b", Ops: []MessageOp{{Name: "a", Op: "1+1"}, {Name: "c", Op: `{"k":[1]}`, Raw: true, Index: 1}}}
	got, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"batch":"b","ops":[{"name":"a","op":"1+1","index":0},{"name":"c","op":{"k":[1]},"index":1}]}`; string(got) != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var back Message
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m, back); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := json.Unmarshal([]byte(`{"batch":"b","ops":[{"name":"a","op":1,"index":0,"x":1}]}`), &back); err == nil {
		t.Error("an unknown field of an op decoded")
	}
}

// For any text: a Raw op that is one JSON value other than a string is
// encoded exactly as long as Size says, SQS accepts the body, and the value
// read back is the value sent; anything else is refused.
func FuzzRawOp(f *testing.F) {
	for _, s := range []string{`{"k":"\uFFFE"}`, "[\"\xff\uFFFF\"]", ` 1`, `"s"`, `{"a":[1,{"b":null}]}`, `1e400`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, op string) {
		m := Message{Batch: "b", Ops: []MessageOp{{Name: "n", Op: op, Raw: true}}}
		body, err := m.Encode()
		valid := op != "" && op[0] != '"' && strings.Trim(op, " \t\r\n") == op && json.Valid([]byte(op))
		if (err == nil) != valid {
			t.Fatalf("Encode of %q: %v", op, err)
		}
		if err != nil {
			return
		}
		if len(body) != m.Size() {
			t.Fatalf("%q: Size() = %d, the body has %d bytes", op, m.Size(), len(body))
		}
		for _, r := range body {
			if !sqsAllowed(r) {
				t.Fatalf("body %q has %U", body, r)
			}
		}
		got, err := DecodeMessage(body)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(decodeNumbers(t, op), decodeNumbers(t, string(got.Ops[0].JSON()))); d != "" {
			t.Fatalf("%q (-sent +received):\n%s", op, d)
		}
	})
}

// decodeNumbers decodes the JSON text s, numbers as their text.
func decodeNumbers(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}
