package record

import (
	"strings"
	"testing"
	"time"
)

func TestStampsSortInUploadOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// Each stamp is older than the next.
	ordered := []Stamp{
		"", // a message queued before stamps existed
		NewStamp(time.Time{}, "", "batches/z.json@e"),
		NewStamp(t0, "", "batches/z.json@e"),
		NewStamp(t0, "9", "batches/a.json@e"),
		// S3's rule for sequencers: pad the shorter with zeros on the left,
		// then compare: 0A > 9, 00FF > 0A, 100 > FF.
		NewStamp(t0, "0A", "batches/a.json@e"),
		NewStamp(t0, "00ff", "batches/a.json@e"),
		NewStamp(t0, "100", "batches/a.json@e"),
		// Same time and sequencer: the batch id decides, deterministically.
		NewStamp(t0, "100", "batches/b.json@e"),
		// Sub-millisecond digits are dropped (S3's precision): the
		// sequencer decides within a millisecond.
		NewStamp(t0.Add(time.Millisecond+900*time.Microsecond), "1", "batches/a.json@e"),
		NewStamp(t0.Add(time.Millisecond), "2", "batches/a.json@e"),
		NewStamp(t0.Add(time.Second), "", "batches/a.json@e"),
	}
	for i := 1; i < len(ordered); i++ {
		if !(ordered[i-1] < ordered[i]) {
			t.Errorf("stamp %d %q is not older than %d %q", i-1, ordered[i-1], i, ordered[i])
		}
	}
	if a, b := NewStamp(t0, "0055AED6DCD90281E5", "k@e"), NewStamp(t0, "55aed6dcd90281e5", "k@e"); a != b {
		t.Errorf("leading zeros and case change the stamp: %q vs %q", a, b)
	}
}

// Point 10 of issue 18: S3 orders one key's events by sequencer only; the
// event times of two overlapping PUTs of one key may disagree with it.
func TestNewerOrdersOneKeyBySequencerAndKeysByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later := t0.Add(time.Second)
	cases := []struct {
		name string
		a, b Stamp
		want bool // a newer than b
	}{
		{"same key: the greater sequencer wins though its eventTime is earlier",
			NewStamp(t0, "0B", "batches/k.json@v2"), NewStamp(later, "0A", "batches/k.json@v1"), true},
		{"same key: the smaller sequencer loses though its eventTime is later",
			NewStamp(later, "0A", "batches/k.json@v1"), NewStamp(t0, "0B", "batches/k.json@v2"), false},
		{"different keys: eventTime decides, sequencers are not comparable",
			NewStamp(later, "01", "batches/a.json@v"), NewStamp(t0, "FF", "batches/b.json@v"), true},
		{"same key, no sequencers: eventTime decides",
			NewStamp(later, "", "batches/k.json@v2"), NewStamp(t0, "", "batches/k.json@v1"), true},
		{"one upload is not newer than itself",
			NewStamp(t0, "0A", "batches/k.json@v1"), NewStamp(t0, "0A", "batches/k.json@v1"), false},
		{"a key with '@' and '-' in it", NewStamp(t0, "0B", "batches/a-b@c.json@v2"), NewStamp(later, "0A", "batches/a-b@c.json@v1"), true},
		{"any stamp is newer than none", NewStamp(t0, "", "batches/k.json@v"), "", true},
	}
	for _, c := range cases {
		if got := Newer(c.a, c.b); got != c.want {
			t.Errorf("%s: Newer(%q, %q) = %v, want %v", c.name, c.a, c.b, got, c.want)
		}
	}
	if !MayReplace(NewStamp(t0, "0A", "batches/k.json@v1"), NewStamp(t0, "0A", "batches/k.json@v1")) {
		t.Error("a redelivery of one upload may not rewrite its own result")
	}
	if MayReplace(NewStamp(later, "0A", "batches/k.json@v1"), NewStamp(t0, "0B", "batches/k.json@v3")) {
		t.Error("an older upload's redelivered message may replace a newer upload's result")
	}
	if _, _, ok := StampParts("garbage"); ok {
		t.Error("StampParts accepted a stamp NewStamp cannot make")
	}
}

// StampParts takes apart exactly what NewStamp writes, at the edges of its
// layout: the shortest stamps, the digits 0 and 9 of the length field and
// the bytes just outside them, and a batch id that starts with '@'.
func TestStampPartsAtItsEdges(t *testing.T) {
	for _, c := range []struct {
		stamp, key, seq string
		ok              bool
	}{
		{"0000000000001-00-", "", "00", true},                       // 17 bytes: the shortest
		{"0000000000001-00", "", "", false},                         // 16 bytes
		{"0000000000001-02AB-", "", "02AB", true},                   // exactly 17+n bytes
		{"0000000000001-02AB", "", "", false},                       // one short of 17+n
		{"0000000000001-09ABCDEF123-k@v", "k", "09ABCDEF123", true}, // length digits 0 and 9
		{"0000000000001-90" + strings.Repeat("A", 90) + "-k@v", "k", "90" + strings.Repeat("A", 90), true},
		{"0000000000001-/1A-k@v", "", "", false}, // '/' is just below '0'
		{"0000000000001-:1A-k@v", "", "", false}, // ':' is just above '9'
		{"0000000000001-1/A-k@v", "", "", false},
		{"0000000000001-1:A-k@v", "", "", false},
		{"0000000000001-00-@v", "", "00", true}, // the key is empty, not "@v"
		{"0000000000001-00-k", "k", "00", true}, // no '@': the batch is the key
	} {
		key, seq, ok := StampParts(c.stamp)
		if ok != c.ok || key != c.key || seq != c.seq {
			t.Errorf("StampParts(%q) = (%q, %q, %v), want (%q, %q, %v)", c.stamp, key, seq, ok, c.key, c.seq, c.ok)
		}
	}
}
