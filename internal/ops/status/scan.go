package status

// The account by names has two ways to read the table: look each name up
// (BatchGetItem), or scan the whole results table and join it with the
// batch's names. They tell the same thing (the table's present state for
// this batch's names); they cost differently. A lookup of a small item
// costs half a read unit, an eventually consistent read "of an item up to
// 4 KB" ("Capacity unit consumption for read operations", DynamoDB
// Developer Guide), so a batch's lookups cost half a unit a name. A Scan
// is charged by the data it reads, not by items: the sizes of the items it
// evaluates, summed and rounded up to 4 KB, half a unit per 4 KB when
// eventually consistent; a filter expression is applied after the read and
// does not lower it, and a projection lowers what comes back, not the units
// ("Scanning tables in DynamoDB", "Capacity units consumed by scan"). So
// when the table is small next to the batch (a table of 200-byte items
// holds about 20 of them in 4 KB) the scan reads a tenth of the units.

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"slices"

	"github.com/memohq/memo/internal/pipeline/record"
)

// TableScanner is a Source that can also read the whole results table. A
// Source that is one lets the account by names choose the cheaper read
// (ChooseRead).
type TableScanner interface {
	// TableSize is the results table's size as DynamoDB last computed it
	// (DescribeTable's TableSizeBytes and ItemCount, which DynamoDB
	// "updates approximately every six hours. Recent changes might not be
	// reflected in this value"): a hint, never a count.
	TableSize(ctx context.Context) (TableSize, error)
	// ScanTable reads every item of the results table, eventually
	// consistent, in segments parallel scan segments, and calls page with
	// each page's items (their name, batch, stamp and status only) and the
	// read units the page consumed. page is never called concurrently; an
	// error it returns stops the scan and is returned.
	ScanTable(ctx context.Context, segments int, page func(items []ScannedItem, units float64) error) error
}

// ScannedItem is what the scan path needs of a result item.
type ScannedItem struct {
	Name, Batch, Stamp string
	OK                 bool // its status is ok (else error)
}

// TableSize is DescribeTable's figure of the results table.
type TableSize struct{ Bytes, Items int64 }

// ReadPlan is how the account by names reads the table.
type ReadPlan struct {
	// Scan is true to scan the table, false to look the names up.
	Scan bool
	// LookupUnits is what the lookups would read (half a unit a name, a
	// floor: an item over 4 KB costs more), ScanUnits what the scan is
	// expected to read by the table's size figure.
	LookupUnits, ScanUnits float64
	// Budget is the most read units the scan may take before it is
	// abandoned for the lookups: the size figure was stale (the table grew
	// since it was computed).
	Budget float64
	// Segments is the scan's parallel segments: one per MB page, at most
	// MaxScanSegments.
	Segments int
	// Why says why in a few words.
	Why string
}

// Units and sizes of the choice (see the package comment above).
const (
	// ReadUnitBytes is the read a unit pays for.
	ReadUnitBytes = 4096
	// ScanPageBytes is what one Scan call reads at most ("a maximum of
	// 1 MB of data", Scan, DynamoDB API Reference).
	ScanPageBytes = 1 << 20
	// MaxScanSegments is the most parallel scan segments (and calls in
	// flight) memo uses, as many as it keeps BatchGetItem calls in flight.
	MaxScanSegments = 32
	// ScanMargin: the scan is chosen when it is expected to read at most
	// 1/ScanMargin of the lookups' units, so that only a table that has
	// doubled since its size figure makes the scan go over its budget.
	ScanMargin = 2
)

// pageUnits is what one eventually consistent Scan page can read: 1 MB at
// half a unit per 4 KB.
const pageUnits = 0.5 * ScanPageBytes / ReadUnitBytes

// ChooseRead chooses the read of an account by names of a batch of names
// valid ops in a results table of the given size figure. The scan is
// chosen when the figure says it reads at most half the lookups' units.
//
// The figure can be six hours old, and is zero for a table created less
// than that ago. A stale figure never makes the account wrong (the scan
// reads the table as it is now, whatever its size), only dearer or slower:
// the scan is given the lookups' units as its budget and, past it, stopped
// for the lookups. At worst (a table that has grown more than twice its
// figure) an account costs twice the lookups'. A figure that counts items
// but no bytes is not believed (it cannot be right): lookups. Nor is a
// zero figure for a batch whose lookups cost less than one page of a scan
// (the budget is checked after each page, and a page reads up to 1 MB):
// a new table's few names are looked up.
func ChooseRead(names int, size TableSize) ReadPlan {
	p := ReadPlan{LookupUnits: 0.5 * float64(names)}
	p.Budget = p.LookupUnits
	if size.Bytes <= 0 && size.Items > 0 {
		p.Why = "the table's size figure counts items but no bytes"
		return p
	}
	if size.Bytes <= 0 && p.LookupUnits < pageUnits {
		p.Why = "the batch is small and the table's size figure is not there yet"
		return p
	}
	bytes := float64(max(size.Bytes, 0))
	pages := math.Ceil(bytes / ScanPageBytes)
	// Each page's sum is rounded up to 4 KB: at most half a unit more a page.
	p.ScanUnits = 0.5 * (math.Ceil(bytes/ReadUnitBytes) + pages)
	p.Segments = int(min(max(pages, 1), MaxScanSegments))
	if p.ScanUnits*ScanMargin <= p.LookupUnits {
		p.Scan = true
		p.Why = "the results table is small next to the batch"
	} else {
		p.Why = "the batch is small next to the results table"
	}
	return p
}

