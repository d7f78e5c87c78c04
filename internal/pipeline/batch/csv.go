package batch

// The CSV layout: RFC 4180 as encoding/csv reads it. A header row names the
// columns, "name" and "op" in either order and no others; each record after
// it is one op, whose index is the record's ordinal after the header. Empty
// lines are skipped (encoding/csv's rule) and take no index.
//
// encoding/csv holds one whole record in memory, so the input is cut off
// MaxCSVRecordBytes past the start of each record: a longer record rejects
// the file, and memory stays bounded whatever the file holds.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxCSVRecordBytes is the longest CSV record memo reads. A valid op's
// record is at most a few KB (MaxNameBytes and MaxOpBytes, quotes doubled);
// a longer one up to this bound is that op's rejection, and beyond it the
// file's.
const MaxCSVRecordBytes = 4 << 20

// csvReadAhead is how far encoding/csv may read past the record it returns:
// the size of the bufio.Reader it puts around its input (bufio's default).
const csvReadAhead = 4096

var errRecordTooLong = errors.New("CSV record over the length bound")

// csvInput is the input of a csv.Reader: it stops at limit (set past the
// start of each record) and, in the plan pass, remembers where the last
// lines start, so that a parse error's line and column become a byte offset.
type csvInput struct {
	r     io.Reader
	n     int64 // bytes delivered
	limit int64
	over  bool
	eof   bool
	nl    []int64 // ring of the offsets of the last newlines delivered
	count int     // newlines delivered
}

func (in *csvInput) Read(p []byte) (int, error) {
	if in.n >= in.limit {
		in.over = true
		return 0, errRecordTooLong
	}
	if room := in.limit - in.n; int64(len(p)) > room {
		p = p[:room]
	}
	m, err := in.r.Read(p)
	if m < 0 || m > len(p) {
		return 0, errors.New("reader returned an invalid count")
	}
	if in.nl != nil {
		for i := 0; i < m; {
			j := bytes.IndexByte(p[i:m], '\n')
			if j < 0 {
				break
			}
			in.nl[in.count%len(in.nl)] = in.n + int64(i+j)
			in.count++
			i += j + 1
		}
	}
	in.n += int64(m)
	in.eof = in.eof || err == io.EOF
	return m, err
}

// lineStart returns the offset of line (1-based), if it is still known.
// encoding/csv reports errors on the last line it read, and reads at most
// csvReadAhead bytes (so as many newlines) past it: the ring holds it.
func (in *csvInput) lineStart(line int) (int64, bool) {
	if line == 1 {
		return 0, true
	}
	k := line - 2 // the newline that ends the line before
	if in.nl == nil || k < 0 || k >= in.count || k < in.count-len(in.nl) {
		return 0, false
	}
	return in.nl[k%len(in.nl)] + 1, true
}

func newCSVReader(in *csvInput) *csv.Reader {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1 // a ragged record is its op's rejection
	cr.ReuseRecord = true
	return cr
}

// csvFile is one scan of CSV records; base is the offset of the reader's
// first byte in the file (a skipped byte order mark).
type csvFile struct {
	in   *csvInput
	cr   *csv.Reader
	base int64
}

// at is the file offset of line and column (1-based, bytes) if known, else
// of the end of what the reader consumed.
func (c *csvFile) at(line, col int) int64 {
	off := c.cr.InputOffset()
	if ls, ok := c.in.lineStart(line); ok {
		off = min(off, ls+int64(col-1))
	}
	return c.base + off
}

// fail turns encoding/csv's error for the record that started at start
// into a *SyntaxError, or a read error.
func (c *csvFile) fail(err error, start int64) error {
	var pe *csv.ParseError
	switch {
	case c.in.over:
		return &SyntaxError{Offset: c.base + start, Reason: fmt.Sprintf("a record longer than %d bytes, the most memo reads of one CSV record", MaxCSVRecordBytes)}
	case errors.As(err, &pe):
		if end := c.cr.InputOffset(); pe.Err == csv.ErrQuote && c.in.eof && end == c.in.n && c.at(pe.Line, pe.Column) >= c.base+end-1 {
			// encoding/csv's column for a quote still open at the end
			// of the file is past a line it normalised (CRLF to LF).
			return &SyntaxError{Offset: c.base + end, Reason: fmt.Sprintf("line %d: a quoted field is never closed: the file ends inside the record that starts on line %d", pe.Line, pe.StartLine)}
		}
		reason := fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
		if pe.StartLine != pe.Line {
			reason += fmt.Sprintf(" (in the record that starts on line %d)", pe.StartLine)
		}
		return &SyntaxError{Offset: c.at(pe.Line, pe.Column), Reason: reason}
	}
	return fmt.Errorf("batch: read: %w", err)
}

