package batch

// The two JSON layouts of a batch file (.json and .jsonl) and the ops in
// them, read with the lexer of lexer.go. What makes an op object (its keys,
// their types) is here; the rules every format shares are rules.go's.

import (
	"fmt"
	"io"
)

// The rules of a JSON op object, before the shared ones (rules.go):
//
//  1. Each key:value pair, in document order (pairRule): a key other than
//     "name" and "op" is an unknown field; a key seen before in the object
//     is a duplicate field; a value that is not a string is the wrong type
//     (under JSONRules the op may be any value: the bytes of its JSON text
//     are kept as the file holds them, with its nesting measured).
//  2. A missing field: "name", then "op" (verdict).
//
// An element that is not an object at all is "not a JSON object" (element).

func check(r io.Reader, f Format, size int) error {
	return sniffed(r, func(r io.Reader) error {
		s, err := newScanner(r, f, true, size)
		if err != nil {
			return err
		}
		return s.run()
	})
}

// planJSON is the plan scan of the .json or .jsonl layout.
func planJSON(f Format) func(io.Reader, *opRules, func(Item) error, int) ([]string, error) {
	return func(r io.Reader, rules *opRules, fn func(Item) error, size int) ([]string, error) {
		s, err := newScanner(r, f, false, size)
		if err != nil {
			return nil, err
		}
		s.fn = fn
		s.rules = rules
		s.limits()
		return nil, s.run()
	}
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
	nesting := 0
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
			anyType := f == &s.op && s.rules.json
			problem, keep := s.pairRule(f != nil, repeated, label, c, reject == "", anyType)
			if !keep {
				f = nil
			}
			if reject == "" {
				reject = problem
			}
			var err error
			switch {
			case f != nil && anyType:
				nesting, err = s.rawValue(f, depth)
			case f != nil:
				err = s.str(f)
			default:
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
	it.Reject = s.verdict(it, have, reject, nesting)
	return s.emit(it)
}

// limits sets the kept length of the fields by the scan's rules.
func (s *scanner) limits() {
	s.name.limit = MaxNameBytes
	s.op.limit = MaxOpBytes
	if s.rules.json {
		s.op.limit = MaxJSONOpBytes
	}
}

const (
	haveName = 1 << iota
	haveOp
)

// pairRule is rule 1 for one key:value pair of an op object: known says the
// key is "name" or "op" (label), repeated that the object held it already,
// c is the first byte of the value. It returns the pair's problem and
// whether the value is to be decoded into its field (a value that is not
// kept is only checked). need says whether the problem's text is wanted:
// only the first problem of an op is its reason.
// anyType says the value may be of any type (the op under JSONRules).
func (s *scanner) pairRule(known, repeated bool, label string, c byte, need, anyType bool) (problem string, keep bool) {
	switch {
	case !known:
		if need {
			return "unknown field " + s.keyText(), false
		}
		return "", false
	case repeated:
		return `duplicate field "` + label + `"`, false
	case c != '"' && !anyType:
		if kinds[c] != "" {
			return `field "` + label + `" is ` + kinds[c] + ", not a string", false
		}
		return "", false
	}
	return "", true
}

// verdict applies the JSON rules left (a missing field) and then the
// shared ones (rules.go) to the op object just read, whose fields are it.Op
// and whose keys seen are have; reject is pairRule's first problem, and
// nesting the depth of the op's JSON value (JSONRules).
func (s *scanner) verdict(it Item, have int, reject string, nesting int) string {
	switch {
	case reject != "":
		return reject
	case have&haveName == 0:
		return `missing field "name"`
	case have&haveOp == 0:
		return `missing field "op"`
	}
	opProblem := s.op.problem("op")
	if opProblem == "" && nesting > MaxJSONOpDepth {
		opProblem = fmt.Sprintf("op nests arrays and objects %d deep (max %d)", nesting, MaxJSONOpDepth)
	}
	return s.rules.verdict(&it, s.name.problem("name"), opProblem)
}