// errOverBudget stops a scan that read more than its plan's budget.
var errOverBudget = errors.New("the scan read more than the lookups would")

// ReasonScanOverBudget is added to Reconciled when a scan was stopped for
// the lookups.
const ReasonScanOverBudget = "the scan of the results table was stopped at the lookups' read units (its size figure was stale): looked up"

// nameSet is a batch's names as 128-bit hashes (two 64-bit maphash sums
// under random seeds), sorted, with a state per distinct name: 16 bytes
// and one byte a name, where a map of the names themselves would hold
// every string. Two distinct names (or a name of the table and one of the
// batch) share a hash with probability about n*m/2^128 for n names and m
// items: nil for any table DynamoDB can hold. The seeds are random per
// process, so no input can be made to collide.
type nameSet struct {
	s1, s2 maphash.Seed
	keys   []nameKey
	state  []uint8 // per index of keys, on the first of equal keys
}

type nameKey struct{ hi, lo uint64 }

const (
	stateNone      = iota
	stateSeen      // the name's item was read: another (older) upload's
	stateAccounted // this upload's result, or a newer upload's
)

func newNameSet(capacity int) *nameSet {
	return &nameSet{s1: maphash.MakeSeed(), s2: maphash.MakeSeed(), keys: make([]nameKey, 0, capacity)}
}

func (s *nameSet) key(name string) nameKey {
	return nameKey{maphash.String(s.s1, name), maphash.String(s.s2, name)}
}

func (s *nameSet) add(name string) error {
	s.keys = append(s.keys, s.key(name))
	return nil
}

// seal sorts the keys; add must not be called after.
func (s *nameSet) seal() {
	slices.SortFunc(s.keys, func(a, b nameKey) int {
		if a.hi != b.hi {
			return cmpU(a.hi, b.hi)
		}
		return cmpU(a.lo, b.lo)
	})
	s.state = make([]uint8, len(s.keys))
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// find returns the index of name's first key and how many times the batch
// holds the name (0: not at all).
func (s *nameSet) find(name string) (int, int) {
	k := s.key(name)
	i, ok := slices.BinarySearchFunc(s.keys, k, func(e, t nameKey) int {
		if e.hi != t.hi {
			return cmpU(e.hi, t.hi)
		}
		return cmpU(e.lo, t.lo)
	})
	if !ok {
		return 0, 0
	}
	j := i + 1
	for j < len(s.keys) && s.keys[j] == k {
		j++
	}
	return i, j - i
}

// byScan is the account by names read by a scan of the results table:
// the batch's names streamed into a nameSet, the table scanned, each item
// whose name is the batch's counted as the lookups would count it, then
// the DLQ's names that hold neither this upload's result nor a newer one.
// named is false when the batch object is gone (nothing counted);
// errOverBudget when the scan went over plan.Budget (nothing counted).
func (r *Reconciliation) byScan(ctx context.Context, src Source, ts TableScanner, plan ReadPlan, dlq []string) (named bool, err error) {
	rep := *r.Report
	set := newNameSet(max(r.Total-r.Rejected, 0))
	if named, err = src.Names(ctx, rep, set.add); err != nil || !named {
		return named, err
	}
	set.seal()
	var ok, bad, superseded int
	units := 0.0
	err = ts.ScanTable(ctx, plan.Segments, func(items []ScannedItem, u float64) error {
		units += u
		if units > plan.Budget {
			return errOverBudget
		}
		for _, it := range items {
			i, n := set.find(it.Name)
			if n == 0 || set.state[i] != stateNone {
				continue
			}
			set.state[i] = stateSeen
			switch {
			case it.Batch == rep.Batch:
				set.state[i] = stateAccounted
				if it.OK {
					ok += n
				} else {
					bad += n
				}
			case record.Newer(it.Stamp, rep.Stamp):
				set.state[i] = stateAccounted
				superseded += n
			}
		}
		return nil
	})
	if err != nil {
		return true, err
	}
	r.OK, r.Error, r.Superseded = ok, bad, superseded
	for _, name := range unique(dlq) {
		if i, n := set.find(name); n > 0 && set.state[i] != stateAccounted {
			r.DLQ += n
		}
	}
	r.ReadBy = ReadByScan
	return true, nil
}
