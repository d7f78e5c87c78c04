package batch

// A run: the bytes of consecutive ops of a batch file, as a plan's chunk
// names them (Item.Start of its first op to Item.End of its last). The
// chunk task of a planned batch reads only those bytes (a ranged GET) and
// scans them here.

import (
	"io"
)

// ScanRun streams a run of ops cut out of a batch file of format f and calls
// fn for each, in order, with Index counting from first. In the .json form
// the run is array elements separated by commas (and whitespace); in the
// .jsonl form it is lines. Each op gets the per-op rules of Scan except the
// duplicate rule, which needs the whole batch: the plan pass (Scan) applies
// it and records its verdicts. Item.Start and Item.End count from the start
// of the run.
//
// A run must hold at least one op and nothing else: a structural problem
// (which the plan pass would have found, so the object changed or the range
// is wrong) is a *SyntaxError with the offset in the run.
func ScanRun(r io.Reader, f Format, first int, fn func(Item) error) error {
	return scanRun(r, f, first, fn, bufSize)
}

func scanRun(r io.Reader, f Format, first int, fn func(Item) error, size int) error {
	s, err := newScanner(r, f, false, size)
	if err != nil {
		return err
	}
	s.fn = fn
	s.index = first
	s.name.limit = MaxNameBytes
	s.op.limit = MaxOpBytes
	if s.jsonl {
		return s.lines()
	}
	return s.elements()
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
