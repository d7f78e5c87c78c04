package eval

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/casbin/govaluate"

	"github.com/memohq/memo/internal/pipeline/record"
)

// Limits enforced before any parsing.
const (
	// MaxExprBytes is the longest expression accepted, in bytes.
	MaxExprBytes = 1024
	// MaxNesting is the deepest bracket nesting accepted; "(" and "[" both
	// open a level.
	MaxNesting = 64
	// MaxStringBytes is the longest string result accepted, in bytes.
	MaxStringBytes = 4096
	// maxErrorBytes bounds the length of an error message.
	maxErrorBytes = 256
)

// DynamoDB's number range, as the float64 values that bound it: a result is
// stored when its magnitude is 0 or in [minMagnitude, maxMagnitude). The
// largest DynamoDB number, 9.9999999999999999999999999999999999999e125, is
// not a float64; the nearest float64 is exactly 1e126 (whose shortest form,
// "1e+126", DynamoDB refuses), so every float64 below 1e126 fits and 1e126
// does not. The float64 nearest 1e-130 prints as "1e-130" and fits.
const (
	minMagnitude = 1e-130
	maxMagnitude = 1e126
)

// Evaluate computes one op expression. It never panics and returns within
// bounded time. A non-nil error is deterministic (same input, same error):
// the compute service stores it as a result with status=error and
// err.Error() as the reason (short, human-readable, bounded length).
func Evaluate(expr string) (v record.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			if panicHook != nil {
				panicHook(expr, "evaluate", p)
			}
			v, err = record.Value{}, recovered(expr, p)
		}
	}()
	if err := checkLimits(expr); err != nil {
		return record.Value{}, err
	}
	if r, ok := fastEval(expr); ok {
		return r.finish()
	}
	raw, err := slowEval(expr)
	if err != nil {
		return record.Value{}, err
	}
	return finishRaw(raw)
}

// class groups errors for tests; the message is what users see.
type class uint8

const (
	classLimit      class = iota + 1 // length, nesting, backslash, UTF-8, empty
	classSyntax                      // the expression does not parse
	classNotAllowed                  // variables, accessors, unknown functions, bitwise, dates, regex forms
	classFunction                    // a whitelisted function refused its arguments
	classType                        // an operator refused its operand types
	classNotFinite                   // +Inf, -Inf or NaN
	classRange                       // finite but outside DynamoDB's number range
	classResult                      // a result that is not a number, bool or string, or too long
	classInternal                    // a recovered panic
)

func (c class) String() string {
	return [...]string{"?", "limit", "syntax", "not-allowed", "function", "type", "not-finite", "range", "result", "internal"}[c]
}

// evalError is every error Evaluate returns.
type evalError struct {
	class class
	msg   string
}

func (e *evalError) Error() string { return e.msg }

func newError(c class, format string, args ...any) *evalError {
	return &evalError{class: c, msg: clean(fmt.Sprintf(format, args...))}
}

// classOf returns the class of an error returned by Evaluate (0 for nil).
func classOf(err error) class {
	var e *evalError
	if errors.As(err, &e) {
		return e.class
	}
	if err != nil {
		return classInternal
	}
	return 0
}

// clean makes a message printable and bounded: control characters become
// '?', and the text is cut at a rune boundary to maxErrorBytes.
func clean(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
	if len(s) <= maxErrorBytes {
		return s
	}
	cut := maxErrorBytes - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// checkLimits applies the rules that must hold before the expression reaches
// any parser: bounded length, bounded nesting (the parsers recurse per
// level, and govaluate overflows the stack fatally on deep nesting), no
// backslash (govaluate panics on a trailing one, and escapes serve no
// purpose here), valid UTF-8, not empty.
func checkLimits(expr string) error {
	if len(expr) > MaxExprBytes {
		return newError(classLimit, "expression too long: %d bytes (limit %d)", len(expr), MaxExprBytes)
	}
	depth, maxDepth, ascii := 0, 0, true
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; c {
		case '(', '[':
			depth++
			maxDepth = max(maxDepth, depth)
		case ')', ']':
			if depth > 0 {
				depth--
			}
		case '\\':
			return newError(classLimit, "expression contains a backslash (not allowed)")
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
		}
	}
	if !ascii && !utf8.ValidString(expr) {
		return newError(classLimit, "expression is not valid UTF-8")
	}
	if maxDepth > MaxNesting {
		return newError(classLimit, "expression nested too deeply: %d levels of brackets (limit %d)", maxDepth, MaxNesting)
	}
	if strings.TrimSpace(expr) == "" {
		return newError(classLimit, "empty expression")
	}
	return nil
}

// slowEval evaluates through govaluate, with the whitelisted functions and
// with every construct memo refuses rejected before evaluation. It returns
// govaluate's raw result.
func slowEval(expr string) (any, error) {
	if err := checkRegex(expr); err != nil {
		return nil, err
	}
	var parsed *govaluate.EvaluableExpression
	if err := guard(expr, "parse", func() (err error) {
		// The trailing space keeps govaluate's lexer from rewinding at the
		// end of its input, where it counts a rune as one byte and slices
		// past the end of the string (a panic for a final U+0080, found by
		// FuzzEvaluate). Whitespace between tokens means nothing.
		parsed, err = govaluate.NewEvaluableExpressionWithFunctions(expr+" ", functions)
		return err
	}); err != nil {
		return nil, parseError(err)
	}
	if err := checkTokens(parsed.Tokens()); err != nil {
		return nil, err
	}
	var raw any
	if err := guard(expr, "evaluate", func() (err error) {
		raw, err = parsed.Evaluate(nil)
		return err
	}); err != nil {
		var e *evalError
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, newError(classType, "type error: %s", err.Error())
	}
	return raw, nil
}

