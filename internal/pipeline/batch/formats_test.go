package batch

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

// sampleOps holds what every format must carry alike: commas, quotes and a
// newline in fields, a duplicate, and ops that break the shared rules.
func sampleOps(n int) []Op {
	ops := make([]Op, 0, n)
	for i := range n {
		op := Op{Name: fmt.Sprintf("op %d, \"q\"", i), Op: fmt.Sprintf("%d + %d", i, i%7)}
		switch i % 11 {
		case 3:
			op.Op = "'a,b' == \"a\nb\"" // a quoted newline in CSV
		case 5:
			op.Name = fmt.Sprintf("op %d, \"q\"", i-1) // a duplicate
		case 7:
			op.Op = `1 \ 2` // a backslash
		case 9:
			op.Name = "" // empty
		}
		ops = append(ops, op)
	}
	return ops
}

// encode writes ops in format f, as a user's tools would.
func encode(t testing.TB, ops []Op, f Format) []byte {
	t.Helper()
	var b bytes.Buffer
	w := io.Writer(&b)
	var z io.WriteCloser
	switch {
	case strings.HasSuffix(f.Suffix(), ".gz"):
		z = gzip.NewWriter(&b)
	case strings.HasSuffix(f.Suffix(), ".zst"):
		var err error
		if z, err = zstd.NewWriter(&b); err != nil {
			t.Fatal(err)
		}
	case f.Compressed():
		t.Fatalf("no compressor for %v", f)
	}
	if z != nil {
		w = z
	}
	switch f {
	case JSON, JSONGzip, JSONZstd:
		body, err := json.Marshal(map[string][]Op{"ops": ops})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	case JSONL, JSONLGzip, JSONLZstd:
		e := json.NewEncoder(w)
		for _, op := range ops {
			if err := e.Encode(op); err != nil {
				t.Fatal(err)
			}
		}
	case CSV, CSVGzip, CSVZstd:
		c := csv.NewWriter(w)
		c.UseCRLF = true
		c.Write([]string{"op", "name"})
		for _, op := range ops {
			c.Write([]string{op.Op, op.Name})
		}
		c.Flush()
		if err := c.Error(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("no encoder for %v", f)
	}
	if z != nil {
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

var linePrefix = regexp.MustCompile(`^line \d+: `)

// verdicts is what a scan says of each op, whatever the format: the line a
// CSV rejection names is its own test's.
func verdicts(items []Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{Index: it.Index, Op: it.Op, Reject: linePrefix.ReplaceAllString(it.Reject, "")}
	}
	return out
}

func scanItems(t testing.TB, data []byte, f Format) ([]Item, []string) {
	t.Helper()
	var items []Item
	header, err := ScanFile(bytes.NewReader(data), f, func(it Item) error {
		items = append(items, it)
		return nil
	})
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	if err := Check(bytes.NewReader(data), f); err != nil {
		t.Fatalf("%v: Check: %v", f, err)
	}
	return items, header
}

// The same ops give the same verdicts in every format of the table.
func TestEveryFormatReadsTheSameOps(t *testing.T) {
	ops := sampleOps(60)
	want, _ := scanItems(t, encode(t, ops, JSON), JSON)
	if len(want) != len(ops) {
		t.Fatalf("%d ops read of %d", len(want), len(ops))
	}
	for _, f := range Formats() {
		got, _ := scanItems(t, encode(t, ops, f), f)
		if diff := cmp.Diff(verdicts(want), verdicts(got)); diff != "" {
			t.Errorf("%v against json (-want +got):\n%s", f, diff)
		}
	}
}

// Cut into runs at the offsets of the plan pass, each run scanned alone as
// a chunk task scans it (the bytes ReadRange names, the plan's header)
// gives back the plan's ops, except the duplicate verdicts, which only the
// whole batch can give (the plan keeps them).
func TestChunksReadThePlansOps(t *testing.T) {
	ops := sampleOps(40)
	for _, f := range Formats() {
		data := encode(t, ops, f)
		plan, header := scanItems(t, data, f)
		var want []Item
		for _, it := range verdicts(plan) {
			if strings.HasPrefix(it.Reject, "duplicate of op") {
				it.Reject = ""
			}
			want = append(want, it)
		}
		for _, k := range []int{1, 2, 3, 7, len(plan)} {
			var got []Item
			for a := 0; a < len(plan); a += k {
				b := min(a+k, len(plan))
				run := Run{Offset: plan[a].Start, Length: plan[b-1].End - plan[a].Start, First: a, Header: header}
				off, n := f.ReadRange(run)
				body := data[off:]
				if n > 0 {
					body = data[off : off+n]
				}
				err := ScanChunk(bytes.NewReader(body), f, run, func(it Item) error {
					if it.Start < 0 || it.End > run.Length {
						t.Errorf("%v: op %d at [%d, %d) of a run of %d bytes", f, it.Index, it.Start, it.End, run.Length)
					}
					got = append(got, it)
					return nil
				})
				if err != nil {
					t.Fatalf("%v, runs of %d: run %d: %v", f, k, a, err)
				}
			}
			if diff := cmp.Diff(want, verdicts(got)); diff != "" {
				t.Errorf("%v, runs of %d (-plan +chunks):\n%s", f, k, diff)
			}
		}
	}
}

func gz(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write([]byte(data))
	z.Close()
	return b.Bytes()
}

// What can go wrong with a gzip stream rejects the file, with a reason;
// a read that fails is a read error (the splitter tries again).
func TestGzipFaults(t *testing.T) {
	good := gz(t, "{\"name\":\"a\",\"op\":\"1\"}\n{\"name\":\"b\",\"op\":\"2\"}\n")
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 of the trailer
	for _, c := range []struct {
		name   string
		data   []byte
		offset int64
		reason string
	}{
		{"empty file", nil, 0, "empty file (not even a gzip header)"},
		{"not gzip", []byte("{\"name\":\"a\",\"op\":\"1\"}\n"), 0, "not a gzip stream (gzip: invalid header)"},
		{"truncated", good[:len(good)-10], 44, "the gzip stream ends early (a truncated file)"},
		{"checksum", corrupt, 44, "the gzip checksum does not match (a corrupt file)"},
		{"garbage after the stream", append(bytes.Clone(good), "a tail of text"...), 44, "bytes after the gzip stream that are not gzip (gzip: invalid header)"},
		{"less than a header after the stream", append(bytes.Clone(good), "tail"...), 44, "the gzip stream ends early (a truncated file)"},
		{"a broken layout inside", gz(t, "{\"name\":\"a\",\"op\":\"1\"}\n{"), 23, "unexpected end of input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Scan(bytes.NewReader(c.data), JSONLGzip, func(Item) error { return nil })
			want := &SyntaxError{Offset: c.offset, Reason: c.reason}
			if diff := cmp.Diff(error(want), err, cmp.Comparer(sameErr)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// Two gzip members one after the other are one stream (gzip(1)'s
	// reading of concatenated files).
	two := append(gz(t, "{\"name\":\"a\",\"op\":\"1\"}\n"), gz(t, "{\"name\":\"b\",\"op\":\"2\"}\n")...)
	n := 0
	if err := Scan(bytes.NewReader(two), JSONLGzip, func(Item) error { n++; return nil }); err != nil || n != 2 {
		t.Errorf("two members: %d ops, %v", n, err)
	}

	boom := errors.New("connection reset")
	for _, at := range []int{0, 5, len(good) - 3} {
		err := Scan(ioMulti(bytes.NewReader(good[:at]), boom), JSONLGzip, func(Item) error { return nil })
		if _, ok := syntaxErr(err); ok || !errors.Is(err, boom) {
			t.Errorf("read failing at byte %d: %v, want the read error", at, err)
		}
	}
}

// A file that decompresses to more than the bound is rejected when the
// bound is reached, at the bound, in every compressed format.
func TestGzipBound(t *testing.T) {
	defer func(old int64) { maxDecompressed = old }(maxDecompressed)
	maxDecompressed = 1 << 20
	spaces := strings.Repeat(" ", 3<<20)
	for _, c := range []struct {
		f    Format
		data string
	}{
		{JSONGzip, "{" + spaces},
		{JSONLGzip, spaces},
		{CSVGzip, "name,op\na,\"" + spaces},
	} {
		err := Scan(bytes.NewReader(gz(t, c.data)), c.f, func(Item) error { return nil })
		want := &SyntaxError{Offset: 1 << 20, Reason: "the file decompresses to more than 1048576 bytes, the most memo reads of a compressed batch; split it into several files"}
		if diff := cmp.Diff(error(want), err, cmp.Comparer(sameErr)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", c.f, diff)
		}
	}
	// Exactly at the bound is fine.
	exact := gz(t, "{\"name\":\"a\",\"op\":\"1\"}"+strings.Repeat(" ", 1<<20-21))
	if err := Scan(bytes.NewReader(exact), JSONLGzip, func(Item) error { return nil }); err != nil {
		t.Errorf("a file of exactly the bound: %v", err)
	}
}

// A gzip stream under a plain suffix is a broken file whose reason says so.
func TestGzipUnderPlainSuffix(t *testing.T) {
	data := encode(t, sampleOps(3), JSONLGzip)
	for _, f := range []Format{JSON, JSONL, CSV} {
		want := &SyntaxError{Offset: 0, Reason: "the file is gzip-compressed but its key has no .gz suffix; memo reads " + SuffixList()}
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
