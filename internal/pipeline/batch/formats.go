package batch

// The one table of formats: each format's suffix, its plan scan (the whole
// file) and its chunk scan (one run of ops). Every list of suffixes (the
// splitter's, Terraform's notification filters, the twin's, the messages
// that name the formats) comes from here; test/policy checks Terraform's.

import (
	"fmt"
	"io"
	"strings"
)

// Format is the layout of a batch file, and its compression.
type Format int

const (
	// JSON is {"ops": [{"name": ..., "op": ...}, ...]}.
	JSON Format = iota + 1
	// JSONL is one {"name": ..., "op": ...} object per line.
	JSONL
	// CSV is a header row naming the columns "name" and "op", then one
	// record per op (RFC 4180).
	CSV
	// JSONGzip, JSONLGzip and CSVGzip are the same layouts compressed
	// with gzip.
	JSONGzip
	JSONLGzip
	CSVGzip
	// JSONZstd, JSONLZstd and CSVZstd are the same layouts compressed
	// with Zstandard.
	JSONZstd
	JSONLZstd
	CSVZstd
)

// layout reads one uncompressed layout. plan streams a whole file, with the
// duplicate rule when rules.names is set, and returns the header a chunk
// task needs (CSV's columns); run streams one run of ops cut out of it.
type layout struct {
	plan func(r io.Reader, rules *opRules, fn func(Item) error, size int) (header []string, err error)
	run  func(r io.Reader, run Run, rules Rules, fn func(Item) error, size int) error
}

var (
	jsonLayout  = layout{plan: planJSON(JSON), run: runJSON(JSON)}
	jsonlLayout = layout{plan: planJSON(JSONL), run: runJSON(JSONL)}
	csvLayout   = layout{plan: planCSV, run: runCSV}
)

// formats is the table: its order is the order in which messages list them.
var formats = [...]struct {
	f      Format
	name   string // the plan's name for it (record.Plan.Format)
	suffix string
	layout *layout
	codec  *codec // nil: not compressed
}{
	{JSON, "json", ".json", &jsonLayout, nil},
	{JSONL, "jsonl", ".jsonl", &jsonlLayout, nil},
	{CSV, "csv", ".csv", &csvLayout, nil},
	{JSONGzip, "json.gz", ".json.gz", &jsonLayout, &gzipCodec},
	{JSONLGzip, "jsonl.gz", ".jsonl.gz", &jsonlLayout, &gzipCodec},
	{CSVGzip, "csv.gz", ".csv.gz", &csvLayout, &gzipCodec},
	{JSONZstd, "json.zst", ".json.zst", &jsonLayout, &zstdCodec},
	{JSONLZstd, "jsonl.zst", ".jsonl.zst", &jsonlLayout, &zstdCodec},
	{CSVZstd, "csv.zst", ".csv.zst", &csvLayout, &zstdCodec},
}

func entry(f Format) (int, bool) {
	for i := range formats {
		if formats[i].f == f {
			return i, true
		}
	}
	return 0, false
}

// Formats lists every format memo reads.
func Formats() []Format {
	out := make([]Format, len(formats))
	for i := range formats {
		out[i] = formats[i].f
	}
	return out
}

// Suffixes lists the key suffix of every format, in the table's order:
// the S3 notification filters (Terraform's and the twin's) are these.
func Suffixes() []string {
	out := make([]string, len(formats))
	for i := range formats {
		out[i] = formats[i].suffix
	}
	return out
}

