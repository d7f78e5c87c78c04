package splitter

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/pipeline/record"
)

// An op longer than MaxPackBytes (batch's limits make it impossible; the
// packer does not rely on them) travels alone, and calls are cut by bytes
// before they pass MaxCallBytes.
func TestPackerCutsCallsByBytes(t *testing.T) {
	var groups [][]int
	p := packer{ops: 1000, batch: "b", flush: func(g []record.Message) error {
		var sizes []int
		total := 0
		for _, m := range g {
			sizes = append(sizes, len(m.Ops))
			total += m.Size()
		}
		if total > MaxCallBytes {
			t.Errorf("a call of %d bytes", total)
		}
		groups = append(groups, sizes)
		return nil
	}}
	big := strings.Repeat("x", 300_000)
	for i, op := range []string{big, big, big, big, "1", "2", big} {
		if err := p.add(record.MessageOp{Name: "n", Op: op, Index: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.close(); err != nil {
		t.Fatal(err)
	}
	// 3 x 300 KB fit a call; the fourth starts the next, with the pack of
	// "1" and "2"; the last big op goes alone again.
	if d := cmp.Diff([][]int{{1, 1, 1}, {1, 2, 1}}, groups); d != "" {
		t.Fatalf("calls (-want +got):\n%s", d)
	}
}
