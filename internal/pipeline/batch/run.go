package batch

// A run of the JSON layouts: the bytes of consecutive ops of a batch file,
// as a plan's chunk names them (Item.Start of its first op to Item.End of
// its last). In the .json form the run is array elements separated by
// commas (and whitespace); in the .jsonl form it is lines.

import (
	"io"
)

// runJSON is the chunk scan of the .json or .jsonl layout.
func runJSON(f Format) func(io.Reader, Run, Rules, func(Item) error, int) error {
	return func(r io.Reader, run Run, rules Rules, fn func(Item) error, size int) error {
		s, err := newScanner(r, f, false, size)
		if err != nil {
			return err
		}
		s.fn = fn
		s.rules = newRules(rules, nil)
		s.index = run.First
		s.limits()
		if s.jsonl {
			return s.lines()
		}
		return s.elements()
	}
}

// elements reads the .json form's part of a run: element (',' element)*.
func (s *scanner) elements() error {
	c, ok := s.ws()
	if !ok {
		return s.endErr()
	}
	for {
		// depth 2: an element of the ops array of the top-level object, so
		// that the nesting limit is the one the whole file had.
		if err := s.element(c, 2); err != nil {
			return err
		}
		if c, ok = s.ws(); !ok {
			if s.rerr != nil {
				return s.endErr()
			}
			return nil
		}
		if c != ',' {
			return s.bad(c, "after array element")
		}
		s.pos++
		if c, ok = s.ws(); !ok {
			return s.endErr()
		}
	}
}