// SuffixList names the suffixes for a message: ".json, .jsonl, ... or .csv.gz".
func SuffixList() string {
	s := Suffixes()
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// String returns the format's name: "json", "jsonl", "csv", "json.gz", ...
func (f Format) String() string {
	if i, ok := entry(f); ok {
		return formats[i].name
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Suffix returns the key suffix of f (".jsonl.gz").
func (f Format) Suffix() string {
	if i, ok := entry(f); ok {
		return formats[i].suffix
	}
	return ""
}

// Compressed reports whether f is compressed (gzip or zstd). A compressed batch
// cannot be read from the middle: its offsets (Item.Start, Run.Offset,
// SyntaxError.Offset) count decompressed bytes, and a chunk task reads the
// object from its first byte (ReadRange).
func (f Format) Compressed() bool {
	i, ok := entry(f)
	return ok && formats[i].codec != nil
}

// ParseFormat returns the format named name (Format.String), as a plan
// stores it.
func ParseFormat(name string) (Format, bool) {
	for i := range formats {
		if formats[i].name == name {
			return formats[i].f, true
		}
	}
	return 0, false
}

// FormatOf picks the format from an object key's suffix; ok=false when the
// key ends in none of Suffixes. The match is case-sensitive, as S3's
// notification suffix filter is. No suffix ends with another (S3 refuses
// overlapping filters), so at most one matches.
func FormatOf(key string) (f Format, ok bool) {
	for i := range formats {
		if strings.HasSuffix(key, formats[i].suffix) {
			return formats[i].f, true
		}
	}
	return 0, false
}

// Run is one chunk's run of ops, as the plan pass found it: the bytes
// [Offset, Offset+Length) of the file (decompressed bytes for a compressed
// format), the index of its first op, and the header the file's ops are
// read with (CSV's columns; nil otherwise).
type Run struct {
	Offset, Length int64
	First          int
	Header         []string
}

// ReadRange returns the bytes of the object a chunk task must read for
// run: the run itself, or for a compressed format the whole object
// (length 0), which ScanChunk decompresses from its start.
func (f Format) ReadRange(run Run) (offset, length int64) {
	if f.Compressed() {
		return 0, 0
	}
	return run.Offset, run.Length
}

// Check reads the whole file: nil if it is structurally sound. It returns
// a *SyntaxError for a broken file, or the reader's error (wrapped) if
// reading fails; for the JSON layouts it never decodes an op.
func Check(r io.Reader, f Format) error {
	if f == JSON || f == JSONL {
		return check(r, f, bufSize)
	}
	_, err := scanFile(r, f, &opRules{}, func(Item) error { return nil }, bufSize)
	return err
}

// Scan streams the file calling fn for every op in order (valid or
// rejected, duplicates included as rejections). It returns *SyntaxError on a
// structural problem, or fn's error.
//
// Scan is one pass: the ops before a structural problem have already been
// passed to fn when it returns the *SyntaxError. A caller that must act on
// no op of a broken file holds what fn gave it until Scan returns nil (the
// splitter's plan pass) or runs Check first. A read error is returned
// wrapped.
func Scan(r io.Reader, f Format, fn func(Item) error) error {
	_, err := ScanFile(r, f, fn)
	return err
}

// Scan is the package's Scan with the rules r (the package's functions
// apply ExpressionRules).
func (r Rules) Scan(rd io.Reader, f Format, fn func(Item) error) error {
	_, err := r.ScanFile(rd, f, fn)
	return err
}

// ScanFile is the package's ScanFile with the rules r.
func (r Rules) ScanFile(rd io.Reader, f Format, fn func(Item) error) (header []string, err error) {
	return scanFile(rd, f, newRules(r, newNameSet()), fn, bufSize)
}

// ScanChunk is the package's ScanChunk with the rules r: a chunk is read
// with the rules its plan pass applied.
func (r Rules) ScanChunk(rd io.Reader, f Format, run Run, fn func(Item) error) error {
	return scanChunk(rd, f, run, r, fn, bufSize)
}

// ScanFile is Scan, returning also the header that ScanChunk needs to read
// a run of the file's ops (CSV's columns; nil for the other layouts).
func ScanFile(r io.Reader, f Format, fn func(Item) error) (header []string, err error) {
	return scanFile(r, f, &opRules{names: newNameSet()}, fn, bufSize)
}

func scan(r io.Reader, f Format, fn func(Item) error, size int) error {
	_, err := scanFile(r, f, &opRules{names: newNameSet()}, fn, size)
	return err
}

func scanFile(r io.Reader, f Format, rules *opRules, fn func(Item) error, size int) ([]string, error) {
	i, ok := entry(f)
	if !ok {
		return nil, fmt.Errorf("batch: unknown format %v", f)
	}
	l := formats[i].layout
	var header []string
	read := func(r io.Reader) (err error) {
		header, err = l.plan(r, rules, fn, size)
		return err
	}
	var err error
	if c := formats[i].codec; c != nil {
		err = decompressed(r, c, maxDecompressed, 0, read)
	} else {
		err = sniffed(r, read)
	}
	return header, err
}

// ScanChunk streams the run of ops of a chunk and calls fn for each, in
// order, with Index counting from run.First. r holds the object's bytes
// that ReadRange names: the run itself, or for a compressed format the
// whole object, which is decompressed and skipped up to run.Offset. Each op
// gets the per-op rules of Scan except the duplicate rule, which needs the
// whole batch: the plan pass applies it and records its verdicts.
// Item.Start and Item.End count from the start of the run.
//
// A run must hold at least one op and nothing else: a structural problem
// (which the plan pass would have found, so the object changed or the range
// is wrong) is a *SyntaxError with the offset in the run.
func ScanChunk(r io.Reader, f Format, run Run, fn func(Item) error) error {
	return scanChunk(r, f, run, ExpressionRules, fn, bufSize)
}

func scanChunk(r io.Reader, f Format, run Run, rules Rules, fn func(Item) error, size int) error {
	i, ok := entry(f)
	if !ok {
		return fmt.Errorf("batch: unknown format %v", f)
	}
	l := formats[i].layout
	c := formats[i].codec
	if c == nil {
		return l.run(r, run, rules, fn, size)
	}
	return decompressed(r, c, maxDecompressed, run.Offset, func(z io.Reader) error {
		return l.run(io.LimitReader(z, run.Length), run, rules, fn, size)
	})
}

// ScanRun is ScanChunk for a run of an uncompressed .json or .jsonl file
// whose first op has index first.
func ScanRun(r io.Reader, f Format, first int, fn func(Item) error) error {
	return scanRun(r, f, first, fn, bufSize)
}

func scanRun(r io.Reader, f Format, first int, fn func(Item) error, size int) error {
	return scanChunk(r, f, Run{First: first}, ExpressionRules, fn, size)
}
