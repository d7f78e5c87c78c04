package batch

// The JSON lexer under Check and Scan: a hand-written scanner over a fixed
// buffer, so that memory does not grow with the file or with any value in
// it. The file's structure is document.go; memo's per-op rules are rules.go.
// This file is over 500 lines because a JSON lexer is one job: strings,
// escapes, numbers, literals and skipping nested values share its buffer.

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// bufSize is the read buffer of one Check or Scan: the only memory that a
// structural pass holds, however large the file or any value in it.
const bufSize = 64 << 10

// minBuf is the smallest buffer the scanner works with: its longest
// look-ahead is a \u escape pair, 12 bytes.
const minBuf = 12

// maxDepth is the deepest nesting of arrays and objects that a file may use.
// It is encoding/json's limit, so that both agree on what is valid JSON.
const maxDepth = 10000

// field collects one decoded string, keeping at most limit bytes of it.
type field struct {
	buf   []byte
	limit int
	n     int64 // decoded length, all of it
	lone  bool  // a \u escape held an unpaired UTF-16 surrogate
}

func (f *field) reset() {
	f.buf = f.buf[:0]
	f.n = 0
	f.lone = false
}

func (f *field) add(b []byte) {
	f.n += int64(len(b))
	room := max(f.limit-len(f.buf), 0)
	f.buf = append(f.buf, b[:min(len(b), room)]...)
}

// scanner is a hand-written JSON scanner over a fixed buffer. Its grammar is
// RFC 8259's, as encoding/json applies it (same nesting limit, invalid UTF-8
// allowed inside strings).
//
// It stays hand-written on purpose. encoding/json/jsontext (GOEXPERIMENT=
// jsonv2) was measured here at 0.63-0.75x its speed, and it buffers each
// string token whole: one 64 MiB op costs 256-448 MiB there against about
// 0.1 MiB here (bufSize plus the kept prefix of each field), which would
// break the splitter's memory bound.
type scanner struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte in buf
	end   int   // end of the data in buf
	base  int64 // file offset of buf[0]
	eof   bool
	rerr  error // sticky read error other than io.EOF
	jsonl bool
	check bool // Check: structure only

	stack [(maxDepth + 64) / 64]uint64 // 1 = object, per depth, for skipValue

	// Scan only.
	fn    func(Item) error
	rules *opRules
	index int
	start int64 // offset of the element being read
	name  field
	op    field
	key   field
	both  []byte

	// capture, while set, receives the bytes read from buf[capFrom:]
	// (rawValue); deepest is the deepest nesting below its base that
	// skipValue has seen since it was reset.
	capture *field
	capFrom int
	deepest int
}

// newScanner reads r with a buffer of size bytes (at least minBuf).
func newScanner(r io.Reader, f Format, check bool, size int) (*scanner, error) {
	if f != JSON && f != JSONL {
		return nil, fmt.Errorf("batch: unknown format %v", f)
	}
	s := &scanner{r: r, buf: make([]byte, max(size, minBuf)), jsonl: f == JSONL, check: check}
	s.key.limit = 64
	return s, nil
}

// off is the file offset of the next unread byte.
func (s *scanner) off() int64 { return s.base + int64(s.pos) }

// more makes at least n unread bytes available, reading as needed. It
// returns false when the input ends (or fails) first.
func (s *scanner) more(n int) bool {
	empty := 0
	for s.end-s.pos < n {
		if s.eof || s.rerr != nil {
			return false
		}
		if s.pos > 0 {
			if s.capture != nil {
				s.capture.add(s.buf[s.capFrom:s.pos])
				s.capFrom = 0
			}
			copy(s.buf, s.buf[s.pos:s.end])
			s.base += int64(s.pos)
			s.end -= s.pos
			s.pos = 0
		}
		m, err := s.r.Read(s.buf[s.end:])
		if m < 0 || m > len(s.buf)-s.end {
			s.rerr = errors.New("reader returned an invalid count")
			return false
		}
		s.end += m
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil:
			s.rerr = err
		case m == 0:
			if empty++; empty >= 100 {
				s.rerr = io.ErrNoProgress
			}
		}
	}
	return true
}

func (s *scanner) peek() (byte, bool) {
	if s.pos < s.end {
		return s.buf[s.pos], true
	}
	if !s.more(1) {
		return 0, false
	}
	return s.buf[s.pos], true
}

// ws skips whitespace and returns the next byte, unread. In a .jsonl file a
// newline ends the value being read, so it is returned, not skipped.
func (s *scanner) ws() (byte, bool) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c > ' ' {
				return c, true
			}
			switch c {
			case ' ', '\t', '\r':
				s.pos++
				continue
			case '\n':
				if !s.jsonl {
					s.pos++
					continue
				}
			}
			return c, true
		}
		if !s.more(1) {
			return 0, false
		}
	}
}

// endErr is the error for input that ends too early: the read error if
// there was one, otherwise a *SyntaxError at the end of the file.
func (s *scanner) endErr() error {
	if s.rerr != nil {
		return fmt.Errorf("batch: read: %w", s.rerr)
	}
	s.pos = s.end
	return &SyntaxError{Offset: s.off(), Reason: "unexpected end of input"}
}

