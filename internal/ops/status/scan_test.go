package status

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/memohq/memo/internal/pipeline/record"
)

// scanSource is a fakeSource whose results table can also be scanned, as
// DynamoDB does: pages of about pageItems items, each charged half a read
// unit per 4 KB of the items it read (itemBytes each), whatever matches.
type scanSource struct {
	fakeSource
	size      TableSize
	itemBytes int
	pageItems int
	// grown multiplies the units each page reads (the table grew since
	// its size figure).
	grown float64
	scans *int
	// sizeErr fails TableSize (DescribeTable refused).
	sizeErr error
}

func (s scanSource) TableSize(context.Context) (TableSize, error) { return s.size, s.sizeErr }

func (s scanSource) ScanTable(_ context.Context, segments int, page func([]ScannedItem, float64) error) error {
	if s.scans != nil {
		*s.scans++
	}
	if segments < 1 || segments > MaxScanSegments {
		return fmt.Errorf("segments %d", segments)
	}
	names := make([]string, 0, len(s.items))
	for n := range s.items {
		names = append(names, n)
	}
	slices.Sort(names)
	grown := max(s.grown, 1)
	for len(names) > 0 {
		n := min(len(names), s.pageItems)
		var items []ScannedItem
		for _, name := range names[:n] {
			it := s.items[name]
			items = append(items, ScannedItem{Name: it.Name, Batch: it.Batch, Stamp: it.Stamp, OK: it.Status == record.StatusOK})
		}
		names = names[n:]
		units := 0.5 * math.Ceil(float64(n*s.itemBytes)/ReadUnitBytes) * grown
		if err := page(items, units); err != nil {
			return err
		}
	}
	return nil
}

// A batch of a few thousand names (some repeated) in a table that also
// holds another 20,000 items: this upload's results (ok and error), a
// newer upload's, an older one's, names never stored, some in the DLQ.
func scanFixture(seed uint64) (fakeSource, TableSize) {
	rng := rand.New(rand.NewPCG(seed, 1))
	rep := &record.Report{Batch: "b", Stamp: "5", Status: record.ReportSplit}
	src := fakeSource{rep: rep, items: map[string]record.Result{}}
	for i := range 3000 {
		name := fmt.Sprintf("op_%05d", i)
		src.names = append(src.names, name)
		if i%97 == 0 { // a name the batch holds twice
			src.names = append(src.names, name)
		}
		switch rng.IntN(6) {
		case 0:
			src.items[name] = record.Result{Name: name, Batch: "b", Stamp: "5", Status: record.StatusOK}
		case 1:
			src.items[name] = record.Result{Name: name, Batch: "b", Stamp: "5", Status: record.StatusError}
		case 2:
			src.items[name] = record.Result{Name: name, Batch: "b-new", Stamp: "7", Status: record.StatusOK}
		case 3:
			src.items[name] = record.Result{Name: name, Batch: "b-old", Stamp: "3", Status: record.StatusOK}
		}
		if rng.IntN(10) == 0 {
			src.dlq = append(src.dlq, name, name) // a name twice in the DLQ
		}
	}
	for i := range 20000 {
		name := fmt.Sprintf("other_%05d", i)
		src.items[name] = record.Result{Name: name, Batch: "c", Stamp: "9", Status: record.StatusOK}
	}
	src.dlq = append(src.dlq, "other_00001", "not-stored-elsewhere")
	rep.Totals = record.Totals{Ops: len(src.names) + 4, Enqueued: len(src.names), Rejected: 4}
	return src, TableSize{Bytes: int64(len(src.items)) * 200, Items: int64(len(src.items))}
}

// The scan tells exactly what the lookups tell: the table's present state
// for the batch's names (this upload's ok and error, a newer upload's
// superseded, the DLQ's unstored ops, the rest lost), repeated names and
// the table's other items included.
func TestScanAccountsAsTheLookupsDo(t *testing.T) {
	for seed := range uint64(5) {
		src, size := scanFixture(seed)
		byLookups, err := ReconcileExact(context.Background(), src, "b")
		if err != nil {
			t.Fatal(err)
		}
		var scans int
		ss := scanSource{fakeSource: src, size: size, itemBytes: 200, pageItems: 5000, scans: &scans}
		if plan := ChooseRead(len(src.names), size); !plan.Scan {
			t.Fatalf("plan %+v: want a scan", plan)
		}
		byScan, err := ReconcileExact(context.Background(), ss, "b")
		if err != nil {
			t.Fatal(err)
		}
		if scans != 1 || byScan.ReadBy != ReadByScan || byLookups.ReadBy != ReadByLookups {
			t.Fatalf("scans=%d, read by %q and %q", scans, byScan.ReadBy, byLookups.ReadBy)
		}
		ignore := cmpopts.IgnoreFields(Reconciliation{}, "At", "ReadBy")
		if diff := cmp.Diff(byLookups, byScan, ignore); diff != "" {
			t.Errorf("seed %d: by scan differs from by lookups (-lookups +scan):\n%s", seed, diff)
		}
		if byScan.OK == 0 || byScan.Error == 0 || byScan.Superseded == 0 || byScan.DLQ == 0 || byScan.Lost == 0 {
			t.Errorf("seed %d: the fixture misses a case: %s", seed, byScan.Line())
		}
		if !strings.HasSuffix(byScan.Line(), "(reconciled by names: "+ReasonAsked+"; read by a scan of the results table)") {
			t.Errorf("Line() = %q", byScan.Line())
		}
	}
}

