package batch

// memo's per-op rules: what makes an op valid, and the order in which they
// are checked. The first rule an op breaks is its reason (Item.Reject), and
// an op that breaks one is rejected alone; the rest of the batch goes on.
//
//  1. Each key:value pair, in document order (pairRule): a key other than
//     "name" and "op" is an unknown field; a key seen before in the object
//     is a duplicate field; a value that is not a string is the wrong type.
//  2. A missing field: "name", then "op" (verdict).
//  3. The name: its length and UTF-8 as decoded (field.problem), then
//     ValidateName: 1..255 bytes of valid UTF-8, no control characters.
//  4. The op: its length and UTF-8 as decoded, then ValidateOp: 1..1024
//     bytes of valid UTF-8, no backslash, parentheses nested at most 64 deep.
//  5. Duplicates: the first op with a name wins; a later one is a
//     "duplicate of op N" (nameSet, names.go). Only an op that passed 1-4
//     claims its name.
//
// An element that is not an object at all is "not a JSON object" (element,
// document.go). Structural faults are not per-op: they reject the file
// (*SyntaxError).

import (
	"fmt"
	"unicode/utf8"
)

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
func (s *scanner) pairRule(known, repeated bool, label string, c byte, need bool) (problem string, keep bool) {
	switch {
	case !known:
		if need {
			return "unknown field " + s.keyText(), false
		}
		return "", false
	case repeated:
		return `duplicate field "` + label + `"`, false
	case c != '"':
		if kinds[c] != "" {
			return `field "` + label + `" is ` + kinds[c] + ", not a string", false
		}
		return "", false
	}
	return "", true
}

// verdict applies rules 2 to 5 to the op object just read, whose fields are
// it.Op and whose keys seen are have; reject is rule 1's first problem.
func (s *scanner) verdict(it Item, have int, reject string) string {
	switch {
	case reject != "":
		return reject
	case have&haveName == 0:
		return `missing field "name"`
	case have&haveOp == 0:
		return `missing field "op"`
	}
	if reject = s.name.problem("name"); reject != "" {
		return reject
	}
	if reject = ValidateName(it.Op.Name); reject != "" {
		return reject
	}
	if reject = s.op.problem("op"); reject != "" {
		return reject
	}
	if reject = ValidateOp(it.Op.Op); reject != "" {
		return reject
	}
	if s.names == nil {
		return "" // a run of a planned batch (ScanRun): the plan found the duplicates
	}
	if uint64(it.Index) > indexMask {
		// The duplicate check keeps 32-bit indexes; the splitter's
		// MaxOps is far below.
		return fmt.Sprintf("a batch file holds at most %d ops", uint64(indexMask)+1)
	}
	if first, dup := s.names.add(it.Op.Name, it.Index); dup {
		return fmt.Sprintf("duplicate of op %d", first)
	}
	return ""
}

// problem reports a field that is over its limit or held a lone surrogate:
// the two faults that the kept bytes alone cannot show.
func (f *field) problem(label string) string {
	if f.n > int64(f.limit) {
		return fmt.Sprintf("%s is %d bytes (max %d)", label, f.n, f.limit)
	}
	if f.lone {
		return label + ` is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape)`
	}
	return ""
}

// ValidateName returns "" or the reason name is not a valid op name: 1..255
// bytes of valid UTF-8 without control characters (C0, DEL, C1).
func ValidateName(name string) string {
	if name == "" {
		return "name is empty"
	}
	if len(name) > MaxNameBytes {
		return fmt.Sprintf("name is %d bytes (max %d)", len(name), MaxNameBytes)
	}
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fmt.Sprintf("name contains control character %U at byte %d", c, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("name is not valid UTF-8 (byte %d)", i)
		}
		if r >= 0x80 && r <= 0x9f {
			return fmt.Sprintf("name contains control character %U at byte %d", r, i)
		}
		i += size
	}
	return ""
}

// ValidateOp returns "" or the reason op is not a valid expression text:
// 1..1024 bytes of valid UTF-8, no backslash, parentheses nested at most 64
// deep. Every '(' counts, even inside a quoted string of the expression.
func ValidateOp(op string) string {
	if op == "" {
		return "op is empty"
	}
	if len(op) > MaxOpBytes {
		return fmt.Sprintf("op is %d bytes (max %d)", len(op), MaxOpBytes)
	}
	if !utf8.ValidString(op) {
		for i := 0; ; {
			r, size := utf8.DecodeRuneInString(op[i:])
			if r == utf8.RuneError && size == 1 {
				return fmt.Sprintf("op is not valid UTF-8 (byte %d)", i)
			}
			i += size
		}
	}
	depth, deepest := 0, 0
	for i := 0; i < len(op); i++ {
		switch op[i] {
		case '(':
			depth++
			deepest = max(deepest, depth)
		case ')':
			depth--
		case '\\':
			return fmt.Sprintf("op contains a backslash (byte %d)", i)
		}
	}
	if deepest > MaxNesting {
		return fmt.Sprintf("op nests parentheses %d deep (max %d)", deepest, MaxNesting)
	}
	return ""
}
