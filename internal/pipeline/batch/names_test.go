package batch

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestNameSet(t *testing.T) {
	const n = 300_000
	s := newNameSet()
	name := func(i int) string { return fmt.Sprint("name-", i) }
	worst := 0.0
	for i := range n {
		if first, dup := s.add(name(i), i); dup {
			t.Fatalf("%q (op %d) taken for a duplicate of op %d", name(i), i, first)
		}
		if i%10_000 == 9_999 {
			worst = max(worst, float64(s.bytes())/float64(i+1))
		}
	}
	// Every name is found again, with the index of its first op, after
	// all the growing and splitting.
	for i := range n {
		first, dup := s.add(name(i), n+i)
		if !dup || first != i {
			t.Fatalf("%q again: dup=%v first=%d, want op %d", name(i), dup, first, i)
		}
	}
	t.Logf("%d names: %d tables deep, %.1f bytes per name at worst", n, s.depth, worst)
	if worst > 24 {
		t.Errorf("%.1f bytes per name, want <= 24", worst)
	}
}

// An op whose index does not fit the set's 32 bits is rejected, not let
// through unchecked for duplicates.
func TestOpIndexBeyond32BitsIsRejected(t *testing.T) {
	r := &opRules{names: newNameSet()}
	it := Item{Index: indexMask + 1, Op: Op{Name: "a", Op: "1"}}
	if got, want := r.verdict(&it, "", ""), "a batch file holds at most 4294967296 ops"; got != want {
		t.Errorf("verdict = %q, want %q", got, want)
	}
	it.Index = indexMask
	if got := r.verdict(&it, "", ""); got != "" {
		t.Errorf("verdict of op 2^32-1 = %q, want accepted", got)
	}
}

func TestNameSetSeedsDiffer(t *testing.T) {
	// Fresh seeds per set: the same names land differently, so no input
	// can be crafted against the set's layout.
	a, b := newNameSet(), newNameSet()
	for i := range 300 { // one table: no growth
		a.add(fmt.Sprint(i), i)
		b.add(fmt.Sprint(i), i)
	}
	same := true
	for i := range a.dir[0].slots {
		if a.dir[0].slots[i] != b.dir[0].slots[i] {
			same = false
		}
	}
	if same {
		t.Fatal("two sets laid out the same names identically")
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct{ n, step int }{{0, 0}, {504, 0}, {505, 1}, {616, 1}, {617, 2}, {756, 2}, {757, 3}, {896, 3}, {897, 3}} {
		if got := fit(c.n); got != c.step {
			t.Errorf("fit(%d) = %d, want %d", c.n, got, c.step)
		}
	}
}

// TestNameSetUnevenSplit: a full table whose names all fall on one side of
// the split still works (this needs hashes that agree on a bit over 897
// names, so it is forced here).
func TestNameSetUnevenSplit(t *testing.T) {
	s := newNameSet()
	top := len(ladder) - 1
	s.dir[0] = newTable(0, top)
	rng := rand.New(rand.NewPCG(5, 6))
	var slots []slot
	for i := range full(ladder[top]) + 1 {
		sl := slot{a: rng.Uint64()&^1 | 2, b: rng.Uint64()&^indexMask | uint64(i)}
		slots = append(slots, sl)
		s.dir[0].put(sl)
	}
	s.grow(s.dir[0], slots[0].a)
	more := slot{a: rng.Uint64()&^1 | 2, b: 7 << 32}
	slots = append(slots, more)
	tb := s.dir[more.a&(1<<s.depth-1)]
	i, found := tb.find(more.a, more.b&^indexMask)
	if found {
		t.Fatal("a new slot was found")
	}
	tb.set(i, more)
	s.grow(tb, more.a) // over full after the uneven split: splits again
	for _, sl := range slots {
		tb := s.dir[sl.a&(1<<s.depth-1)]
		i, found := tb.find(sl.a, sl.b&^indexMask)
		if !found || tb.slots[i] != sl {
			t.Fatalf("slot %x lost after uneven splits", sl)
		}
	}
	if s.depth != 2 {
		t.Errorf("depth %d after two splits, want 2", s.depth)
	}
}

// TestHomeSpreadsOverTheTable: a name's first group is its hash scaled to
// the table, so that random hashes start all over it (not all at group 0,
// which stays correct but makes every insert a long probe).
func TestHomeSpreadsOverTheTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for step := range ladder {
		tab := newTable(0, step)
		hit := map[int]bool{}
		for range 20 * ladder[step] {
			g := tab.home(rng.Uint64() | 1)
			if g < 0 || g >= len(tab.ctrl) {
				t.Fatalf("home %d outside the table's %d groups", g, len(tab.ctrl))
			}
			hit[g] = true
		}
		if len(hit) < len(tab.ctrl)*9/10 {
			t.Errorf("%d groups: random hashes start in only %d of them", len(tab.ctrl), len(hit))
		}
	}
}

// TestTableGrowsPastSevenEighths: a table holds 7/8 of its slots (504 of
// the first size's 576) and grows on the next name.
func TestTableGrowsPastSevenEighths(t *testing.T) {
	s := newNameSet()
	limit := full(ladder[0])
	for i := range limit {
		s.add(fmt.Sprint("n", i), i)
	}
	if len(s.dir) != 1 || len(s.dir[0].ctrl) != ladder[0] {
		t.Fatalf("grew at %d names, before the table was 7/8 full", limit)
	}
	s.add("one more", limit)
	if len(s.dir) == 1 && len(s.dir[0].ctrl) == ladder[0] {
		t.Fatalf("did not grow past %d names", limit)
	}
}

// TestLargestIndexFitsASlot: op indexes up to 2^32-1 are stored in the
// table's slot itself.
func TestLargestIndexFitsASlot(t *testing.T) {
	s := newNameSet()
	if _, dup := s.add("a", indexMask); dup {
		t.Fatal("index 2^32-1: the first add is a duplicate")
	}
	if first, dup := s.add("a", 7); !dup || first != indexMask {
		t.Fatalf("add again = %d, %v; want %d, true", first, dup, indexMask)
	}
}

// TestBytesCountsWhatTheSetHolds: 16 bytes a slot, 8 a control word (one
// per group of 8 slots), 8 a directory entry; a table shared by several
// directory entries counts once.
func TestBytesCountsWhatTheSetHolds(t *testing.T) {
	s := newNameSet()
	if got, want := s.bytes(), 8+ladder[0]*8*16+ladder[0]*8; got != want {
		t.Fatalf("a new set holds %d bytes, want %d", got, want)
	}
	s.dir = append(s.dir, s.dir[0]) // two entries, one table
	if got, want := s.bytes(), 2*8+ladder[0]*8*16+ladder[0]*8; got != want {
		t.Fatalf("a shared table: %d bytes, want %d", got, want)
	}
}
