package batch

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// item is the part of an Item that a CSV case pins down.
type item struct {
	Index  int
	Line   int
	Name   string
	Op     string
	Reject string
}

func csvItems(items []Item) []item {
	var out []item
	for _, it := range items {
		out = append(out, item{it.Index, it.Line, it.Op.Name, it.Op.Op, it.Reject})
	}
	return out
}

// The CSV layout, case by case: what each file gives, op by op.
func TestCSVOps(t *testing.T) {
	for _, c := range []struct {
		name   string
		data   string
		header []string
		want   []item
	}{
		{"plain", "name,op\na,1+1\nb,2*2\n", []string{"name", "op"},
			[]item{{0, 2, "a", "1+1", ""}, {1, 3, "b", "2*2", ""}}},
		{"columns in the other order, no final newline", "op,name\n1+1,a\n2*2,b", []string{"op", "name"},
			[]item{{0, 2, "a", "1+1", ""}, {1, 3, "b", "2*2", ""}}},
		{"quoted commas, doubled quotes and a newline", "name,op\n\"a,1\",\"'x' == \"\"y\"\"\"\n\"b\nc\",\"1 +\n2\"\nd,3\n", []string{"name", "op"},
			[]item{{0, 2, "a,1", `'x' == "y"`, ""}, {1, 3, "b\nc", "1 +\n2", "line 3: name contains control character U+000A at byte 1"}, {2, 6, "d", "3", ""}}},
		{"CRLF", "name,op\r\na,1\r\nb,2\r\n", []string{"name", "op"},
			[]item{{0, 2, "a", "1", ""}, {1, 3, "b", "2", ""}}},
		{"a byte order mark", "\uFEFFname,op\na,1\n", []string{"name", "op"},
			[]item{{0, 2, "a", "1", ""}}},
		{"empty lines take no index", "name,op\n\na,1\n\n\nb,2\n", []string{"name", "op"},
			[]item{{0, 3, "a", "1", ""}, {1, 6, "b", "2", ""}}},
		{"only the header: an empty batch", "name,op\n", []string{"name", "op"}, nil},
		{"ragged records are their ops' rejections", "name,op\na,1,extra\nb\nc,3\n", []string{"name", "op"},
			[]item{{0, 2, "a", "1", "line 2: the record has 3 fields, the header 2"}, {1, 3, "b", "", "line 3: the record has 1 field, the header 2"}, {2, 4, "c", "3", ""}}},
		{"the first op with a name wins", "name,op\na,1\nbad\\,\\\na,2\na,3\n", []string{"name", "op"},
			[]item{{0, 2, "a", "1", ""}, {1, 3, "bad\\", "\\", "line 3: op contains a backslash (byte 0)"}, {2, 4, "a", "2", "line 4: duplicate of op 0"}, {3, 5, "a", "3", "line 5: duplicate of op 0"}}},
		{"empty fields", "name,op\n,1\na,\n", []string{"name", "op"},
			[]item{{0, 2, "", "1", "line 2: name is empty"}, {1, 3, "a", "", "line 3: op is empty"}}},
		{"a space is part of the field", "name,op\n a , 1\n", []string{"name", "op"},
			[]item{{0, 2, " a ", " 1", ""}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []Item
			header, err := ScanFile(strings.NewReader(c.data), CSV, func(it Item) error {
				got = append(got, it)
				return nil
			})
			if err != nil {
				t.Fatalf("ScanFile: %v", err)
			}
			if diff := cmp.Diff(c.header, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.want, csvItems(got)); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
			if err := Check(strings.NewReader(c.data), CSV); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

// A field over its limit is its op's rejection, cut to the limit as the
// JSON layouts cut it; a record over MaxCSVRecordBytes rejects the file.
func TestCSVLongFields(t *testing.T) {
	big := strings.Repeat("1", 2<<20)
	var got []Item
	err := Scan(strings.NewReader("name,op\na,"+big+"\nb,2\n"), CSV, func(it Item) error {
		got = append(got, it)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []item{{0, 2, "a", big[:MaxOpBytes], "line 2: op is 2097152 bytes (max 1024)"}, {1, 3, "b", "2", ""}}
	if diff := cmp.Diff(want, csvItems(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	huge := "name,op\na,1\nb,\"" + strings.Repeat("x\n", (MaxCSVRecordBytes+csvReadAhead)/2+10) + "\"\n"
	err = Scan(strings.NewReader(huge), CSV, func(Item) error { return nil })
	se, ok := syntaxErr(err)
	if !ok || se.Offset != int64(len("name,op\na,1\n")) || !strings.Contains(se.Reason, "a record longer than 4194304 bytes") {
		t.Errorf("a record of 8 MB: %v", err)
	}
}

// A structural break rejects the whole file, with its line and byte offset.
func TestCSVStructure(t *testing.T) {
	for _, c := range []struct {
		name   string
		data   string
		offset int64
		reason string
	}{
		{"empty file", "", 0, "empty file (a CSV batch starts with the header row name,op)"},
		{"only a byte order mark", "\uFEFF", 3, "empty file (a CSV batch starts with the header row name,op)"},
		{"no op column", "name\na\n", 0, `line 1: the header has no "op" column (a CSV batch starts with the header row name,op)`},
		{"a header that is data", "a,1+1\n", 0, `line 1: column "a" of the header is not one memo reads: the header names the columns "name" and "op" (in either order) and no others`},
		{"an extra column", "name,op,comment\na,1,x\n", 8, `line 1: column "comment" of the header is not one memo reads: the header names the columns "name" and "op" (in either order) and no others`},
		{"a column named twice", "name,op,name\n", 8, `line 1: the header names the column "name" twice`},
		{"case matters", "Name,op\n", 0, `line 1: column "Name" of the header is not one memo reads: the header names the columns "name" and "op" (in either order) and no others`},
		{"a bare quote", "name,op\na,1\nb,2 \"x\"\n", 16, `line 3, column 5: bare " in non-quoted-field`},
		{"a bare quote after a BOM and CRLF", "\uFEFFname,op\r\na,1\r\nb\"\",2\r\n", 3 + 9 + 5 + 1, `line 3, column 2: bare " in non-quoted-field`},
		{"text after a closing quote", "name,op\na,\"1\"x\n", 12, `line 2, column 5: extraneous or missing " in quoted-field`},
		{"a quote never closed", "name,op\na,1\nb,\"2\nc,3\n", 21, "line 4: a quoted field is never closed: the file ends inside the record that starts on line 3"},
		{"a quote never closed, CRLF", "name,op\r\na,\"1\r\n", 15, "line 2: a quoted field is never closed: the file ends inside the record that starts on line 2"},
		{"a quote never closed, no final newline", "name,op\na,\"1", 12, "line 2: a quoted field is never closed: the file ends inside the record that starts on line 2"},
		{"a quote closed too late on the last line", "name,op\na,\"1\"x", 12, `line 2, column 5: extraneous or missing " in quoted-field`},
		{"a gzip stream under .csv", "\x1f\x8b\x08\x00", 0, "the file is gzip-compressed but its key has no .gz suffix; memo reads .json, .jsonl, .csv, .json.gz, .jsonl.gz, .csv.gz, .json.zst, .jsonl.zst or .csv.zst"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			err := Scan(strings.NewReader(c.data), CSV, func(Item) error { n++; return nil })
			want := &SyntaxError{Offset: c.offset, Reason: c.reason}
			if diff := cmp.Diff(error(want), err, cmp.Comparer(sameErr)); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(error(want), Check(strings.NewReader(c.data), CSV), cmp.Comparer(sameErr)); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// A CSV file broken after 47 valid records: Scan has seen the 47 when it
// reports the break (the splitter enqueues only after a clean plan pass,
// test/hostile), and the break's line and offset are the 48th record's.
func TestCSVBrokenLate(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("name,op\n")
	for i := range 47 {
		b.WriteString("op" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ",1+1\n")
	}
	at := int64(b.Len())
	b.WriteString("late,\"1+1\n")
	n := 0
	err := Scan(bytes.NewReader(b.Bytes()), CSV, func(Item) error { n++; return nil })
	se, ok := syntaxErr(err)
	if !ok || n != 47 || se.Offset <= at || se.Reason != "line 49: a quoted field is never closed: the file ends inside the record that starts on line 49" {
		t.Errorf("after %d ops: %v (the broken record starts at byte %d)", n, err, at)
	}
}

// A failing read is a read error, not a broken file.
func TestCSVReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := ioMulti(strings.NewReader("name,op\na,1\n"), boom)
	err := Scan(r, CSV, func(Item) error { return nil })
	if _, ok := syntaxErr(err); ok || !errors.Is(err, boom) {
		t.Errorf("Scan = %v, want the read error", err)
	}
}

func ioMulti(r io.Reader, err error) io.Reader { return io.MultiReader(r, iotest.ErrReader(err)) }
