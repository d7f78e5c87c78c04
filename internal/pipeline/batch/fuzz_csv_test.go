package batch

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzCSV: the CSV reader never panics; Check agrees with Scan; an
// accepted file has as many ops as encoding/csv alone reads records after
// the header, each at offsets in order inside the file; runs cut at those
// offsets give back the same ops (duplicates aside); and the same bytes
// gzipped or zstd-compressed give the same outcome.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"name,op\na,1\n", "op,name\r\n1,a\r\n", "\uFEFFname,op\n\"a\nb\",\"1,2\"\n", "name,op\na,\"1\n",
		"name,op\na,1,2\nb\n\n\nc,3", "name,op\na,2 \"x\"\n", "name,op,x\n", "", "name,op\n\"\"\"\",\"\"\n",
	} {
		f.Add([]byte(s))
	}
	paths, _ := filepath.Glob(filepath.Join(hostileDir, "*.csv"))
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Size() <= 4<<10 {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var items []Item
		header, err := ScanFile(bytes.NewReader(data), CSV, func(it Item) error {
			items = append(items, it)
			return nil
		})
		if cerr := Check(bytes.NewReader(data), CSV); !sameErr(cerr, err) {
			t.Fatalf("Check = %v, Scan = %v", cerr, err)
		}
		// Compressed, the same bytes give the same outcome, but for a file
		// that is itself compressed: under .csv the reason names that.
		if _, _, compressed := SniffCompression(data); !compressed {
			for f, z := range map[Format][]byte{CSVGzip: gz(t, string(data)), CSVZstd: zst(t, string(data))} {
				var zitems []Item
				zerr := Scan(bytes.NewReader(z), f, func(it Item) error {
					zitems = append(zitems, it)
					return nil
				})
				if !sameErr(zerr, err) || !cmp.Equal(zitems, items) {
					t.Fatalf("%v: %v, %d ops; plain: %v, %d ops", f, zerr, len(zitems), err, len(items))
				}
			}
		}
		if err != nil {
			if _, ok := syntaxErr(err); !ok {
				t.Fatalf("not a *SyntaxError: %v", err)
			}
			return
		}

		body := bytes.TrimPrefix(data, []byte("\uFEFF"))
		r := csv.NewReader(bytes.NewReader(body))
		r.FieldsPerRecord = -1
		records := -1 // the header
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("Scan accepted what encoding/csv refuses: %v", err)
			}
			records++
		}
		if records != len(items) {
			t.Fatalf("%d ops, encoding/csv reads %d records after the header", len(items), records)
		}
		var want []Item
		last := int64(0)
		for i, it := range items {
			if it.Index != i || it.Start < last || it.End <= it.Start || it.End > int64(len(data)) {
				t.Fatalf("op %d at [%d, %d) after %d, of %d bytes", it.Index, it.Start, it.End, last, len(data))
			}
			last = it.End
			if len(it.Reject) > 0 && bytes.Contains([]byte(it.Reject), []byte("duplicate of op")) {
				it.Reject = ""
			}
			want = append(want, it)
		}
		// Under JSONRules the same file has the same ops and the same
		// structure; an accepted op is its cell as a JSON string.
		var jitems []Item
		if _, err := JSONRules.ScanFile(bytes.NewReader(data), CSV, func(it Item) error {
			jitems = append(jitems, it)
			return nil
		}); err != nil || len(jitems) != len(items) {
			t.Fatalf("JSONRules: %v, %d ops; ExpressionRules: %d ops", err, len(jitems), len(items))
		}
		for i, it := range jitems {
			var cell string
			if it.Reject == "" && (json.Unmarshal([]byte(it.Op.Op), &cell) != nil || jsonQuote(cell) != it.Op.Op) {
				t.Fatalf("op %d: %q is not a cell as a JSON string", i, it.Op.Op)
			}
			if items[i].Reject == "" && it.Reject == "" && cell != items[i].Op.Op {
				t.Fatalf("op %d: the cell %q, under JSONRules %q", i, items[i].Op.Op, it.Op.Op)
			}
		}
		for _, k := range []int{1, 3} {
			var got []Item
			for a := 0; a < len(items); a += k {
				b := min(a+k, len(items))
				run := Run{Offset: items[a].Start, Length: items[b-1].End - items[a].Start, First: a, Header: header}
				err := ScanChunk(bytes.NewReader(data[run.Offset:run.Offset+run.Length]), CSV, run, func(it Item) error {
					got = append(got, it)
					return nil
				})
				if err != nil {
					t.Fatalf("run of ops %d..%d: %v", a, b-1, err)
				}
			}
			if diff := cmp.Diff(verdicts(want), verdicts(got)); diff != "" {
				t.Fatalf("runs of %d (-plan +runs):\n%s", k, diff)
			}
		}
	})
}