// A stale size figure (the table has grown past twice its figure) makes
// the account dearer, not wrong: the scan stops at the lookups' units and
// the names are looked up.
func TestScanOverBudgetFallsBackToLookups(t *testing.T) {
	src, size := scanFixture(1)
	want, err := ReconcileExact(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	var got reads
	src.count(&got)
	ss := scanSource{fakeSource: src, size: size, itemBytes: 200, pageItems: 1000, grown: 50}
	r, err := ReconcileExact(context.Background(), ss, "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.ReadBy != ReadByLookups || r.Reconciled != ReasonAsked+"; "+ReasonScanOverBudget {
		t.Errorf("read by %q, reconciled %q", r.ReadBy, r.Reconciled)
	}
	if got.names != 2 {
		t.Errorf("the batch object was read %d times, want 2 (the scan, then the lookups)", got.names)
	}
	if diff := cmp.Diff(want, r, cmpopts.IgnoreFields(Reconciliation{}, "At", "Reconciled")); diff != "" {
		t.Errorf("after the fallback (-lookups +got):\n%s", diff)
	}
}

// Without the table's size figure (DescribeTable refused) the names are
// looked up, as before there was a scan.
func TestNoSizeFigureLooksUp(t *testing.T) {
	src, size := scanFixture(3)
	var scans int
	r, err := ReconcileExact(context.Background(), scanSource{fakeSource: src, size: size, itemBytes: 200, pageItems: 1000, scans: &scans,
		sizeErr: errors.New("AccessDeniedException (stand-in)")}, "b")
	if err != nil || scans != 0 || r.ReadBy != ReadByLookups {
		t.Errorf("scans=%d read by %q, %v", scans, r.ReadBy, err)
	}
}

// The scan path with the batch object gone: the counters stand, as on the
// lookups' path.
func TestScanWithTheObjectGone(t *testing.T) {
	src, size := scanFixture(2)
	src.names = nil
	src.counts = Counts{OK: 5}
	want, err := ReconcileExact(context.Background(), src, "b")
	if err != nil {
		t.Fatal(err)
	}
	var scans int
	r, err := ReconcileExact(context.Background(), scanSource{fakeSource: src, size: size, itemBytes: 200, pageItems: 1000, scans: &scans}, "b")
	if err != nil {
		t.Fatal(err)
	}
	if scans != 0 || !r.Unnamed {
		t.Errorf("scans=%d unnamed=%v", scans, r.Unnamed)
	}
	if diff := cmp.Diff(want, r, cmpopts.IgnoreFields(Reconciliation{}, "At")); diff != "" {
		t.Errorf("(-lookups +scan path):\n%s", diff)
	}
}

// ChooseRead: a scan when the figure says it reads at most half the
// lookups' units; lookups when the table is large next to the batch or the
// figure cannot be right.
func TestChooseRead(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		name     string
		names    int
		size     TableSize
		scan     bool
		segments int
	}{
		{"1M names, a table of 1M 200-byte items: a scan", 1_000_000, TableSize{Bytes: 200e6, Items: 1e6}, true, MaxScanSegments},
		{"1M names, a table of 10M such items: still a scan", 1_000_000, TableSize{Bytes: 2e9, Items: 1e7}, true, MaxScanSegments},
		{"1M names, a table of 40M such items: lookups", 1_000_000, TableSize{Bytes: 8e9, Items: 4e7}, false, MaxScanSegments},
		{"1,000 names in a 100 MB table: lookups", 1000, TableSize{Bytes: 100 * mb, Items: 5e5}, false, MaxScanSegments},
		{"a new table's figure (nothing yet): a scan, under its budget", 1000, TableSize{}, true, 1},
		{"items but no bytes (moto; never AWS): lookups", 1000, TableSize{Items: 10}, false, 0},
		{"a new table's figure, 10 names: lookups (a page could read 128 units)", 10, TableSize{}, false, 0},
		{"a new table's figure, 255 names: lookups", 255, TableSize{}, false, 0},
		{"a new table's figure, 256 names (one page's units): a scan", 256, TableSize{}, true, 1},
		{"a 3 MB table: 3 segments", 100_000, TableSize{Bytes: 3 * mb, Items: 15_000}, true, 3},
	} {
		p := ChooseRead(c.names, c.size)
		if p.Scan != c.scan || p.Segments != c.segments || p.Budget != p.LookupUnits || p.LookupUnits != 0.5*float64(c.names) {
			t.Errorf("%s: %+v, want scan=%v segments=%d", c.name, p, c.scan, c.segments)
		}
	}
	// The units by hand: 200 MB is 48,829 4 KB reads and 191 pages.
	p := ChooseRead(1_000_000, TableSize{Bytes: 200e6, Items: 1e6})
	if want := 0.5 * (48829 + 191); p.ScanUnits != want {
		t.Errorf("ScanUnits = %v, want %v", p.ScanUnits, want)
	}
}

// What the join holds for a 1M-op batch: 16 bytes and a state byte a
// name (go test -bench NameSet -benchmem ./internal/ops/status/).
func BenchmarkNameSet1M(b *testing.B) {
	names := make([]string, 1_000_000)
	for i := range names {
		names[i] = fmt.Sprintf("op_%07d", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := newNameSet(len(names))
		for _, n := range names {
			_ = s.add(n)
		}
		s.seal()
		for _, n := range names[:1000] {
			if _, k := s.find(n); k != 1 {
				b.Fatal(n)
			}
		}
	}
}

// A nameSet finds every name it was given, as often as given, and no other.
func TestNameSet(t *testing.T) {
	s := newNameSet(0)
	for _, n := range []string{"a", "b", "a", "", "é"} {
		_ = s.add(n)
	}
	s.seal()
	for name, want := range map[string]int{"a": 2, "b": 1, "": 1, "é": 1, "c": 0, "A": 0} {
		if _, got := s.find(name); got != want {
			t.Errorf("find(%q) = %d, want %d", name, got, want)
		}
	}
}