// panicHook, when set (by tests), sees every recovered panic.
var panicHook func(expr, phase string, p any)

// guard runs f, turning a panic into an error. govaluate is known to panic
// on inputs such as `0 IN ()`; recovering is defence in depth behind the
// limits, which prevent the panics (deep recursion) that cannot be
// recovered.
func guard(expr, phase string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if panicHook != nil {
				panicHook(expr, phase, p)
			}
			err = recovered(expr, p)
		}
	}()
	return f()
}

// emptyIn matches govaluate's `x IN ()`, which panics while parsing. It is
// consulted only after a panic, to name it. "in" is a keyword unless it ends
// a name (a name can end in a digit, but "0in" is the number 0 and in); the
// spaces are unicode.IsSpace's.
var emptyIn = regexp.MustCompile(`(?i)(^|[^\pL_])in[\t\n\v\f\r \x{85}\p{Z}]*\([\t\n\v\f\r \x{85}\p{Z}]*\)`)

func recovered(expr string, p any) *evalError {
	if emptyIn.MatchString(expr) {
		return newError(classSyntax, "syntax error: empty list after 'in'")
	}
	return newError(classInternal, "unsupported expression: the evaluator failed on it (%v)", p)
}

// funcAddr matches the address govaluate prints for a function token.
var funcAddr = regexp.MustCompile(`\[0x[0-9a-f]+\]`)

// parseError classifies an error from govaluate's parser.
func parseError(err error) error {
	var e *evalError
	if errors.As(err, &e) {
		return e
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "Undefined function "); ok {
		return unknownFunction(name)
	}
	if strings.HasPrefix(msg, "error parsing regexp") {
		return newError(classSyntax, "invalid regular expression: %s", strings.TrimPrefix(msg, "error parsing regexp: "))
	}
	// A function token prints as its address, which differs between
	// builds: keep messages the same everywhere.
	msg = funcAddr.ReplaceAllString(msg, "[function]")
	return newError(classSyntax, "syntax error: %s", msg)
}

// bitwise are govaluate's bitwise operators. They convert float64 to int64,
// whose result for out-of-range values differs between amd64 (the twin) and
// arm64 (Lambda), so memo refuses them.
var bitwise = map[string]bool{"&": true, "|": true, "^": true, "<<": true, ">>": true, "~": true}

// checkTokens refuses, after parsing and before evaluating, what memo does
// not evaluate: parameters, accessors, date-like strings, bitwise operators.
func checkTokens(tokens []govaluate.ExpressionToken) error {
	for _, t := range tokens {
		switch t.Kind {
		case govaluate.VARIABLE:
			return newError(classNotAllowed, "variables are not allowed (found %q): an op is a constant expression", fmt.Sprint(t.Value))
		case govaluate.ACCESSOR:
			name := fmt.Sprint(t.Value)
			if parts, ok := t.Value.([]string); ok {
				name = strings.Join(parts, ".")
			}
			return newError(classNotAllowed, "field and method access is not allowed (found %q)", name)
		case govaluate.TIME:
			return newError(classNotAllowed, "date-like string literals are not supported (govaluate turns them into numbers that depend on the time zone)")
		case govaluate.MODIFIER, govaluate.PREFIX:
			if s, ok := t.Value.(string); ok && bitwise[s] {
				return newError(classNotAllowed, "bitwise operators (& | ^ << >> ~) are not supported (found %q)", s)
			}
		}
	}
	return nil
}

// finishRaw turns govaluate's raw result into a typed value.
func finishRaw(raw any) (record.Value, error) {
	switch v := raw.(type) {
	case float64:
		return finishNumber(v)
	case bool:
		return record.Bool(v), nil
	case string:
		if len(v) > MaxStringBytes {
			return record.Value{}, newError(classResult, "string result too long: %d bytes (limit %d)", len(v), MaxStringBytes)
		}
		if !utf8.ValidString(v) {
			return record.Value{}, newError(classResult, "string result is not valid UTF-8")
		}
		return record.String(v), nil
	case nil:
		return record.Value{}, newError(classResult, "the expression has no value")
	case []any:
		return record.Value{}, newError(classResult, "the result is a list of %d values, not a number, bool or string", len(v))
	default:
		return record.Value{}, newError(classResult, "the result has type %T, not a number, bool or string", raw)
	}
}

// finishNumber checks that f is finite and fits DynamoDB's number range.
// Negative zero becomes zero (DynamoDB has no negative zero). A non-finite
// number has one message whichever path computed it: only the value is
// known by then, not how it came about.
func finishNumber(f float64) (record.Value, error) {
	switch {
	case math.IsInf(f, 0) || math.IsNaN(f):
		if math.IsNaN(f) {
			return record.Value{}, newError(classNotFinite, "not a finite number (NaN)")
		}
		return record.Value{}, newError(classNotFinite, "not a finite number (%v): division by zero, or a result out of range", f)
	case f == 0:
		return record.Number(0), nil
	}
	a := math.Abs(f)
	if a >= maxMagnitude {
		return record.Value{}, newError(classRange, "out of range: %s exceeds DynamoDB's number range (magnitude below 1e126)", record.FormatNumber(f))
	}
	if a < minMagnitude {
		return record.Value{}, newError(classRange, "underflow: %s is nonzero and smaller in magnitude than DynamoDB's smallest number 1e-130", record.FormatNumber(f))
	}
	return record.Number(f), nil
}
