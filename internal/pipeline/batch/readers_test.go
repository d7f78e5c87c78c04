package batch

// Check and Scan over readers that fail, return nothing, stall or return
// more than asked: the lexer's reads (lexer.go).

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// failReader returns its data, then err instead of io.EOF.
type failReader struct {
	data []byte
	err  error
}

func (r *failReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadError(t *testing.T) {
	cut := errors.New("connection reset")
	for _, c := range []struct {
		f    Format
		data string
	}{
		{JSON, `{"ops": [{"name": "a", "op": "1"}`},
		{JSON, `{"ops": [{"name": "a", "op": "1"}]}`}, // complete, but the stream failed
		{JSON, ``},
		{JSONL, `{"name": "a", "op": "1"}` + "\n"},
		{JSONL, `{"name": "a", "op": "1`},
		{JSONL, ``},
	} {
		for name, run := range map[string]func(io.Reader) error{
			"Check": func(r io.Reader) error { return Check(r, c.f) },
			"Scan":  func(r io.Reader) error { return Scan(r, c.f, func(Item) error { return nil }) },
		} {
			err := run(&failReader{data: []byte(c.data), err: cut})
			if _, syntax := syntaxErr(err); syntax || !errors.Is(err, cut) {
				t.Errorf("%s %v %q: %v, want the read error", name, c.f, c.data, err)
			}
		}
	}
	// A reader that makes no progress is an error too, not a hang.
	if err := Check(zeroReader{}, JSON); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("Check of a reader that returns 0, nil: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// TestReaders: every way of feeding the same input gives the same result,
// over a file with long values that straddle every buffer boundary.
func TestReaders(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\xef\xbb\xbf{\"x\": [\"" + strings.Repeat(`\u00e9\ud83d\ude00\n`, 3000) + "\"], \"ops\": [")
	for i := range 400 {
		if i > 0 {
			b.WriteString(",\n")
		}
		switch i % 5 {
		case 0:
			b.WriteString(`{"name": "n` + strings.Repeat(`\u00e9`, i%300) + `", "op": "` + strings.Repeat("(1+", i%50) + `1"}`)
		case 1:
			b.WriteString(`{"op": "` + strings.Repeat("1+", i*3) + `1", "name": "o` + strings.Repeat("x", i) + `"}`)
		case 2:
			b.WriteString(`{"name": "\ud83d\ude00` + strings.Repeat("y", i%7) + `", "op": "1", "junk": [` + strings.Repeat(`1e-3, true, {"a": null}, `, i%40) + `0]}`)
		case 3:
			b.WriteString(`[` + strings.Repeat(`"\u0041\ud800", -0.5E+2, `, i%40) + `false]`)
		case 4:
			b.WriteString(`{"name": "d` + strings.Repeat("z", i%11) + `", "op": "'` + strings.Repeat(`\"`, i) + `'"}`)
		}
	}
	b.WriteString("]}\n")
	data := b.Bytes()
	t.Logf("%d KiB", len(data)>>10)
	want := scanAll(t, data, JSON)
	if want.err != nil || len(want.items) != 400 {
		t.Fatalf("Scan: %v, %d items", want.err, len(want.items))
	}
	checkItems(t, want.items)
	for seed := range uint64(3) {
		for name, open := range readers(data, seed) {
			r, size := open()
			got := scanReader(r, JSON, size)
			if got.err != nil || !sameItems(got.items, want.items) {
				t.Errorf("%s reader (seed %d): %v, items differ", name, seed, got.err)
			}
			r, size = open()
			if err := check(r, JSON, size); err != nil {
				t.Errorf("%s reader: Check = %v", name, err)
			}
		}
	}
	// The same with the file cut at 50 places.
	for k := range 50 {
		cut := 1 + k*(len(data)-2)/50
		want := scanAll(t, data[:cut], JSON)
		for name, open := range readers(data[:cut], uint64(cut)) {
			if name == "one-byte" || name == "data-err" {
				continue
			}
			r, size := open()
			if got := scanReader(r, JSON, size); !sameErr(got.err, want.err) || !sameItems(got.items, want.items) {
				t.Errorf("cut at %d, %s reader: %v, want %v", cut, name, got.err, want.err)
			}
		}
	}
}

// stallReader returns (0, nil) stalls times, then data in one read.
type stallReader struct {
	data   []byte
	stalls int
}

func (r *stallReader) Read(p []byte) (int, error) {
	if r.stalls > 0 {
		r.stalls--
		return 0, nil
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadersThatStall: a reader may return 0, nil (io.Reader allows it);
// 100 times in a row is no progress, as bufio counts it.
func TestReadersThatStall(t *testing.T) {
	const doc = `{"ops": [{"name": "a", "op": "1"}]}`
	for _, stalls := range []int{1, 99} {
		if err := Check(&stallReader{data: []byte(doc), stalls: stalls}, JSON); err != nil {
			t.Errorf("%d stalls before the data: %v", stalls, err)
		}
	}
	if err := Check(&stallReader{data: []byte(doc), stalls: 100}, JSON); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("100 stalls in a row: %v, want io.ErrNoProgress", err)
	}
}

// overReader claims to have read more than it was given.
type overReader struct{ calls int }

// Read gives one byte, then claims len(p)+1.
func (r *overReader) Read(p []byte) (int, error) {
	if r.calls++; r.calls == 1 {
		return copy(p, "{"), nil
	}
	return len(p) + 1, nil
}

func TestReaderReturningTooMuchIsAnError(t *testing.T) {
	if err := Check(&overReader{}, JSON); err == nil || !strings.Contains(err.Error(), "invalid count") {
		t.Errorf("Check of a reader returning len(p)+1: %v", err)
	}
}
