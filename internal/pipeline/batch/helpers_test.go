package batch

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

// result is everything Scan says about one input.
type result struct {
	items []Item
	err   error
}

func scanAll(t testing.TB, data []byte, f Format) result {
	t.Helper()
	return scanReader(bytes.NewReader(data), f, bufSize)
}

func scanReader(r io.Reader, f Format, size int) result {
	var res result
	res.err = scan(r, f, func(it Item) error {
		res.items = append(res.items, it)
		return nil
	}, size)
	return res
}

func syntaxErr(err error) (*SyntaxError, bool) {
	var se *SyntaxError
	ok := errors.As(err, &se)
	return se, ok
}

// sameErr reports whether two errors are both nil or equal *SyntaxErrors.
func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	sa, oka := syntaxErr(a)
	sb, okb := syntaxErr(b)
	return oka && okb && *sa == *sb
}

func sameItems(a, b []Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		// The ops, not where they sit: offsets have their own tests
		// (run_test.go).
		if a[i].Index != b[i].Index || a[i].Op != b[i].Op || a[i].Reject != b[i].Reject {
			return false
		}
	}
	return true
}

// chunkReader returns its data in pieces of random size (1..max bytes),
// sometimes with io.EOF on the last piece, to move every buffer boundary.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
	max  int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1 + c.rng.IntN(c.max)
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	if len(c.data) == 0 && c.rng.IntN(2) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// readers are the ways the tests feed one input: whole, a byte at a time,
// in random pieces, with the final EOF attached to data, and through the
// smallest buffer the scanner accepts.
func readers(data []byte, seed uint64) map[string]func() (io.Reader, int) {
	return map[string]func() (io.Reader, int){
		"whole":    func() (io.Reader, int) { return bytes.NewReader(data), bufSize },
		"one-byte": func() (io.Reader, int) { return iotest.OneByteReader(bytes.NewReader(data)), bufSize },
		"data-err": func() (io.Reader, int) { return iotest.DataErrReader(bytes.NewReader(data)), bufSize },
		"chunks": func() (io.Reader, int) {
			return &chunkReader{data: data, rng: rand.New(rand.NewPCG(seed, 1)), max: 7}, bufSize
		},
		"min-buffer": func() (io.Reader, int) {
			return &chunkReader{data: data, rng: rand.New(rand.NewPCG(seed, 2)), max: 5}, minBuf
		},
		"small-buffer": func() (io.Reader, int) { return bytes.NewReader(data), 17 },
	}
}

// reasonFamilies are the starts of every per-op rejection reason.
var reasonFamilies = []string{
	"not a JSON object (found ",
	"unknown field ",
	"duplicate field ",
	`field "name" is `,
	`field "op" is `,
	`missing field "name"`,
	`missing field "op"`,
	"name is empty",
	"name is ",
	"name contains control character ",
	"op is empty",
	"op is ",
	"op contains a backslash",
	"op nests parentheses ",
	"duplicate of op ",
	"the record has ",
}

// csvLine is how a CSV rejection starts: the record's line.
var csvLine = regexp.MustCompile(`^line [1-9][0-9]*: `)

func knownReason(r string) bool {
	r = csvLine.ReplaceAllString(r, "")
	for _, p := range reasonFamilies {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	return false
}

// syntaxClass reports whether a structural reason is a plain JSON syntax
// error (as opposed to valid JSON of the wrong shape).
func syntaxClass(reason string) bool {
	return strings.HasPrefix(reason, "invalid character ") ||
		strings.HasPrefix(reason, "unexpected end of ") ||
		strings.HasPrefix(reason, "exceeded max depth")
}
