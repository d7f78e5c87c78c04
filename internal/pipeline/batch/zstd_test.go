package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

func zst(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	z, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	z.Write([]byte(data))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zstdFrame writes a zstd frame by hand (RFC 8878 3.1.1): a header with
// the window descriptor wd and no checksum, then content in raw blocks,
// then rle copies of the byte fill in RLE blocks of 128 KiB (3 bytes and
// the byte each: a bomb costs 32 KiB per GiB).
func zstdFrame(wd byte, content string, fill byte, rle int64) []byte {
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, wd}
	block := func(typ, size int, last bool, body []byte) {
		h := uint32(size)<<3 | uint32(typ)<<1
		if last {
			h |= 1
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16))
		b = append(b, body...)
	}
	const max = 128 << 10
	for len(content) > 0 {
		n := min(len(content), max)
		block(0, n, rle == 0 && n == len(content), []byte(content[:n]))
		content = content[n:]
	}
	for rle > 0 {
		n := min(rle, max)
		rle -= n
		block(1, int(n), rle == 0, []byte{fill})
	}
	return b
}

// What can go wrong with a zstd stream rejects the file, with a reason; a
// read that fails is a read error (the splitter tries again).
func TestZstdFaults(t *testing.T) {
	const two = "{\"name\":\"a\",\"op\":\"1\"}\n{\"name\":\"b\",\"op\":\"2\"}\n"
	good := zst(t, two)
	// The frame's content checksum flipped.
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff
	// A single-segment frame of 4 GiB of content: its window.
	fcs := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 1, 0, 0, 0}
	for _, c := range []struct {
		name   string
		data   []byte
		offset int64
		reason string
	}{
		{"empty file", nil, 0, "empty file (not even a zstd header)"},
		{"not zstd", []byte("{\"name\":\"a\",\"op\":\"1\"}\n"), 0, "not a zstd stream (invalid input: magic number mismatch)"},
		{"gzip under .zst", gz(t, two), 0, "not a zstd stream (invalid input: magic number mismatch)"},
		{"three bytes", []byte{0x28, 0xb5, 0x2f}, 0, "not a zstd stream (shorter than a zstd frame header)"},
		{"truncated", good[:len(good)-10], 0, "the zstd stream ends early (a truncated file)"},
		{"a header alone", good[:6], 0, "the zstd stream ends early (a truncated file)"},
		{"checksum", corrupt, 0, "the zstd checksum does not match (a corrupt file)"},
		{"garbage after the stream", append(bytes.Clone(good), "a tail of text"...), 44, "bytes after a zstd frame that are not zstd (zstd: magic number mismatch)"},
		{"a window over the bound", zstdFrame(18<<3, two, 0, 0), 0, "the zstd frame asks for a window of 256 MiB, over the 8 MiB memo decodes with; compress it without --long or --ultra"},
		{"a single segment over the bound", fcs, 0, "the zstd frame asks for a window of 4096 MiB, over the 8 MiB memo decodes with; compress it without --long or --ultra"},
		{"a second frame's window over the bound", append(zst(t, two), zstdFrame(14<<3, two, 0, 0)...), 44, "a zstd frame asks for a window over 8 MiB (the most memo decodes with; compress it without --long or --ultra), or holds a block larger than its window (a corrupt file)"},
		{"a broken layout inside", zst(t, "{\"name\":\"a\",\"op\":\"1\"}\n{"), 23, "unexpected end of input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Scan(bytes.NewReader(c.data), JSONLZstd, func(Item) error { return nil })
			want := &SyntaxError{Offset: c.offset, Reason: c.reason}
			if diff := cmp.Diff(error(want), err, cmp.Comparer(sameErr)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// Frames one after the other are one stream, and skippable frames
	// (RFC 8878 3.1.2) are skipped, as zstd -d reads them; a window of
	// exactly the bound is read.
	skippable := []byte{0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'}
	for name, data := range map[string][]byte{
		"two frames":            append(zst(t, two[:22]), zst(t, two[22:])...),
		"a skippable frame":     append(append(bytes.Clone(skippable), zst(t, two[:22])...), append(skippable, zst(t, two[22:])...)...),
		"a window of the bound": zstdFrame(13<<3, two, 0, 0),
	} {
		n := 0
		if err := Scan(bytes.NewReader(data), JSONLZstd, func(Item) error { n++; return nil }); err != nil || n != 2 {
			t.Errorf("%s: %d ops, %v", name, n, err)
		}
	}

	boom := errors.New("connection reset")
	for _, at := range []int{0, 5, len(good) - 3} {
		err := Scan(ioMulti(bytes.NewReader(good[:at]), boom), JSONLZstd, func(Item) error { return nil })
		if _, ok := syntaxErr(err); ok || !errors.Is(err, boom) {
			t.Errorf("read failing at byte %d: %v, want the read error", at, err)
		}
	}
}

// A file that decompresses to more than the bound is rejected when the
// bound is reached, at the bound, in every zstd format.
func TestZstdBound(t *testing.T) {
	defer func(old int64) { maxDecompressed = old }(maxDecompressed)
	maxDecompressed = 1 << 20
	spaces := strings.Repeat(" ", 3<<20)
	for _, c := range []struct {
		f    Format
		data string
	}{
		{JSONZstd, "{" + spaces},
		{JSONLZstd, spaces},
		{CSVZstd, "name,op\na,\"" + spaces},
	} {
		err := Scan(bytes.NewReader(zst(t, c.data)), c.f, func(Item) error { return nil })
		want := &SyntaxError{Offset: 1 << 20, Reason: "the file decompresses to more than 1048576 bytes, the most memo reads of a compressed batch; split it into several files"}
		if diff := cmp.Diff(error(want), err, cmp.Comparer(sameErr)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", c.f, diff)
		}
	}
	exact := zst(t, "{\"name\":\"a\",\"op\":\"1\"}"+strings.Repeat(" ", 1<<20-21))
	if err := Scan(bytes.NewReader(exact), JSONLZstd, func(Item) error { return nil }); err != nil {
		t.Errorf("a file of exactly the bound: %v", err)
	}
}

// A zstd bomb (one op, then 2 GiB of spaces in RLE blocks: 64 KiB) is
// refused at the bound, and what decoding it allocates does not grow with
// what it decompresses to: a window's worth, not the file's (test/hostile
// runs such a bomb through the splitter at MaxDecompressedBytes).
func TestZstdBombMemoryIsFlat(t *testing.T) {
	defer func(old int64) { maxDecompressed = old }(maxDecompressed)
	maxDecompressed = 256 << 20
	bomb := zstdFrame(10<<3, "{\"name\":\"a\",\"op\":\"1\"}\n", ' ', 2<<30) // a 1 MiB window
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := Scan(bytes.NewReader(bomb), JSONLZstd, func(Item) error { return nil })
	runtime.ReadMemStats(&after)
	se, ok := syntaxErr(err)
	if !ok || se.Offset != maxDecompressed {
		t.Fatalf("Scan = %v, want a rejection at %d", err, maxDecompressed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d MiB decoding a %d-byte bomb: memory is not flat", alloc>>20, len(bomb))
	}
}

// A zstd stream under a plain suffix is a broken file whose reason says so.
func TestZstdUnderPlainSuffix(t *testing.T) {
	data := encode(t, sampleOps(3), JSONLZstd)
	for _, f := range []Format{JSON, JSONL, CSV} {
		want := &SyntaxError{Offset: 0, Reason: "the file is zstd-compressed but its key has no .zst suffix; memo reads " + SuffixList()}
		for name, err := range map[string]error{
			"Scan":  Scan(bytes.NewReader(data), f, func(Item) error { return nil }),
			"Check": Check(bytes.NewReader(data), f),
		} {
			if diff := cmp.Diff(error(want), err, cmp.Comparer(sameErr)); diff != "" {
				t.Errorf("%v %s (-want +got):\n%s", f, name, diff)
			}
		}
	}
}

// SniffCompression names gzip and zstd (and zstd's skippable frames) by
// their first bytes, and nothing else.
func TestSniffCompression(t *testing.T) {
	le := func(m uint32) []byte { return binary.LittleEndian.AppendUint32(nil, m) }
	for _, c := range []struct {
		head         []byte
		name, suffix string
	}{
		{[]byte{0x1f, 0x8b, 8, 0}, "gzip", ".gz"},
		{[]byte{0x1f, 0x8b}, "gzip", ".gz"},
		{le(0xFD2FB528), "zstd", ".zst"},
		{le(0x184D2A50), "zstd", ".zst"},
		{le(0x184D2A5F), "zstd", ".zst"},
		{le(0x184D2A60), "", ""},
		{[]byte{0x28, 0xb5, 0x2f}, "", ""},
		{[]byte("name"), "", ""},
		{[]byte{0x1f}, "", ""},
		{nil, "", ""},
	} {
		name, suffix, ok := SniffCompression(c.head)
		if name != c.name || suffix != c.suffix || ok != (c.name != "") {
			t.Errorf("SniffCompression(% x) = %q, %q, %v; want %q, %q", c.head, name, suffix, ok, c.name, c.suffix)
		}
	}
}