// bad is the error for the unread byte c (at s.pos) in the given context.
func (s *scanner) bad(c byte, context string) error {
	if c == '\n' && s.jsonl {
		return &SyntaxError{Offset: s.off(), Reason: "unexpected end of line"}
	}
	return &SyntaxError{Offset: s.off(), Reason: "invalid character " + quoteChar(c) + " " + context}
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(c) + "'"
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// kinds names the JSON type that starts with a byte; "" if none does.
var kinds = func() (k [256]string) {
	k['{'] = "an object"
	k['['] = "an array"
	k['"'] = "a string"
	k['t'] = "a boolean"
	k['f'] = "a boolean"
	k['n'] = "null"
	k['-'] = "a number"
	for c := '0'; c <= '9'; c++ {
		k[c] = "a number"
	}
	return k
}()

// special marks the bytes that end a run of plain string content.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// wrongType is the error for a value of the wrong type that starts with
// the unread byte c: a syntax error if its first token is broken (so that
// "this" is not called a boolean), else a *SyntaxError at its start naming
// the type found.
func (s *scanner) wrongType(c byte, what, want string) error {
	at := s.off()
	var err error
	switch {
	case kinds[c] == "":
		return s.bad(c, "looking for beginning of value")
	case c == 't':
		err = s.literal("true")
	case c == 'f':
		err = s.literal("false")
	case c == 'n':
		err = s.literal("null")
	case c == '-' || isDigit(c):
		err = s.number()
	}
	if err != nil {
		return err
	}
	return &SyntaxError{Offset: at, Reason: what + " is " + kinds[c] + ", not " + want}
}

// keyText quotes the last key read, cut to its kept prefix.
func (s *scanner) keyText() string {
	q := strconv.Quote(string(s.key.buf))
	if s.key.n > int64(len(s.key.buf)) {
		q += "..."
	}
	return q
}

func (s *scanner) colon() error {
	c, ok := s.ws()
	if !ok {
		return s.endErr()
	}
	if c != ':' {
		return s.bad(c, "after object key")
	}
	s.pos++
	return nil
}

// str reads a string (s.pos at its opening quote), decoding it into f, or
// only checking it when f is nil.
func (s *scanner) str(f *field) error {
	s.pos++
	for {
		i := s.pos
		buf := s.buf[:s.end]
		for i < len(buf) && !special[buf[i]] {
			i++
		}
		if f != nil && i > s.pos {
			f.add(buf[s.pos:i])
		}
		s.pos = i
		if i == s.end {
			if !s.more(1) {
				return s.endErr()
			}
			continue
		}
		switch c := buf[i]; c {
		case '"':
			s.pos++
			return nil
		case '\\':
			if err := s.escape(f); err != nil {
				return err
			}
		default:
			return s.bad(c, "in string literal")
		}
	}
}

// hex4 decodes the four hex digits at s.buf[s.pos+at:]. bad is the index
// (from s.pos) of the first non-hex digit, or -1; short reports that the
// input ended first.
func (s *scanner) hex4(at int) (r rune, bad int, short bool) {
	for k := at; k < at+4; k++ {
		if s.pos+k >= s.end {
			return 0, -1, true
		}
		d, ok := hexDigit(s.buf[s.pos+k])
		if !ok {
			return 0, k, false
		}
		r = r<<4 | rune(d)
	}
	return r, -1, false
}

// escape reads one escape sequence (s.pos at its backslash).
func (s *scanner) escape(f *field) error {
	if !s.more(2) {
		return s.endErr()
	}
	c := s.buf[s.pos+1]
	var r rune
	switch c {
	case '"', '\\', '/':
		r = rune(c)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		s.more(6)
		v, bad, short := s.hex4(2)
		if bad >= 0 {
			s.pos += bad
			return s.bad(s.buf[s.pos], `in \u hexadecimal character escape`)
		}
		if short {
			return s.endErr()
		}
		if f == nil {
			s.pos += 6
			return nil
		}
		n := 6
		if utf16.IsSurrogate(v) {
			// A pair is a high surrogate escape followed at once by a
			// low one; anything else leaves a lone surrogate.
			v2 := rune(-1)
			if s.more(12) && s.buf[s.pos+6] == '\\' && s.buf[s.pos+7] == 'u' {
				if w, bad, short := s.hex4(8); bad < 0 && !short {
					v2 = w
				}
			}
			if d := utf16.DecodeRune(v, v2); d != utf8.RuneError {
				v, n = d, 12
			} else {
				v = utf8.RuneError
				f.lone = true
			}
		}
		var b [utf8.UTFMax]byte
		f.add(b[:utf8.EncodeRune(b[:], v)])
		s.pos += n
		return nil
	default:
		s.pos++
		return s.bad(c, "in string escape code")
	}
	if f != nil {
		f.add([]byte{byte(r)})
	}
	s.pos += 2
	return nil
}

// literal reads true, false or null (s.pos at its first letter).
func (s *scanner) literal(word string) error {
	if s.more(len(word)) && string(s.buf[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return nil
	}
	s.pos++
	for k := 1; k < len(word); k++ {
		c, ok := s.peek()
		if !ok {
			return s.endErr()
		}
		if c != word[k] {
			return s.bad(c, "in literal "+word+" (expecting "+quoteChar(word[k])+")")
		}
		s.pos++
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (s *scanner) digits() {
	for {
		for s.pos < s.end {
			if !isDigit(s.buf[s.pos]) {
				return
			}
			s.pos++
		}
		if !s.more(1) {
			return
		}
	}
}

// number reads a number (s.pos at its '-' or first digit).
func (s *scanner) number() error {
	c := s.buf[s.pos]
	if c == '-' {
		s.pos++
		var ok bool
		if c, ok = s.peek(); !ok {
			return s.endErr()
		}
		if !isDigit(c) {
			return s.bad(c, "in numeric literal")
		}
	}
	s.pos++
	if c != '0' {
		s.digits()
	}
	c, ok := s.peek()
	if !ok {
		return nil
	}
	if c == '.' {
		s.pos++
		if c, ok = s.peek(); !ok {
			return s.endErr()
		}
		if !isDigit(c) {
			return s.bad(c, "after decimal point in numeric literal")
		}
		s.digits()
		if c, ok = s.peek(); !ok {
			return nil
		}
	}
	if c == 'e' || c == 'E' {
		s.pos++
		if c, ok = s.peek(); !ok {
			return s.endErr()
		}
		if c == '+' || c == '-' {
			s.pos++
			if c, ok = s.peek(); !ok {
				return s.endErr()
			}
		}
		if !isDigit(c) {
			return s.bad(c, "in exponent of numeric literal")
		}
		s.digits()
	}
	return nil
}

func (s *scanner) setObject(depth int, obj bool) {
	w, b := depth/64, uint(depth%64)
	if obj {
		s.stack[w] |= 1 << b
	} else {
		s.stack[w] &^= 1 << b
	}
}

func (s *scanner) isObject(depth int) bool {
	return s.stack[depth/64]&(1<<uint(depth%64)) != 0
}

// rawValue reads one value (its first byte unread at s.pos) as skipValue
// does, keeping its bytes as the file has them in f (at most f.limit of
// them: f.n counts all) and returning how deep its arrays and objects nest.
// depth is the nesting depth of the value's container.
func (s *scanner) rawValue(f *field, depth int) (nesting int, err error) {
	s.capture, s.capFrom, s.deepest = f, s.pos, 0
	defer func() { s.capture = nil }()
	if err := s.skipValue(depth); err != nil {
		return 0, err
	}
	f.add(s.buf[s.capFrom:s.pos])
	return s.deepest, nil
}

// skipValue checks one value without keeping it. depth is the nesting
// depth of the value's container (0 at the top level of a line).
func (s *scanner) skipValue(depth int) error {
	base := depth
	for {
		// A value starts here.
		c, ok := s.ws()
		if !ok {
			return s.endErr()
		}
		switch {
		case c == '{' || c == '[':
			if depth+1 > maxDepth {
				return &SyntaxError{Offset: s.off(), Reason: fmt.Sprintf("exceeded max depth (%d)", maxDepth)}
			}
			depth++
			s.deepest = max(s.deepest, depth-base)
			s.setObject(depth, c == '{')
			s.pos++
			c2, ok := s.ws()
			if !ok {
				return s.endErr()
			}
			if c == '{' {
				if c2 == '}' {
					s.pos++
					depth--
					break
				}
				if c2 != '"' {
					return s.bad(c2, "looking for beginning of object key string")
				}
				if err := s.str(nil); err != nil {
					return err
				}
				if err := s.colon(); err != nil {
					return err
				}
				continue
			}
			if c2 == ']' {
				s.pos++
				depth--
				break
			}
			continue
		case c == '"':
			if err := s.str(nil); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		case c == '-' || isDigit(c):
			if err := s.number(); err != nil {
				return err
			}
		default:
			return s.bad(c, "looking for beginning of value")
		}
		// A value ended: close containers until one continues.
	after:
		for depth > base {
			c, ok := s.ws()
			if !ok {
				return s.endErr()
			}
			if s.isObject(depth) {
				switch c {
				case ',':
					s.pos++
					c2, ok := s.ws()
					if !ok {
						return s.endErr()
					}
					if c2 != '"' {
						return s.bad(c2, "looking for beginning of object key string")
					}
					if err := s.str(nil); err != nil {
						return err
					}
					if err := s.colon(); err != nil {
						return err
					}
					break after
				case '}':
					s.pos++
					depth--
				default:
					return s.bad(c, "after object key:value pair")
				}
			} else {
				switch c {
				case ',':
					s.pos++
					break after
				case ']':
					s.pos++
					depth--
				default:
					return s.bad(c, "after array element")
				}
			}
		}
		if depth == base {
			return nil
		}
	}
}
