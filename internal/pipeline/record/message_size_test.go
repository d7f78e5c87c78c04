package record_test

import (
	"testing"
	"unicode/utf8"

	"github.com/memohq/memo/internal/pipeline/record"
)

// Size is the body's length at the edges of its arithmetic: a space (the
// first byte sent as is), an index of two digits, no ops at all.
func TestMessageSizeAtItsEdges(t *testing.T) {
	for _, m := range []record.Message{
		{Batch: "b c", Stamp: "s t", Ops: []record.MessageOp{{Name: "a b", Op: "1 + 1", Index: 10}}},
		{Batch: "b", Ops: []record.MessageOp{{Name: " ", Op: " ", Index: 9}, {Name: "x", Op: "2", Index: 99}, {Name: "y", Op: "3", Index: 100}}},
		// 0x7f is the last byte sent as is, 0x80 (alone, invalid) the
		// first escaped; -10 the first negative index of two digits.
		{Batch: "b\x7f\x80", Stamp: "\x80", Ops: []record.MessageOp{{Name: "a\x80", Op: "\x7f\x80", Index: -10}, {Name: "r", Op: "[\"\x7f\x80\"]", Raw: true, Index: -9}}},
	} {
		body, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if m.Size() != len(body) {
			t.Errorf("Size() = %d, body %q is %d bytes", m.Size(), body, len(body))
		}
		if !utf8.ValidString(body) {
			t.Errorf("body %q is not valid UTF-8", body)
		}
	}
	if got, want := (record.Message{Batch: "b"}).Size(), len(`{"batch":"b","ops":[]}`); got != want {
		t.Errorf("Size() of a pack without ops = %d, want %d", got, want)
	}
}
