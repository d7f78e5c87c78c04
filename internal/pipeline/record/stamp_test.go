package record

import (
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
