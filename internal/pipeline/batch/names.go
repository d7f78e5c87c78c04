package batch

import (
	"hash/maphash"
	"math/bits"
)

// nameSet remembers the names already accepted in one batch, with the index
// of the op that holds each (below 2^32: verdict rejects later ops), in a
// fixed number of bytes per name whatever its length.
//
// What it buys (make bench: splitter_peak_rss_mb_1m, goal <= 64 MiB): a Go
// map of the same fingerprints took the splitter's peak RSS at 1M ops from
// 50 MiB to 81 MiB (go run ./tools/bench/splitmem 1000000, each way).
//
// A name is kept as a fingerprint: two 64-bit hashes with seeds drawn for
// this set (h1 whole and the high 32 bits of h2: 96 bits), packed with the
// op's index into a 16-byte slot, plus a control byte. Two different names
// are taken for one only if both hashes agree, a chance of about n²/2^97
// over n names (1e-17 at a million).
//
// The slots live in small open-addressing tables under a directory indexed
// by the low bits of h1 that doubles when needed (extendible hashing), so
// the set never copies all of itself. A table grows through a ladder of
// sizes and then splits in two, which keeps every table between 71% and 88%
// full: a doubling table would dip to 44% right after each doubling.
type nameSet struct {
	seed1, seed2 maphash.Seed
	depth        uint // global depth: the directory has 1<<depth entries
	dir          []*nameTable
}

// ladder is the sizes a table goes through, in groups of 8 slots, each
// about 1.22 times the last; a full table of the last size splits into two
// of the first.
var ladder = [...]int{72, 88, 108, 128}

const indexMask = 1<<32 - 1

// full is the most names a table of g groups holds before it grows: 7/8.
func full(g int) int { return g * 8 * 7 / 8 }

// slot is one name: a = h1 (never 0), b = the high 32 bits of h2, then the
// op's index.
type slot struct{ a, b uint64 }

// A table is probed a group of 8 slots at a time, as Go's own maps are:
// each group has a control word of 8 bytes, one per slot, 0x80 when the
// slot is free, else 7 bits of h1 (its tag), so that one comparison of
// words finds the slots worth looking at.
type nameTable struct {
	depth uint // local depth: the low depth bits of h1 lead here
	step  int  // index of len(ctrl) in ladder
	n     int
	ctrl  []uint64
	slots []slot
}

const (
	lsb   = 0x0101010101010101
	msb   = 0x8080808080808080
	empty = msb // a control word of free slots
)

func newTable(depth uint, step int) *nameTable {
	t := &nameTable{depth: depth, step: step}
	t.alloc(ladder[step])
	return t
}

func (t *nameTable) alloc(groups int) {
	t.ctrl = make([]uint64, groups)
	for i := range t.ctrl {
		t.ctrl[i] = empty
	}
	t.slots = make([]slot, groups*8)
	t.n = 0
}

// home is the first group to probe for h1: its high 32 bits scaled to the
// table's size; tagOf is its 7-bit tag.
func (t *nameTable) home(h1 uint64) int {
	return int((h1 >> 32) * uint64(len(t.ctrl)) >> 32)
}

func tagOf(h1 uint64) uint64 { return h1 >> 25 & 0x7f }

// find looks h1 and tag up. It returns the slot holding them, or else the
// free slot where they belong (the first one on the probe sequence, as
// nothing is ever removed).
func (t *nameTable) find(h1, tag uint64) (i int, found bool) {
	want := tagOf(h1) * lsb
	for g := t.home(h1); ; {
		c := t.ctrl[g]
		// Bytes equal to the tag (with rare false candidates, which the
		// comparison of slots rules out; free bytes are never candidates).
		x := c ^ want
		for m := (x - lsb) &^ x & msb; m != 0; m &= m - 1 {
			i := g*8 + bits.TrailingZeros64(m)>>3
			if sl := &t.slots[i]; sl.a == h1 && sl.b&^indexMask == tag {
				return i, true
			}
		}
		if free := c & msb; free != 0 {
			return g*8 + bits.TrailingZeros64(free)>>3, false
		}
		if g++; g == len(t.ctrl) {
			g = 0
		}
	}
}

