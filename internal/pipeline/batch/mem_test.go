package batch

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// genReader streams a generated batch file of n ops, producing each op when
// it is read: the file is never held in memory.
type genReader struct {
	n, i    int
	format  Format
	gen     func(int) Op
	state   int // 0 start, 1 ops, 2 end, 3 done
	buf     []byte
	pending []byte
}

func newGenReader(n int, f Format, gen func(int) Op) *genReader {
	return &genReader{n: n, format: f, gen: gen}
}

func (g *genReader) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if len(g.pending) == 0 && !g.next() {
			break
		}
		c := copy(p[total:], g.pending)
		g.pending = g.pending[c:]
		total += c
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

func (g *genReader) next() bool {
	b := g.buf[:0]
	switch {
	case g.state == 0:
		g.state = 1
		if g.format == JSON {
			b = append(b, `{"ops": [`...)
		}
	case g.state == 1 && g.i < g.n:
		if g.i > 0 && g.format == JSON {
			b = append(b, ",\n"...)
		}
		op := g.gen(g.i)
		g.i++
		b = append(b, `{"name": `...)
		b = appendJSONString(b, op.Name)
		b = append(b, `, "op": `...)
		b = appendJSONString(b, op.Op)
		b = append(b, '}')
		if g.format == JSONL {
			b = append(b, '\n')
		}
	case g.state == 1:
		g.state = 2
		if g.format == JSON {
			b = append(b, "]}\n"...)
		}
	default:
		g.state = 3
		return false
	}
	g.buf, g.pending = b, b
	return true
}

// appendJSONString quotes s as encoding/json does (plain ASCII is copied).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				panic(err)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// repeatReader streams n bytes of a repeated pattern.
type repeatReader struct {
	pattern string
	n, off  int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.off < r.n {
		c := copy(p[k:min(len(p), k+int(r.n-r.off))], r.pattern[r.off%int64(len(r.pattern)):])
		k += c
		r.off += int64(c)
	}
	return k, nil
}

// hugeReader streams a .jsonl batch of n ops whose name and op strings are
// each big bytes long (made of pattern): nothing of them is held by the
// reader.
func hugeReader(n int, nameBytes, opBytes int64) io.Reader {
	var rs []io.Reader
	for i := range n {
		rs = append(rs,
			strings.NewReader(fmt.Sprintf(`{"name": "h%d`, i)),
			&repeatReader{pattern: "n", n: nameBytes},
			strings.NewReader(`", "op": "`),
			&repeatReader{pattern: "(1+", n: opBytes},
			strings.NewReader("\"}\n"))
	}
	return io.MultiReader(rs...)
}

// heapDuring runs Scan over r, taking the live heap (after a collection)
// every sampleEvery items, and returns the largest growth over the heap
// before the scan, with the number of items seen.
func heapDuring(t *testing.T, r io.Reader, f Format, sampleEvery int) (growth uint64, items int) {
	t.Helper()
	base := liveHeap()
	var peak uint64
	sample := func() {
		if h := liveHeap(); h > base && h-base > peak {
			peak = h - base
		}
	}
	err := Scan(r, f, func(it Item) error {
		items++
		if items%sampleEvery == 0 {
			sample()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return peak, items
}

// TestScanHeapFlat: a 100k-op stream costs Scan its buffers and the
// duplicate set (about 21 bytes per distinct name), nothing per op besides.
func TestScanHeapFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("collects the heap many times")
	}
	const n = 100_000
	const perName = 32 // bytes per distinct name (about 21), with room to spare
	for _, f := range []Format{JSON, JSONL} {
		growth, items := heapDuring(t, newGenReader(n, f, genOp), f, 10_000)
		if items != n {
			t.Fatalf("%v: %d items, want %d", f, items, n)
		}
		t.Logf("%v: %d distinct names: heap grew %d KiB (%.1f B/op)", f, n, growth>>10, float64(growth)/n)
		if limit := uint64(n*perName + 256<<10); growth > limit {
			t.Errorf("%v: heap grew %d bytes over %d ops, want <= %d", f, growth, n, limit)
		}

		// With one name repeated, the set stays at one entry: the heap
		// must not grow with the number of ops at all.
		same := func(i int) Op { return Op{Name: "same", Op: genOp(i).Op} }
		growth, _ = heapDuring(t, newGenReader(n, f, same), f, 10_000)
		t.Logf("%v: one name: heap grew %d KiB", f, growth>>10)
		if limit := uint64(256 << 10); growth > limit {
			t.Errorf("%v: heap grew %d bytes over %d ops of one name, want <= %d", f, growth, n, limit)
		}
	}
}

// TestScanHugeValuesNotHeld: 64 ops with a 1 MB op and a 10 KB name each
// stream through a bounded heap, and are rejected with their full length.
func TestScanHugeValuesNotHeld(t *testing.T) {
	const n = 64
	const opBytes, nameBytes = 1 << 20, 10 << 10
	base := liveHeap()
	var peak uint64
	items := 0
	err := Scan(hugeReader(n, nameBytes, opBytes), JSONL, func(it Item) error {
		items++
		want := fmt.Sprintf("name is %d bytes (max 255)", len(fmt.Sprint("h", it.Index))+nameBytes)
		if it.Reject != want {
			t.Fatalf("op %d rejected as %q, want %q", it.Index, it.Reject, want)
		}
		if len(it.Op.Name) != MaxNameBytes || len(it.Op.Op) != MaxOpBytes {
			t.Fatalf("op %d keeps %d+%d bytes, want the limits", it.Index, len(it.Op.Name), len(it.Op.Op))
		}
		if items%8 == 0 {
			if h := liveHeap(); h > base && h-base > peak {
				peak = h - base
			}
		}
		return nil
	})
	if err != nil || items != n {
		t.Fatalf("Scan: %v after %d ops", err, items)
	}
	t.Logf("%d MiB streamed, heap grew %d KiB", n*(opBytes+nameBytes)>>20, peak>>10)
	if limit := uint64(256 << 10); peak > limit {
		t.Errorf("heap grew %d bytes, want <= %d: a huge value is being held", peak, limit)
	}

	// The same for an op alone: rejected on its length, not held either.
	items = 0
	err = Scan(hugeReader(4, 4, opBytes), JSONL, func(it Item) error {
		items++
		if want := fmt.Sprintf("op is %d bytes (max 1024)", opBytes); it.Reject != want {
			t.Fatalf("op %d rejected as %q, want %q", it.Index, it.Reject, want)
		}
		return nil
	})
	if err != nil || items != 4 {
		t.Fatalf("Scan: %v after %d ops", err, items)
	}
}

// TestCheckHeapFlat: Check holds nothing but its buffer.
func TestCheckHeapFlat(t *testing.T) {
	for _, f := range []Format{JSON, JSONL} {
		base := liveHeap()
		r := &sampledReader{r: newGenReader(100_000, f, genOp), every: 1 << 20}
		r.sample = func() {
			if h := liveHeap(); h > base && h-base > r.peak {
				r.peak = h - base
			}
		}
		if err := Check(r, f); err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: Check of %d MiB: heap grew %d KiB", f, r.read>>20, r.peak>>10)
		if limit := uint64(256 << 10); r.peak > limit {
			t.Errorf("%v: heap grew %d bytes, want <= %d", f, r.peak, limit)
		}
	}
}

// sampledReader calls sample every `every` bytes read.
type sampledReader struct {
	r      io.Reader
	every  int64
	read   int64
	peak   uint64
	sample func()
}

func (s *sampledReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if (s.read+int64(n))/s.every != s.read/s.every {
		s.sample()
	}
	s.read += int64(n)
	return n, err
}
