package batch

// The two forms of a batch file (.json and .jsonl) and the ops in them, read
// with the lexer of lexer.go; each op's verdict comes from rules.go.

import (
	"fmt"
	"io"
)

// Check reads the whole file: nil if it is structurally sound. It returns a *SyntaxError for a broken file, or the reader's error
// (wrapped) if reading fails; it never decodes an op.
func Check(r io.Reader, f Format) error {
	return check(r, f, bufSize)
}

func check(r io.Reader, f Format, size int) error {
	s, err := newScanner(r, f, true, size)
	if err != nil {
		return err
	}
	return s.run()
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
	return scan(r, f, fn, bufSize)
}

func scan(r io.Reader, f Format, fn func(Item) error, size int) error {
	s, err := newScanner(r, f, false, size)
	if err != nil {
		return err
	}
	s.fn = fn
	s.names = newNameSet()
	s.name.limit = MaxNameBytes
	s.op.limit = MaxOpBytes
	return s.run()
}

func (s *scanner) run() error {
	// A leading UTF-8 byte order mark is skipped.
	if s.more(3) && s.buf[0] == 0xEF && s.buf[1] == 0xBB && s.buf[2] == 0xBF {
		s.pos = 3
	}
	if s.jsonl {
		return s.lines()
	}
	return s.document()
}

// document reads the .json form: {"ops": [...]} with other keys ignored.
func (s *scanner) document() error {
	c, ok := s.ws()
	if !ok {
		if s.rerr != nil {
			return s.endErr()
		}
		return &SyntaxError{Offset: s.off(), Reason: "empty file"}
	}
	if c != '{' {
		return s.wrongType(c, "top-level value", `an object with an "ops" array`)
	}
	s.pos++
	opsAt := int64(-1)
	c, ok = s.ws()
	if !ok {
		return s.endErr()
	}
	if c != '}' {
		for {
			if c != '"' {
				return s.bad(c, "looking for beginning of object key string")
			}
			keyAt := s.off()
			s.key.reset()
			if err := s.str(&s.key); err != nil {
				return err
			}
			if err := s.colon(); err != nil {
				return err
			}
			if s.key.n == 3 && string(s.key.buf) == "ops" {
				if opsAt >= 0 {
					return &SyntaxError{Offset: keyAt, Reason: fmt.Sprintf(`duplicate "ops" key (the first is at byte %d)`, opsAt)}
				}
				opsAt = keyAt
				if err := s.ops(); err != nil {
					return err
				}
			} else if err := s.skipValue(1); err != nil {
				return err
			}
			if c, ok = s.ws(); !ok {
				return s.endErr()
			}
			if c == ',' {
				s.pos++
				if c, ok = s.ws(); !ok {
					return s.endErr()
				}
				continue
			}
			if c == '}' {
				break
			}
			return s.bad(c, "after object key:value pair")
		}
	}
	if opsAt < 0 {
		return &SyntaxError{Offset: s.off(), Reason: `no "ops" array in the top-level object`}
	}
	s.pos++
	if c, ok = s.ws(); ok {
		return s.bad(c, "after top-level value")
	}
	if s.rerr != nil {
		return s.endErr()
	}
	return nil
}

// ops reads the value of the "ops" key, which must be an array.
func (s *scanner) ops() error {
	c, ok := s.ws()
	if !ok {
		return s.endErr()
	}
	if c != '[' {
		return s.wrongType(c, `"ops"`, "an array")
	}
	s.pos++
	if c, ok = s.ws(); !ok {
		return s.endErr()
	}
	if c == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.element(c, 2); err != nil {
			return err
		}
		if c, ok = s.ws(); !ok {
			return s.endErr()
		}
		switch c {
		case ',':
			s.pos++
			if c, ok = s.ws(); !ok {
				return s.endErr()
			}
		case ']':
			s.pos++
			return nil
		default:
			return s.bad(c, "after array element")
		}
	}
}

// lines reads the .jsonl form: one value per line, blank lines skipped.
func (s *scanner) lines() error {
	found := false
	for {
		c, ok := s.ws()
		if !ok {
			break
		}
		if c == '\n' {
			s.pos++
			continue
		}
		if err := s.element(c, 0); err != nil {
			return err
		}
		found = true
		if c, ok = s.ws(); !ok {
			break
		}
		if c != '\n' {
			return s.bad(c, "after top-level value")
		}
		s.pos++
	}
	if s.rerr != nil {
		return s.endErr()
	}
	if !found {
		return &SyntaxError{Offset: s.off(), Reason: "empty file (no line holds an op)"}
	}
	return nil
}

// element reads one op: an entry of the ops array or a line. depth is the
// nesting depth of its container (0 for a line).
func (s *scanner) element(c byte, depth int) error {
	s.start = s.off()
	if s.check {
		return s.skipValue(depth)
	}
	if c == '{' {
		return s.object(depth + 1)
	}
	k := kinds[c]
	if err := s.skipValue(depth); err != nil {
		return err
	}
	return s.emit(Item{Index: s.index, Reject: "not a JSON object (found " + k + ")"})
}

func (s *scanner) emit(it Item) error {
	it.Start, it.End = s.start, s.off()
	s.index++
	return s.fn(it)
}

// object reads one op object (s.pos at its '{'); depth is its own depth.
func (s *scanner) object(depth int) error {
	s.pos++
	s.name.reset()
	s.op.reset()
	have := 0
	reject := ""
	c, ok := s.ws()
	if !ok {
		return s.endErr()
	}
	if c != '}' {
		for {
			if c != '"' {
				return s.bad(c, "looking for beginning of object key string")
			}
			var f *field
			bit := 0
			label := ""
			// Fast paths for the two plain keys; anything else is decoded.
			if s.more(6) && string(s.buf[s.pos:s.pos+6]) == `"name"` {
				s.pos += 6
				f, bit, label = &s.name, haveName, "name"
			} else if s.more(4) && string(s.buf[s.pos:s.pos+4]) == `"op"` {
				s.pos += 4
				f, bit, label = &s.op, haveOp, "op"
			} else {
				s.key.reset()
				if err := s.str(&s.key); err != nil {
					return err
				}
				switch {
				case s.key.n == 4 && string(s.key.buf) == "name":
					f, bit, label = &s.name, haveName, "name"
				case s.key.n == 2 && string(s.key.buf) == "op":
					f, bit, label = &s.op, haveOp, "op"
				}
			}
			if err := s.colon(); err != nil {
				return err
			}
			if c, ok = s.ws(); !ok {
				return s.endErr()
			}
			repeated := f != nil && have&bit != 0
			if f != nil {
				have |= bit
			}
			problem, keep := s.pairRule(f != nil, repeated, label, c, reject == "")
			if !keep {
				f = nil
			}
			if reject == "" {
				reject = problem
			}
			var err error
			if f != nil {
				err = s.str(f)
			} else {
				err = s.skipValue(depth)
			}
			if err != nil {
				return err
			}
			if c, ok = s.ws(); !ok {
				return s.endErr()
			}
			if c == ',' {
				s.pos++
				if c, ok = s.ws(); !ok {
					return s.endErr()
				}
				continue
			}
			if c == '}' {
				break
			}
			return s.bad(c, "after object key:value pair")
		}
	}
	s.pos++

	it := Item{Index: s.index}
	s.both = append(append(s.both[:0], s.name.buf...), s.op.buf...)
	all := string(s.both)
	it.Op.Name, it.Op.Op = all[:len(s.name.buf)], all[len(s.name.buf):]
	it.Reject = s.verdict(it, have, reject)
	return s.emit(it)
}
