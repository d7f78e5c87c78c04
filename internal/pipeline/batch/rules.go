package batch

// memo's per-op rules that every format shares, applied to an op once its
// format has read its name and op (document.go for the JSON layouts, csv.go
// for CSV). The first rule an op breaks is its reason (Item.Reject), and an
// op that breaks one is rejected alone; the rest of the batch goes on.
//
// Before these, each format has its own rules for what makes an entry an
// op at all (an object with the keys "name" and "op", both strings; a
// record with the header's number of fields); their reasons come first.
// Then, in this order:
//
//  1. The name: a problem the format found reading it (a field over its
//     limit, a lone surrogate escape), then ValidateName: 1..255 bytes of
//     valid UTF-8, no control characters.
//  2. The op: the same, then by the scan's Rules. ExpressionRules:
//     ValidateOp, 1..1024 bytes of valid UTF-8, no backslash, parentheses
//     nested at most 64 deep. JSONRules: any JSON value of at most
//     MaxJSONOpBytes of valid UTF-8 (no unpaired surrogate escape either),
//     arrays and objects nested at most MaxJSONOpDepth deep (validJSONOp).
//  3. Duplicates: the first op with a name wins; a later one is a
//     "duplicate of op N" (nameSet, names.go). Only an op that passed 1-2
//     claims its name.
//
// Structural faults are not per-op: they reject the file (*SyntaxError).

import (
	"fmt"
	"unicode/utf8"
)

// opRules applies the shared rules to the ops of one scan. names is nil in
// a chunk's run: the plan pass, which saw the whole batch, found the
// duplicates.
type opRules struct {
	names *nameSet
	json  bool // JSONRules: Item.Op.Op is the op's JSON text
}

func newRules(r Rules, names *nameSet) *opRules {
	return &opRules{names: names, json: r == JSONRules}
}

// verdict returns the reason op it (its Index and Op set) is rejected, or
// "". nameProblem and opProblem are what the format found wrong reading
// each field ("" if nothing).
func (r *opRules) verdict(it *Item, nameProblem, opProblem string) string {
	if nameProblem != "" {
		return nameProblem
	}
	if reject := ValidateName(it.Op.Name); reject != "" {
		return reject
	}
	if opProblem != "" {
		return opProblem
	}
	if r.json {
		if reject := validJSONOp(it.Op.Op); reject != "" {
			return reject
		}
	} else if reject := ValidateOp(it.Op.Op); reject != "" {
		return reject
	}
	if r.names == nil {
		return ""
	}
	if uint64(it.Index) > indexMask {
		// The duplicate check keeps 32-bit indexes; the splitter's
		// MaxOps is far below.
		return fmt.Sprintf("a batch file holds at most %d ops", uint64(indexMask)+1)
	}
	if first, dup := r.names.add(it.Op.Name, it.Index); dup {
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
	if i := invalidUTF8At(op); i >= 0 {
		return fmt.Sprintf("op is not valid UTF-8 (byte %d)", i)
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

// validJSONOp returns "" or the reason the JSON text op is not an op under
// JSONRules, for what the lexer does not check itself (the nesting it
// measures as it reads): its length, invalid UTF-8 and an unpaired UTF-16
// surrogate in a \u escape (a string of no UTF-8 form).
func validJSONOp(op string) string {
	if len(op) > MaxJSONOpBytes {
		return fmt.Sprintf("op is %d bytes of JSON (max %d)", len(op), MaxJSONOpBytes)
	}
	if i := invalidUTF8At(op); i >= 0 {
		return fmt.Sprintf("op is not valid UTF-8 (byte %d)", i)
	}
	// A backslash is only ever in a string of valid JSON, where it starts
	// an escape: \uXXXX is the only one that can be a surrogate.
	for i := 0; i < len(op); i++ {
		if op[i] != '\\' {
			continue
		}
		if i+5 >= len(op) || op[i+1] != 'u' {
			i++
			continue
		}
		r := hexRune(op[i+2 : i+6])
		switch {
		case r < 0xD800 || r > 0xDFFF:
		case r < 0xDC00 && i+11 < len(op) && op[i+6] == '\\' && op[i+7] == 'u' && isLowSurrogate(hexRune(op[i+8:i+12])):
			i += 6
		default:
			return fmt.Sprintf(`op is not valid UTF-8 (unpaired UTF-16 surrogate in a \u escape at byte %d)`, i)
		}
		i += 5
	}
	return ""
}

// invalidUTF8At is the offset of s's first byte that is not valid UTF-8,
// or -1.
func invalidUTF8At(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; ; {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
}

func isLowSurrogate(r rune) bool { return r >= 0xDC00 && r <= 0xDFFF }

// hexRune decodes four hex digits (-1 if one is not).
func hexRune(h string) rune {
	r := rune(0)
	for i := 0; i < len(h); i++ {
		d, ok := hexDigit(h[i])
		if !ok {
			return -1
		}
		r = r<<4 | rune(d)
	}
	return r
}

// hexDigit is c's value as a hex digit.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// jsonQuote is s, of valid UTF-8, as a JSON string: a CSV cell under
// JSONRules. Only what JSON requires is escaped.
func jsonQuote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}