// csvColumns finds "name" and "op" in a header row: cols[0] is the name's
// column, cols[1] the op's. Otherwise reason says what is wrong, and bad is
// the column at fault (-1: the whole row).
func csvColumns(rec []string) (cols [2]int, bad int, reason string) {
	seen := [2]bool{}
	for i, h := range rec {
		k := -1
		switch h {
		case "name":
			k = 0
		case "op":
			k = 1
		}
		switch {
		case k < 0:
			return cols, i, fmt.Sprintf(`column %s of the header is not one memo reads: the header names the columns "name" and "op" (in either order) and no others`, strconv.Quote(cut(h, 64)))
		case seen[k]:
			return cols, i, fmt.Sprintf("the header names the column %q twice", h)
		}
		seen[k], cols[k] = true, i
	}
	for k, label := range []string{"name", "op"} {
		if !seen[k] {
			return cols, -1, fmt.Sprintf("the header has no %q column (a CSV batch starts with the header row name,op)", label)
		}
	}
	return cols, -1, ""
}

// records reads the records after the header, the first with index first.
func (c *csvFile) records(cols [2]int, rules *opRules, first int, fn func(Item) error) error {
	for index := first; ; index++ {
		start := c.cr.InputOffset()
		c.in.limit = start + MaxCSVRecordBytes + csvReadAhead
		rec, err := c.cr.Read()
		if err == io.EOF && !c.in.over {
			return nil
		}
		if err != nil {
			return c.fail(err, start)
		}
		line, _ := c.cr.FieldPos(0)
		it := Item{Index: index, Start: c.base + start, End: c.base + c.cr.InputOffset(), Line: line}
		if cols[0] < len(rec) {
			it.Op.Name = rec[cols[0]]
		}
		if cols[1] < len(rec) {
			it.Op.Op = rec[cols[1]]
		}
		var reject string
		if len(rec) != len(cols) {
			reject = fmt.Sprintf("the record has %d fields, the header %d", len(rec), len(cols))
			if len(rec) == 1 {
				reject = fmt.Sprintf("the record has 1 field, the header %d", len(cols))
			}
		} else {
			if rules.json && utf8.ValidString(it.Op.Op) {
				// The cell is text, carried as a JSON string: CSV has
				// no types, and "5" or true in a cell is what its
				// writer typed (docs/design.md, "Op rules"). A cell
				// of invalid UTF-8 is left for the rules to reject.
				it.Op.Op = jsonQuote(it.Op.Op)
			}
			reject = rules.verdict(&it, "", "")
		}
		if reject != "" {
			it.Reject = fmt.Sprintf("line %d: %s", line, reject)
			limit := MaxOpBytes
			if rules.json {
				limit = MaxJSONOpBytes
			}
			it.Op.Name, it.Op.Op = cut(it.Op.Name, MaxNameBytes), cut(it.Op.Op, limit)
		}
		if err := fn(it); err != nil {
			return err
		}
	}
}

// cut keeps at most n bytes of s, as the JSON layouts keep of a field over
// its limit.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// planCSV is the plan scan of the CSV layout: a byte order mark, the
// header, the records.
func planCSV(r io.Reader, rules *opRules, fn func(Item) error, _ int) ([]string, error) {
	var b [3]byte
	n, err := io.ReadFull(r, b[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("batch: read: %w", err)
	}
	c := &csvFile{in: &csvInput{nl: make([]int64, 2*csvReadAhead+2)}}
	if n == 3 && b == [3]byte{0xEF, 0xBB, 0xBF} {
		c.base, c.in.r = 3, r
	} else {
		c.in.r = io.MultiReader(bytes.NewReader(b[:n]), r)
	}
	c.in.limit = MaxCSVRecordBytes + csvReadAhead
	c.cr = newCSVReader(c.in)
	rec, err := c.cr.Read()
	if err == io.EOF && !c.in.over {
		return nil, &SyntaxError{Offset: c.base, Reason: `empty file (a CSV batch starts with the header row name,op)`}
	}
	if err != nil {
		return nil, c.fail(err, 0)
	}
	cols, bad, reason := csvColumns(rec)
	if reason != "" {
		line, col := c.cr.FieldPos(max(bad, 0))
		off := c.base
		if bad >= 0 {
			off = c.at(line, col)
		}
		return nil, &SyntaxError{Offset: off, Reason: fmt.Sprintf("line %d: %s", line, reason)}
	}
	header := []string{string([]byte(rec[0])), string([]byte(rec[1]))}
	return header, c.records(cols, rules, 0, fn)
}

// runCSV is the chunk scan of the CSV layout: records only, read with the
// header the plan pass found.
func runCSV(r io.Reader, run Run, rules Rules, fn func(Item) error, _ int) error {
	c := &csvFile{in: &csvInput{r: r}}
	c.cr = newCSVReader(c.in)
	cols, _, reason := csvColumns(run.Header)
	if reason != "" {
		return fmt.Errorf("batch: the plan's CSV header %q: %s", run.Header, reason)
	}
	seen := false
	err := c.records(cols, newRules(rules, nil), run.First, func(it Item) error {
		seen = true
		return fn(it)
	})
	if err == nil && !seen {
		return &SyntaxError{Offset: c.cr.InputOffset(), Reason: "a run of no record"}
	}
	return err
}
