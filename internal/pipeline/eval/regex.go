package eval

import (
	"regexp/syntax"
	"strings"
	"unicode"
)

// maxRegexInsts bounds the size of a regular expression program. Go's
// regexp matches in time linear in text × program, and compiles in time
// linear in the program; a 1 KB pattern such as `.{0,999}.{0,999}...` makes a
// program of over 100,000 instructions that took seconds to match on this
// machine. With at most 1,000 instructions and a text of at most 1 KB, a
// match stays within a few milliseconds (measured in TestRegexBound).
const maxRegexInsts = 1000

// checkRegex bounds the cost of the regex operators =~ and !~ before
// govaluate compiles anything (it compiles literal patterns while parsing
// and folds literal operands, so the match runs during parsing too).
//
// An op may use them only in the form 'text' =~ 'pattern' (or !~) with two
// string literals, so the pattern's size is known before it is compiled:
// govaluate would otherwise also compile patterns built at run time by
// concatenation (`'x' =~ '.{0,' + 999 + '}'`), whose size cannot be bounded
// by looking at the literals.
func checkRegex(expr string) error {
	if !strings.Contains(expr, "=~") && !strings.Contains(expr, "!~") {
		return nil
	}
	if !regexOperatorOutsideLiterals(expr) {
		return nil
	}
	pattern, ok := regexForm(expr)
	if !ok {
		return newError(classNotAllowed, "regex operators (=~, !~) are only supported as 'text' =~ 'pattern', with two string literals")
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		// govaluate's compile reports it, with the same parser.
		return nil
	}
	if n := regexSize(re, maxRegexInsts+1); n > maxRegexInsts {
		return newError(classNotAllowed, "regular expression too complex: more than %d instructions", maxRegexInsts)
	}
	return nil
}

// regexOperatorOutsideLiterals reports whether =~ or !~ occurs outside string
// literals and [bracketed] names, scanning the way govaluate's lexer does: a
// string runs from a quote (' or ") to the next quote of either kind, a
// bracketed name from [ to the next ], and neither has escapes (backslashes
// are refused earlier).
func regexOperatorOutsideLiterals(expr string) bool {
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; c {
		case '\'', '"':
			j := strings.IndexAny(expr[i+1:], `'"`)
			if j < 0 {
				return false
			}
			i += j + 1
		case '[':
			j := strings.IndexByte(expr[i+1:], ']')
			if j < 0 {
				return false
			}
			i += j + 1
		case '=', '!':
			if i+1 < len(expr) && expr[i+1] == '~' {
				return true
			}
		}
	}
	return false
}

// regexForm matches `'text' OP 'pattern'` (spaces allowed around each part,
// either quote for each literal) and returns the pattern.
func regexForm(expr string) (pattern string, ok bool) {
	s := strings.TrimLeftFunc(expr, unicode.IsSpace)
	_, s, ok = literal(s)
	if !ok {
		return "", false
	}
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if !strings.HasPrefix(s, "=~") && !strings.HasPrefix(s, "!~") {
		return "", false
	}
	s = strings.TrimLeftFunc(s[2:], unicode.IsSpace)
	pattern, s, ok = literal(s)
	if !ok || strings.TrimSpace(s) != "" {
		return "", false
	}
	return pattern, true
}

// literal splits a leading string literal off s.
func literal(s string) (lit, rest string, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	j := strings.IndexAny(s[1:], `'"`)
	if j < 0 {
		return "", s, false
	}
	return s[1 : 1+j], s[2+j:], true
}

// regexSize is an upper bound of the number of instructions Go's regexp
// compiles re into (after the simplification that expands counted
// repetitions), computed without expanding anything; it stops counting once
// it passes limit.
func regexSize(re *syntax.Regexp, limit int) int {
	return min(2+size(re, limit), limit) // the match and fail instructions
}

func size(re *syntax.Regexp, limit int) int {
	sat := func(n int) int { return min(n, limit) }
	switch re.Op {
	case syntax.OpLiteral:
		return sat(len(re.Rune))
	case syntax.OpCapture:
		return sat(2 + size(re.Sub[0], limit))
	case syntax.OpStar: // a star of a possibly empty sub compiles as (sub+)?
		return sat(2 + size(re.Sub[0], limit))
	case syntax.OpPlus, syntax.OpQuest:
		return sat(1 + size(re.Sub[0], limit))
	case syntax.OpRepeat:
		// simplified as Min copies of the sub followed by, with no Max, a
		// plus (or a star when Min is 0), else Max-Min nested optional copies
		if re.Min > limit || re.Max > limit {
			return limit
		}
		sub := size(re.Sub[0], limit)
		if re.Max == -1 {
			return sat(re.Min*sub + sub + 2)
		}
		return sat(1 + re.Min*sub + (re.Max-re.Min)*(sub+1))
	case syntax.OpConcat, syntax.OpAlternate:
		total := len(re.Sub)
		for _, sub := range re.Sub {
			total += size(sub, limit)
			if total > limit {
				return limit
			}
		}
		return total
	default: // character classes, any char, empty, anchors, word boundaries
		return 1
	}
}
