package batch

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzCompressed: any bytes under a compressed suffix, for each codec and
// layout, never panic and end in nil or a *SyntaxError (the read never
// fails here); Check agrees with Scan; a file the codec's decoder reads
// whole within the bound gives what its decompressed bytes give under the
// plain suffix, and one it cannot read is rejected; a chunk task that
// skips into the stream gives the plan's ops from there.
func FuzzCompressed(f *testing.F) {
	for _, s := range []string{"{\"name\":\"a\",\"op\":\"1\"}\n{\"name\":\"b\",\"op\":\"2\"}\n", "name,op\na,1\n\"b\nc\",2\n", "", "x"} {
		f.Add(gz(f, s))
		f.Add(zst(f, s))
		f.Add(zstdFrame(10<<3, s, ' ', 300<<10))
	}
	for _, pattern := range []string{"*.gz", "*.zst"} {
		paths, _ := filepath.Glob(filepath.Join(hostileDir, pattern))
		for _, p := range paths {
			if fi, err := os.Stat(p); err == nil && fi.Size() <= 4<<10 {
				data, err := os.ReadFile(p)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
	// A bound that fuzzed RLE blocks reach in a few bytes.
	defer func(old int64) { maxDecompressed = old }(maxDecompressed)
	maxDecompressed = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []struct{ f, plain Format }{{JSONLGzip, JSONL}, {CSVGzip, CSV}, {JSONLZstd, JSONL}, {CSVZstd, CSV}} {
			var items []Item
			err := Scan(bytes.NewReader(data), c.f, func(it Item) error {
				items = append(items, it)
				return nil
			})
			if err != nil {
				if _, ok := syntaxErr(err); !ok {
					t.Fatalf("%v: not a *SyntaxError: %v", c.f, err)
				}
			}
			if cerr := Check(bytes.NewReader(data), c.f); !sameErr(cerr, err) {
				t.Fatalf("%v: Check = %v, Scan = %v", c.f, cerr, err)
			}

			i, _ := entry(c.f)
			codec := formats[i].codec
			plain, derr := decodeAll(codec, data)
			switch {
			case derr != nil && err == nil:
				t.Fatalf("%v: accepted a stream %s refuses: %v", c.f, codec.name, derr)
			case derr == nil && int64(len(plain)) <= maxDecompressed:
				if _, _, ok := SniffCompression(plain); ok {
					break // the plain scan would name the compression
				}
				var want []Item
				werr := Scan(bytes.NewReader(plain), c.plain, func(it Item) error {
					want = append(want, it)
					return nil
				})
				if !sameErr(werr, err) || !cmp.Equal(want, items) {
					t.Fatalf("%v: %v, %d ops; decompressed as %v: %v, %d ops", c.f, err, len(items), c.plain, werr, len(want))
				}
			}
			if err != nil || len(items) < 2 {
				continue
			}
			// A chunk task of the ops from the second on.
			run := Run{Offset: items[1].Start, Length: items[len(items)-1].End - items[1].Start, First: 1}
			if c.plain == CSV {
				run.Header = []string{"name", "op"}
				if !bytes.HasPrefix(bytes.TrimPrefix(plain, []byte("\uFEFF")), []byte("name,op")) {
					continue // another order of the columns: the plan's header would say
				}
			}
			var got []Item
			if err := ScanChunk(bytes.NewReader(data), c.f, run, func(it Item) error {
				got = append(got, it)
				return nil
			}); err != nil {
				t.Fatalf("%v: the run of ops 1..: %v", c.f, err)
			}
			if diff := cmp.Diff(verdicts(undup(items[1:])), verdicts(undup(got))); diff != "" {
				t.Fatalf("%v: the run of ops 1.. (-plan +run):\n%s", c.f, diff)
			}
		}
	})
}

// decodeAll decompresses data with c's decoder alone, reading at most one
// byte past the bound.
func decodeAll(c *codec, data []byte) ([]byte, error) {
	z, err := c.open(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer z.Close()
	return io.ReadAll(io.LimitReader(z, maxDecompressed+1))
}

// undup drops the duplicate verdicts, which only the plan pass gives.
func undup(items []Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		if bytes.HasPrefix([]byte(it.Reject), []byte("duplicate of op")) {
			it.Reject = ""
		}
		out[i] = it
	}
	return out
}
