package eval

import (
	"math"
	"strconv"

	"github.com/memohq/memo/internal/pipeline/record"
)

// What it buys (make bench): evaluate_mix_vs_bare's goal of >= 2x govaluate,
// which the mix misses without it; end to end little: about 1.8 us of CPU an
// op (evaluate_mix_ops_per_s against bare_govaluate) beside the 208 us of
// its PutItem (sdk_cpu_us_per_put_item_call), under 1% of compute.
//
// The fast path evaluates plain arithmetic without govaluate: numbers,
// + - * / % **, unary minus, parentheses, and at most one comparison
// (== != < <= > >=) at the top level. It parses and computes in one pass with
// no allocation. It accepts only inputs it understands exactly as govaluate
// does; for anything else it declines and the expression goes to govaluate.
// FuzzFastPathMatchesGovaluate checks, for every input it accepts, that the
// result equals govaluate's bit for bit.
//
// govaluate's rules that the fast path reproduces (each pinned by a test):
//   - Precedence, loosest first: comparison, + -, * / %, **, unary minus.
//     Unary minus binds tighter than **: -2**2 is (-2)**2 = 4.
//   - Every binary operator is left-associative, ** too: 2**3**2 is
//     (2**3)**2 = 64.
//   - % is math.Mod (the sign of the dividend, works on fractions); ** is
//     math.Pow; == compares with Go's == (so NaN != NaN and -0 == 0).
//   - A number is a run of digits and dots parsed by strconv.ParseFloat
//     (".5" and "5." are numbers; "1e3" and "0x1F" are not plain numbers and
//     go to govaluate, which reads 0x1F as hex and refuses 1e3).
//   - Operators are maximal runs of symbol characters, so "2*-1" is the
//     unknown operator "*-" and "-.5" the unknown operator "-.": both go to
//     govaluate, which refuses them. "2 * -1" and "- .5" are fine.
//   - A minus is unary at the start, after "(", after an operator; binary
//     after a number or ")". Two unary minuses in a row ("- -1") are refused
//     by govaluate, so the fast path declines them.
//
// Each floating-point result is rounded explicitly (float64(...)): Go may
// otherwise fuse a multiply and an add into one FMA instruction on arm64,
// which govaluate, computing each operator in its own function, never does.
type fastResult struct {
	isBool bool
	b      bool
	f      float64
}

func (r fastResult) finish() (record.Value, error) {
	if r.isBool {
		return record.Bool(r.b), nil
	}
	return finishNumber(r.f)
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tNum
	tLParen
	tRParen
	tPlus
	tMinus
	tMul
	tDiv
	tMod
	tPow
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
)

type fastParser struct {
	s   string
	i   int
	tok tokKind
	num float64
	bad bool // declined: a token or a construct the fast path does not handle
}

// fastEval evaluates expr if it is plain arithmetic; ok is false when the
// fast path declines it.
func fastEval(expr string) (r fastResult, ok bool) {
	p := fastParser{s: expr}
	p.next()
	f := p.additive()
	if p.bad {
		return r, false
	}
	if p.tok >= tEq && p.tok <= tGe {
		op := p.tok
		p.next()
		g := p.additive()
		if p.bad || p.tok != tEOF {
			return r, false
		}
		r.isBool = true
		switch op {
		case tEq:
			r.b = f == g
		case tNe:
			r.b = f != g
		case tLt:
			r.b = f < g
		case tLe:
			r.b = f <= g
		case tGt:
			r.b = f > g
		case tGe:
			r.b = f >= g
		}
		return r, true
	}
	if p.tok != tEOF {
		return r, false
	}
	r.f = f
	return r, true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// isSymbol reports whether c continues an operator: govaluate's
// isNotAlphanumeric, restricted to ASCII and to non-space.
func isSymbol(c byte) bool {
	return c < 0x80 && !isSpace(c) && !isDigit(c) && !isLetter(c) &&
		c != '(' && c != ')' && c != '[' && c != ']' && c != '\'' && c != '"'
}

// next reads one token into p.tok (and p.num), setting p.bad on anything
// outside the fast path's alphabet.
func (p *fastParser) next() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
	if p.i >= len(p.s) {
		p.tok = tEOF
		return
	}
	c := p.s[p.i]
	switch {
	case isDigit(c) || c == '.':
		start := p.i
		for p.i < len(p.s) && (isDigit(p.s[p.i]) || p.s[p.i] == '.') {
			p.i++
		}
		// "0x..." is hex in govaluate: the x is a letter, declined below
		// when it is read as the next token.
		f, err := strconv.ParseFloat(p.s[start:p.i], 64)
		if err != nil {
			p.bad = true
			return
		}
		p.tok, p.num = tNum, f
		return
	case c == '(':
		p.i++
		p.tok = tLParen
		return
	case c == ')':
		p.i++
		p.tok = tRParen
		return
	case c == ',' || !isSymbol(c):
		// a separator, a letter, a bracket, a quote, a non-ASCII byte
		p.bad = true
		return
	}
	start := p.i
	for p.i < len(p.s) && isSymbol(p.s[p.i]) {
		p.i++
	}
	switch p.s[start:p.i] {
	case "+":
		p.tok = tPlus
	case "-":
		p.tok = tMinus
	case "*":
		p.tok = tMul
	case "/":
		p.tok = tDiv
	case "%":
		p.tok = tMod
	case "**":
		p.tok = tPow
	case "==":
		p.tok = tEq
	case "!=":
		p.tok = tNe
	case "<":
		p.tok = tLt
	case "<=":
		p.tok = tLe
	case ">":
		p.tok = tGt
	case ">=":
		p.tok = tGe
	default:
		p.bad = true
	}
}

func (p *fastParser) binary(op tokKind, a, b float64) float64 {
	switch op {
	case tPlus:
		return float64(a + b)
	case tMinus:
		return float64(a - b)
	case tMul:
		return float64(a * b)
	case tDiv:
		return float64(a / b)
	case tMod:
		return math.Mod(a, b)
	}
	return math.Pow(a, b)
}

// additive: multiplicative (("+" | "-") multiplicative)*
func (p *fastParser) additive() float64 {
	v := p.multiplicative()
	for !p.bad && (p.tok == tPlus || p.tok == tMinus) {
		op := p.tok
		p.next()
		w := p.multiplicative()
		v = p.binary(op, v, w)
	}
	return v
}

// multiplicative: power (("*" | "/" | "%") power)*
func (p *fastParser) multiplicative() float64 {
	v := p.power()
	for !p.bad && (p.tok == tMul || p.tok == tDiv || p.tok == tMod) {
		op := p.tok
		p.next()
		w := p.power()
		v = p.binary(op, v, w)
	}
	return v
}

// power: unary ("**" unary)*, left-associative as in govaluate.
func (p *fastParser) power() float64 {
	v := p.unary()
	for !p.bad && p.tok == tPow {
		p.next()
		w := p.unary()
		v = p.binary(tPow, v, w)
	}
	return v
}

// unary: "-" primary | primary
func (p *fastParser) unary() float64 {
	if p.tok == tMinus {
		p.next()
		v := p.primary()
		return -v
	}
	return p.primary()
}

// primary: number | "(" additive ")"
func (p *fastParser) primary() float64 {
	if p.bad {
		return 0
	}
	switch p.tok {
	case tNum:
		v := p.num
		p.next()
		return v
	case tLParen:
		p.next()
		v := p.additive()
		if p.bad || p.tok != tRParen {
			p.bad = true
			return 0
		}
		p.next()
		return v
	}
	p.bad = true
	return 0
}
