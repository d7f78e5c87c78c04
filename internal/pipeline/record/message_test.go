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