// set fills the free slot i.
func (t *nameTable) set(i int, sl slot) {
	shift := uint(i&7) * 8
	g := i >> 3
	t.ctrl[g] = t.ctrl[g]&^(0xff<<shift) | tagOf(sl.a)<<shift
	t.slots[i] = sl
	t.n++
}

// put stores a slot known to be absent.
func (t *nameTable) put(sl slot) {
	for g := t.home(sl.a); ; {
		if free := t.ctrl[g] & msb; free != 0 {
			t.set(g*8+bits.TrailingZeros64(free)>>3, sl)
			return
		}
		if g++; g == len(t.ctrl) {
			g = 0
		}
	}
}

func newNameSet() *nameSet {
	return &nameSet{
		seed1: maphash.MakeSeed(),
		seed2: maphash.MakeSeed(),
		dir:   []*nameTable{newTable(0, 0)},
	}
}

// add records that op index (at most indexMask) holds name, unless an
// earlier op does: then it returns that op's index and dup=true.
func (s *nameSet) add(name string, index int) (first int, dup bool) {
	h1 := maphash.String(s.seed1, name)
	if h1 == 0 {
		h1 = 1
	}
	tag := maphash.String(s.seed2, name) &^ indexMask
	t := s.dir[h1&(1<<s.depth-1)]
	i, found := t.find(h1, tag)
	if found {
		return int(t.slots[i].b & indexMask), true
	}
	t.set(i, slot{a: h1, b: tag | uint64(index)})
	if t.n > full(len(t.ctrl)) {
		s.grow(t, h1)
	}
	return 0, false
}

// grow moves a full table up the ladder, or splits it in two by the next
// bit of h1 once it is at the top, doubling the directory first if the
// table is as deep as the directory.
func (s *nameSet) grow(t *nameTable, h1 uint64) {
	old := t.slots
	if t.step+1 < len(ladder) {
		t.step++
		t.alloc(ladder[t.step])
		for _, sl := range old {
			if sl.a != 0 {
				t.put(sl)
			}
		}
		return
	}
	if t.depth == s.depth {
		s.dir = append(s.dir, s.dir...)
		s.depth++
	}
	bit := uint64(1) << t.depth
	var count [2]int
	for _, sl := range old {
		if sl.a != 0 {
			count[sl.a>>t.depth&1]++
		}
	}
	t0, t1 := newTable(t.depth+1, fit(count[0])), newTable(t.depth+1, fit(count[1]))
	for _, sl := range old {
		switch {
		case sl.a == 0:
		case sl.a&bit == 0:
			t0.put(sl)
		default:
			t1.put(sl)
		}
	}
	// The directory entries that led to t share its low depth bits; the
	// next bit tells the two halves apart.
	for j := h1 & (bit - 1); j < uint64(len(s.dir)); j += bit {
		if j&bit == 0 {
			s.dir[j] = t0
		} else {
			s.dir[j] = t1
		}
	}
}

// fit is the first step of the ladder that holds n names, or the last one
// (then the table is over full and grows at its next name, which is
// possible only if the hashes fail to split it).
func fit(n int) int {
	for step, size := range ladder {
		if n <= full(size) {
			return step
		}
	}
	return len(ladder) - 1
}

// bytes is the memory the set holds (tables, directory), for tests.
func (s *nameSet) bytes() int {
	seen := map[*nameTable]bool{}
	n := len(s.dir) * 8
	for _, t := range s.dir {
		if !seen[t] {
			seen[t] = true
			n += len(t.slots)*16 + len(t.ctrl)*8
		}
	}
	return n
}
