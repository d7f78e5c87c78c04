package eval

import (
	"errors"
	"math"
	"math/big"
	"regexp/syntax"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/memohq/memo/internal/pipeline/record"
)

func num(f float64) record.Value { return record.Number(f) }

// TestEvaluate covers each rule with its value or its error class and
// message.
func TestEvaluate(t *testing.T) {
	long := strings.Repeat("1+", 511) + "1" // 1023 bytes
	tests := []struct {
		expr  string
		want  record.Value
		class class
		msg   string // substring of the error
	}{
		// arithmetic (fast path)
		{expr: "1+1", want: num(2)},
		{expr: " 2 * 2 ", want: num(4)},
		{expr: "7 / 2", want: num(3.5)},
		{expr: "1 - 2 - 3", want: num(-4)},
		{expr: "8 / 4 / 2", want: num(1)},
		{expr: "2 + 3 * 4", want: num(14)},
		{expr: "(2 + 3) * 4", want: num(20)},
		{expr: "-2**2", want: num(4)},
		{expr: "-(2**2)", want: num(-4)},
		{expr: "2 ** 3 ** 2", want: num(64)},
		{expr: "2 ** -1", want: num(0.5)},
		{expr: "2 * -3 ** 2", want: num(18)},
		{expr: "10 % 3.5", want: num(3)},
		{expr: "-7 % 2", want: num(-1)},
		{expr: "1 - -1", want: num(2)},
		{expr: "1 -1", want: num(0)},
		{expr: ".5 + 5.", want: num(5.5)},
		{expr: "0.1 + 0.2", want: num(0.30000000000000004)},
		{expr: "-0", want: num(0)},
		{expr: "0 * -1", want: num(0)},
		{expr: long, want: num(512)},
		{expr: strings.Repeat("(", 64) + "1" + strings.Repeat(")", 64), want: num(1)},
		// comparisons
		{expr: "1 < 2", want: record.Bool(true)},
		{expr: "2 <= 1", want: record.Bool(false)},
		{expr: "1 + 1 == 2", want: record.Bool(true)},
		{expr: "0.1 + 0.2 != 0.3", want: record.Bool(true)},
		{expr: "-0 == 0", want: record.Bool(true)},
		{expr: "0/0 == 0/0", want: record.Bool(false)},
		{expr: "1/0 > 10**300", want: record.Bool(true)},
		{expr: "1 < 2 < 3", class: classType, msg: "type error"},
		// strings, booleans, other govaluate features
		{expr: `"a" + "b"`, want: record.String("ab")},
		{expr: `'a' + 1.5`, want: record.String("a1.5")},
		{expr: `'b' > 'a'`, want: record.Bool(true)},
		{expr: `true && !false`, want: record.Bool(true)},
		{expr: `1 ?? 2`, want: num(1)},
		{expr: `!(1 < 2) || 'a' == 'a'`, want: record.Bool(true)},
		{expr: `true ? 'yes' : 'no'`, want: record.String("yes")},
		{expr: `2 in (1, 2, 3)`, want: record.Bool(true)},
		{expr: `0x10 + 1`, want: num(17)},
		{expr: `'memo' =~ 'm.m'`, want: record.Bool(true)},
		{expr: `'memo' !~ 'm.m'`, want: record.Bool(false)},
		// whitelisted functions
		{expr: "sqrt(16)", want: num(4)},
		{expr: "abs(-3) + floor(2.7) + ceil(2.1) + round(2.5)", want: num(11)},
		{expr: "round(-2.5)", want: num(-3)},
		{expr: "min(3, 1, 2)", want: num(1)},
		{expr: "max(3)", want: num(3)},
		{expr: "pow(2, 10)", want: num(1024)},
		{expr: "sqrt(-1)", class: classFunction, msg: "sqrt: negative argument -1"},
		{expr: "sqrt()", class: classFunction, msg: "sqrt: expected 1 argument, got 0"},
		{expr: "pow(1)", class: classFunction, msg: "pow: expected 2 arguments, got 1"},
		{expr: "min()", class: classFunction, msg: "min: expected at least 1 argument, got 0"},
		{expr: "abs(true)", class: classFunction, msg: "abs: argument 1 is a bool, not a number"},
		{expr: "min(1, (2, 3))", class: classFunction, msg: "min: argument 2 is a list, not a number"},
		{expr: "pow(0, -1)", class: classNotFinite, msg: "not a finite number"},
		{expr: "exec(1)", class: classNotAllowed, msg: `unknown function "exec" (allowed: abs, ceil, floor, max, min, pow, round, sqrt)`},
		{expr: "Sqrt(1)", class: classNotAllowed, msg: "unknown function"},
		// non-finite and out of range
		{expr: "1/0", class: classNotFinite, msg: "division by zero"},
		{expr: "-1/0", class: classNotFinite, msg: "division by zero"},
		{expr: "1 % 0", class: classNotFinite, msg: "not a finite number (NaN)"},
		{expr: "0 ** -1", class: classNotFinite, msg: "division by zero"},
		{expr: "0/0", class: classNotFinite, msg: "not a finite number"},
		{expr: "2**1024", class: classNotFinite, msg: "out of range"},
		{expr: "10**200 * 10**200", class: classNotFinite, msg: "out of range"},
		{expr: "(1/0) - (1/0)", class: classNotFinite, msg: "not a finite number (NaN)"},
		{expr: "(-8) ** 0.5", class: classNotFinite, msg: "not a finite number (NaN)"},
		{expr: "true ? 1/0 : 0", class: classNotFinite, msg: "not a finite number (+Inf)"},
		{expr: "2 ** 419", class: classRange, msg: "out of range: 1.3538426240824291e+126"},
		{expr: "0.5 ** 1074", class: classRange, msg: "underflow"},
		{expr: "0.5 ** 1075", want: num(0)},
		// limits
		{expr: "", class: classLimit, msg: "empty expression"},
		{expr: " \n\t", class: classLimit, msg: "empty expression"},
		{expr: long + "+1", class: classLimit, msg: "too long: 1025 bytes (limit 1024)"},
		{expr: strings.Repeat("(", 65) + "1" + strings.Repeat(")", 65), class: classLimit, msg: "nested too deeply"},
		{expr: strings.Repeat("[", 65), class: classLimit, msg: "nested too deeply"},
		{expr: strings.Repeat(")", 100) + strings.Repeat("(", 65), class: classLimit, msg: "nested too deeply"},
		{expr: `1\`, class: classLimit, msg: "backslash"},
		{expr: `"\x"`, class: classLimit, msg: "backslash"},
		{expr: "1 + \xff", class: classLimit, msg: "UTF-8"},
		// refused constructs
		{expr: "foo", class: classNotAllowed, msg: `variables are not allowed (found "foo")`},
		{expr: "[foo bar]", class: classNotAllowed, msg: `variables are not allowed (found "foo bar")`},
		{expr: "foo.Bar", class: classNotAllowed, msg: `field and method access is not allowed (found "foo.Bar")`},
		{expr: "sqrt(x)", class: classNotAllowed, msg: "variables are not allowed"},
		{expr: "1 & 3", class: classNotAllowed, msg: "bitwise"},
		{expr: "1 << 2", class: classNotAllowed, msg: "bitwise"},
		{expr: "~0", class: classNotAllowed, msg: "bitwise"},
		{expr: `"2024-01-01"`, class: classNotAllowed, msg: "date-like"},
		{expr: `"2024-01-01 10:00" < "2025-01-01T00:00:00+01:00"`, class: classNotAllowed, msg: "date-like"},
		{expr: `"2024-01-01T00:00:00Z" < "2025-01-01T00:00:00Z"`, want: record.Bool(true)}, // not one of govaluate's date forms: strings
		{expr: `'a' =~ 'a' + 'b'`, class: classNotAllowed, msg: "only supported as 'text' =~ 'pattern'"},
		{expr: `('a') =~ 'a'`, class: classNotAllowed, msg: "only supported as"},
		{expr: `'a' =~ ('a')`, class: classNotAllowed, msg: "only supported as"},
		{expr: `'a' =~ 'a' && true`, class: classNotAllowed, msg: "only supported as"},
		{expr: `'=~' + 'x'`, want: record.String("=~x")},
		{expr: `'a' =~ '` + strings.Repeat(".{0,999}", 10) + `'`, class: classNotAllowed, msg: "too complex"},
		{expr: `'a' =~ '('`, class: classSyntax, msg: "invalid regular expression"},
		// syntax
		{expr: "1e3", class: classSyntax, msg: "syntax error"},
		{expr: "2*-1", class: classSyntax, msg: "Invalid token: '*-'"},
		{expr: "-.5", class: classSyntax, msg: "Invalid token: '-.'"},
		{expr: "- -1", class: classSyntax, msg: "syntax error"},
		{expr: "+1", class: classSyntax, msg: "syntax error"},
		{expr: "1 +", class: classSyntax, msg: "syntax error"},
		{expr: "(1", class: classSyntax, msg: "unbalanced parenthesis"},
		{expr: "1.2.3", class: classSyntax, msg: "Unable to parse numeric value '1.2.3'"},
		{expr: "0 IN ()", class: classSyntax, msg: "empty list after 'in'"},
		{expr: "1 in ( )", class: classSyntax, msg: "empty list after 'in'"},
		{expr: "0in()", class: classSyntax, msg: "empty list after 'in'"},
		{expr: "1.in(\u00a0)", class: classSyntax, msg: "empty list after 'in'"},
		{expr: "sqrt + 1", class: classSyntax, msg: "FUNCTION [function]"},
		// govaluate's lexer panicked on a final U+0080 (found by FuzzEvaluate)
		{expr: "\u0080", class: classSyntax, msg: "syntax error"},
		{expr: "1 + \u0080", class: classSyntax, msg: "syntax error"},
		// results that are not values
		{expr: "()", class: classResult, msg: "no value"},
		{expr: "false ? 1", class: classResult, msg: "no value"},
		{expr: "1, 2", class: classResult, msg: "list of 2 values"},
		{expr: "''" + strings.Repeat("+1/3", 250), class: classResult, msg: "string result too long: 4500 bytes (limit 4096)"},
		{expr: `"a" - 1`, class: classType, msg: "Value 'a' cannot be used with the modifier '-', it is not a number"},
	}
	for _, tt := range tests {
		name := tt.expr
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			v, err := Evaluate(tt.expr)
			if tt.class == 0 {
				if err != nil {
					t.Fatalf("Evaluate(%q): %v", tt.expr, err)
				}
				if v != tt.want || math.Signbit(v.Num) != math.Signbit(tt.want.Num) {
					t.Fatalf("Evaluate(%q) = %#v, want %#v", tt.expr, v, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Evaluate(%q) = %v, want a %v error", tt.expr, v, tt.class)
			}
			if c := classOf(err); c != tt.class {
				t.Errorf("Evaluate(%q): class %v, want %v (%v)", tt.expr, c, tt.class, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Evaluate(%q): %q does not contain %q", tt.expr, err, tt.msg)
			}
			if v != (record.Value{}) {
				t.Errorf("Evaluate(%q): error with value %v", tt.expr, v)
			}
		})
	}
}

// TestFastPathCoverage pins what the fast path accepts and declines: it must
// decline every input whose tokens or grammar govaluate reads differently.
func TestFastPathCoverage(t *testing.T) {
	accept := []string{"1", "1+1", " ( 1 ) ", "-1", "-(1)", "(-1)", "1 - -1", "2 ** -1", ".5", "5.",
		"1 < 2", "1 + 2 >= 3 * 4", "1\t+\n2", "1 -1", "00012", "0", "9", "90 - 09"}
	decline := []string{"", "1e3", "0x10", "2*-1", "-.5", "- -1", "+1", "--1", "1 2", "(1)(2)", "(1)2",
		"()", "(1", "1)", "1 +", "1 < 2 < 3", "(1 < 2)", "1,2", "a", "'a'", "[a]", "1 & 2", "1 ++ 1",
		"1.2.3", ".", "1\u00a0+1", "٣", "true", "sqrt(4)", "1 === 1", "1 =< 2",
		"1" + strings.Repeat("0", 400)}
	for _, e := range accept {
		if _, ok := fastEval(e); !ok {
			t.Errorf("fast path declined %q", e)
		}
	}
	for _, e := range decline {
		if _, ok := fastEval(e); ok {
			t.Errorf("fast path accepted %q", e)
		}
	}
	// every benchmark expression takes the fast path
	for _, e := range benchExprs {
		if _, ok := fastEval(e); !ok {
			t.Errorf("fast path declined benchmark expression %q", e)
		}
	}
}

// TestNumberRange checks the bounds against DynamoDB's, decimal for
// decimal, on the text memo stores (record.FormatNumber).
func TestNumberRange(t *testing.T) {
	maxDynamo, _ := new(big.Rat).SetString("9.9999999999999999999999999999999999999e125")
	minDynamo, _ := new(big.Rat).SetString("1e-130")
	fits := func(f float64) bool {
		r, ok := new(big.Rat).SetString(record.FormatNumber(f))
		if !ok {
			t.Fatalf("cannot parse %s", record.FormatNumber(f))
		}
		r.Abs(r)
		return r.Sign() == 0 || (r.Cmp(minDynamo) >= 0 && r.Cmp(maxDynamo) <= 0)
	}
	for _, f := range []float64{
		maxMagnitude, math.Nextafter(maxMagnitude, 0), math.Nextafter(maxMagnitude, math.Inf(1)),
		minMagnitude, math.Nextafter(minMagnitude, 0), math.Nextafter(minMagnitude, 1),
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1, 0.1, 1e125, 1e-129,
	} {
		for _, g := range []float64{f, -f} {
			v, err := finishNumber(g)
			if ok := err == nil; ok != fits(g) {
				t.Errorf("finishNumber(%v) = (%v, %v), but DynamoDB fit is %v", g, v, err, fits(g))
			}
		}
	}
}

// TestRegexSizeBound checks that regexSize is an upper bound of the
// program Go compiles, and not a loose one.
func TestRegexSizeBound(t *testing.T) {
	for _, p := range []string{"a", "abc", "a*", "(a|b)+", "a{3}", "a{2,5}", "(ab){3,}", "[a-z]{10}x",
		".{0,100}", "(a{2}){3}", "^a.*b$", "(?i)hello", "x{0,9}y{1,}", ".{0,495}x", "(.?){250}x", "((a|b){5}c){4}",
		"a{1000}", "(a*)*", "(|a)+", `\pL{10}`, "[^b]{999}", "a{5,}", "a{0,}"} {
		re, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		est := regexSize(re, 1<<30)
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%q: estimated %d instructions, compiled %d", p, est, len(prog.Inst))
		if est < len(prog.Inst) || est > 3*len(prog.Inst)+10 {
			t.Errorf("%q: estimated %d instructions, compiled %d", p, est, len(prog.Inst))
		}
	}
}

// TestRegexBound measures the slowest regex that passes the limits: a
// pattern just under maxRegexInsts against the longest text.
func TestRegexBound(t *testing.T) {
	var worst time.Duration
	for _, pattern := range []string{".{0,495}x", "(.?){200}x", strings.Repeat("(a*)*", 100) + "b", "[^b]{990}b"} {
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if n := regexSize(re, maxRegexInsts+1); n > maxRegexInsts {
			t.Fatalf("%.30q: %d instructions, over the limit", pattern, n)
		}
		text := strings.Repeat("a", MaxExprBytes-len(pattern)-12)
		expr := "'" + text + "' =~ '" + pattern + "'"
		var v record.Value
		d := cpuTimeOf(func() { v, err = Evaluate(expr) })
		t.Logf("%.20q... (%d bytes): %v, %v in %v of CPU time", pattern, len(expr), v, err, d)
		if err != nil {
			t.Fatalf("%v", err)
		}
		worst = max(worst, d)
	}
	if worst > time.Second {
		t.Errorf("slowest accepted regex took %v", worst)
	}
}

// TestConcurrent evaluates from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	exprs := []string{"1+1", "sqrt(16)", "'a' + 'b'", "0 IN ()", "foo", "'x' =~ 'x+'", "1/0", "min(1, 2)"}
	want := make([]string, len(exprs))
	for i, e := range exprs {
		v, err := Evaluate(e)
		want[i] = v.String() + errString(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % len(exprs)
				v, err := Evaluate(exprs[k])
				if got := v.String() + errString(err); got != want[k] {
					t.Errorf("Evaluate(%q) = %q, want %q", exprs[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestErrorMessagesBounded: messages are cut to maxErrorBytes at a rune
// boundary and carry no control characters.
func TestErrorMessagesBounded(t *testing.T) {
	for _, e := range []string{
		"'" + strings.Repeat("é", 300) + "' - 1",
		"1" + strings.Repeat("0", 1000),
		"1 +\x01\x02 1",
	} {
		_, err := Evaluate(e)
		if err == nil {
			t.Fatalf("Evaluate(%q): no error", e)
		}
		msg := err.Error()
		if len(msg) > maxErrorBytes || !strings.ContainsFunc(msg, func(r rune) bool { return r != 0 }) ||
			strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0xfffd }) {
			t.Errorf("Evaluate(%.30q...): bad message %q", e, msg)
		}
	}
}

// TestRecoveredPanic: a panic inside govaluate becomes a deterministic error.
func TestRecoveredPanic(t *testing.T) {
	err := guard("x", "parse", func() error { panic("boom") })
	if classOf(err) != classInternal || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("guard: %v", err)
	}
}

// TestClassOf: no error has no class; an error that is not the
// evaluator's own is internal.
func TestClassOf(t *testing.T) {
	if c := classOf(nil); c != 0 {
		t.Errorf("classOf(nil) = %v", c)
	}
	if c := classOf(errors.New("boom")); c != classInternal {
		t.Errorf("classOf(foreign error) = %v, want classInternal", c)
	}
	if c := classOf(newError(classLimit, "x")); c != classLimit {
		t.Errorf("classOf(limit error) = %v", c)
	}
}

// TestCleanBoundsMessages: a message of exactly maxErrorBytes is kept; a
// longer one is cut at a rune boundary and marked with "...".
func TestCleanBoundsMessages(t *testing.T) {
	exact := strings.Repeat("a", maxErrorBytes)
	if got := clean(exact); got != exact {
		t.Errorf("a message of %d bytes was changed to %d bytes", maxErrorBytes, len(got))
	}
	for _, r := range []string{"é", "€", "😀"} {
		long := "xy" + strings.Repeat(r, maxErrorBytes) // the cut falls inside a rune
		got := clean(long)
		if !utf8.ValidString(got) || !strings.HasSuffix(got, "...") || len(got) > maxErrorBytes || len(got) < maxErrorBytes-len("...")-len(r) {
			t.Errorf("%q x %d: cleaned to %d bytes, valid UTF-8 %v: %.20q...", r, maxErrorBytes, len(got), utf8.ValidString(got), got)
		}
	}
}

// TestFastPathComparesAtTheEdges: comparisons of equal operands, where <
// and <= (and > and >=) part, agree with govaluate.
func TestFastPathComparesAtTheEdges(t *testing.T) {
	for expr, want := range map[string]bool{
		"1 < 1": false, "1 <= 1": true, "1 > 1": false, "1 >= 1": true, "1 == 1": true, "1 != 1": false,
		"0 < 1": true, "1 <= 0": false, "2 > 1": true, "1 >= 2": false, "1 == 2": false, "1 != 2": true,
	} {
		r, ok := fastEval(expr)
		if !ok || !r.isBool || r.b != want {
			t.Errorf("fastEval(%q) = %+v, %v; want %v", expr, r, ok, want)
		}
		compareFastSlow(t, expr)
	}
}

// TestLimitsRejectInvalidUTF8: any byte that is not ASCII makes the
// expression subject to the UTF-8 check, 0x80 (the first) included.
func TestLimitsRejectInvalidUTF8(t *testing.T) {
	for _, expr := range []string{"1+\x80", "'\xff'", "1 + 2\xc3", "\xff\xfe"} {
		if err := checkLimits(expr); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("checkLimits(%q) = %v, want invalid UTF-8", expr, err)
		}
	}
	if err := checkLimits("'é€😀' + 'a'"); err != nil {
		t.Errorf("valid UTF-8 refused: %v", err)
	}
}

// TestStringResultBound: a string result of MaxStringBytes is kept; one
// byte more is an error.
func TestStringResultBound(t *testing.T) {
	if v, err := finishRaw(strings.Repeat("a", MaxStringBytes)); err != nil || len(v.Str) != MaxStringBytes {
		t.Errorf("a string of %d bytes: %v", MaxStringBytes, err)
	}
	if _, err := finishRaw(strings.Repeat("a", MaxStringBytes+1)); err == nil {
		t.Errorf("a string of %d bytes accepted", MaxStringBytes+1)
	}
}

// TestRegexBoundIsInclusive: a pattern of exactly maxRegexInsts
// instructions (a literal of 998 runes, plus match and fail) is allowed;
// one more is refused.
func TestRegexBoundIsInclusive(t *testing.T) {
	at := `'x' =~ '` + strings.Repeat("a", maxRegexInsts-2) + `'`
	if _, err := Evaluate(at); err != nil {
		t.Errorf("a pattern of %d instructions: %v", maxRegexInsts, err)
	}
	over := `'x' =~ '` + strings.Repeat("a", maxRegexInsts-1) + `'`
	if _, err := Evaluate(over); classOf(err) != classNotAllowed {
		t.Errorf("a pattern of %d instructions: %v, want refused", maxRegexInsts+1, err)
	}
}

// TestRegexOperatorOutsideLiterals: the scan skips string literals (the
// empty one too) and finds =~ and !~ anywhere else, at the very end of the
// text as well as at its start.
func TestRegexOperatorOutsideLiterals(t *testing.T) {
	for expr, want := range map[string]bool{
		`'' + 'a' =~ 'a'`: true, `'=~'`: false, `"" + "!~"`: false, `[x=~] + 1`: false,
		`=~ 'a'`: true, `'a' !~ 'b'`: true, `1 ~= 2`: false, `1 =`: false, `1 !`: false, `'a' =~`: true,
		`[] + 'a' =~ 'b'`: true, `[a'] =~ 'b'`: true, `[a'] + 1`: false,
	} {
		if got := regexOperatorOutsideLiterals(expr); got != want {
			t.Errorf("regexOperatorOutsideLiterals(%q) = %v, want %v", expr, got, want)
		}
	}
	// Not the allowed form: refused, however the literals before it look.
	if _, err := Evaluate(`'' + 'a' =~ 'a'`); classOf(err) != classNotAllowed {
		t.Errorf(`'' + 'a' =~ 'a': %v, want refused`, err)
	}
}

// TestSqrtOfZero: zero is not negative.
func TestSqrtOfZero(t *testing.T) {
	if v, err := Evaluate("sqrt(0)"); err != nil || v != record.Number(0) {
		t.Errorf("sqrt(0) = %v, %v", v, err)
	}
}

// TestEmptyStringLiteralsInRegexes: the empty string literal is a literal like any other, as
// text or as pattern.
func TestEmptyStringLiteralsInRegexes(t *testing.T) {
	for expr, want := range map[string]bool{`'' =~ 'a'`: false, `'a' =~ ''`: true, `'' !~ 'a'`: true} {
		if v, err := Evaluate(expr); err != nil || v != record.Bool(want) {
			t.Errorf("%s = %v, %v; want %v", expr, v, err, want)
		}
	}
}
