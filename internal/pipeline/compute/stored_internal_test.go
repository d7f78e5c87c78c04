package compute

import (
	"testing"

	"github.com/memohq/memo/internal/pipeline/record"
)

// holdsFinal is ResultWriter.Put's rule seen from a read: a name needs no
// write of an op when it holds this upload's result or one the write would
// not replace.
func TestHoldsFinal(t *testing.T) {
	const (
		a, b   = "batches/a.json@v1", "batches/b.json@v2"
		sa, sb = "0000000000001-00-" + a, "0000000000002-00-" + b
	)
	for _, c := range []struct {
		name         string
		stored       record.Result
		batch, stamp string
		want         bool
	}{
		{"this upload", record.Result{Batch: a, Stamp: sa}, a, sa, true},
		{"a newer upload", record.Result{Batch: b, Stamp: sb}, a, sa, true},
		{"an older upload", record.Result{Batch: a, Stamp: sa}, b, sb, false},
		{"an unstamped item", record.Result{Batch: a}, b, sb, false},
		{"this unstamped upload", record.Result{Batch: a}, a, "", true},
		{"a stamped item, an unstamped op of another batch", record.Result{Batch: b, Stamp: sb}, a, "", true},
		{"a stamped item, an unstamped op of its batch", record.Result{Batch: a, Stamp: sa}, a, "", false},
	} {
		if got := holdsFinal(c.stored, c.batch, c.stamp); got != c.want {
			t.Errorf("%s: holdsFinal = %v, want %v", c.name, got, c.want)
		}
	}
}
