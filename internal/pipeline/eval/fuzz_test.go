package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/memohq/memo/internal/pipeline/record"
)

// fuzzSeeds are shared by both fuzz targets (the hostile cases are added by
// addHostileSeeds).
var fuzzSeeds = []string{
	"1+1", "2*2", "-2**2", "2 ** 3 ** 2", "2 ** -3 ** 2", "1 - -2 - 3", "10 % 3.5", "-7 % 2",
	".5 + 5.", "1/0", "0/0", "-1/0", "2**1024", "2 ** -1075", "0 ** -1", "(-8) ** (1/3)",
	"1 < 2", "1 == 1", "0/0 == 0/0", "-0 == 0", "1 + 2 * 3 - 4 / 5 % 6 ** 7",
	"((1 - 2) - (3 - 4)) * -(5)", "1 -1", "2* -1", "2*-1", "-.5", "- .5", "0x1F", "1e3",
	"1 < 2 < 3", "(1)(2)", "()", "1,2", "- -1", "--1", "+1", "1 ++ 1",
	"\"a\" + \"b\"", "'a' =~ 'a+'", "sqrt(16)", "min(1, 2, 3)", "max()", "exec(1)",
	"foo", "[foo]", "foo.Bar", "0 IN ()", "0 in (1, 2)", "true ? 1 : 2", "1 ?? 2",
	"\"2024-01-01\" > \"2023-01-01\"", "1 & 3", "~1", "99999999999999999999999", "1.2.3",
}

// FuzzEvaluate: for any string, Evaluate does not panic (not even a
// recovered one, apart from govaluate's known `x IN ()`), returns in bounded
// time, and returns either a valid typed value or a bounded error.
func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	addHostileSeeds(f)
	f.Fuzz(func(t *testing.T, expr string) {
		checkEvaluate(t, expr)
	})
}

// checkEvaluate asserts Evaluate's contract on one input.
func checkEvaluate(t *testing.T, expr string) {
	t.Helper()
	var panicked any
	panicHook = func(_, _ string, p any) { panicked = p }
	defer func() { panicHook = nil }()

	var v record.Value
	var err error
	// CPU time, not wall time: a slow input is slow on any machine, and a
	// loaded machine's wall time says nothing about the input.
	if d := cpuTimeOf(func() { v, err = Evaluate(expr) }); d > 2*time.Second {
		t.Errorf("Evaluate(%q) took %v of CPU time", expr, d)
	}
	if panicked != nil && !emptyIn.MatchString(expr) {
		t.Errorf("Evaluate(%q): recovered an unexpected panic: %v", expr, panicked)
	}
	v2, err2 := Evaluate(expr)
	if v != v2 || errString(err) != errString(err2) {
		t.Errorf("Evaluate(%q) is not deterministic: (%v, %v) then (%v, %v)", expr, v, err, v2, err2)
	}
	if err != nil {
		if classOf(err) == classInternal {
			t.Errorf("Evaluate(%q): internal error %v", expr, err)
		}
		if msg := err.Error(); msg == "" || len(msg) > maxErrorBytes || !utf8.ValidString(msg) {
			t.Errorf("Evaluate(%q): bad error message %q", expr, msg)
		}
		if v != (record.Value{}) {
			t.Errorf("Evaluate(%q): error %v with a value %v", expr, err, v)
		}
		return
	}
	checkValue(t, expr, v)
}

func checkValue(t *testing.T, expr string, v record.Value) {
	t.Helper()
	switch v.Kind {
	case record.KindNumber:
		a := math.Abs(v.Num)
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) || a >= maxMagnitude || (a != 0 && a < minMagnitude) || math.Signbit(v.Num) && v.Num == 0 {
			t.Errorf("Evaluate(%q) = number %v outside the stored range", expr, v.Num)
		}
	case record.KindBool:
	case record.KindString:
		if len(v.Str) > MaxStringBytes || !utf8.ValidString(v.Str) {
			t.Errorf("Evaluate(%q) = invalid string of %d bytes", expr, len(v.Str))
		}
	default:
		t.Errorf("Evaluate(%q) = value of kind %q", expr, v.Kind)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzFastPathMatchesGovaluate is the proof behind the fast path: for every
// input the fast path accepts, govaluate (the slow path, called directly)
// accepts it too and computes the same value, bit for bit for numbers (any
// NaN equals any NaN: govaluate and Go do not promise a NaN's payload, and
// every NaN becomes the same error). The typed results of both then agree
// too: same value or same error class.
//
// Each input is used twice: as an expression, and as the choices of a
// generator that writes an expression in the fast path's grammar (random
// whitespace, unary minus, parentheses, edge-case numbers), so that the
// fuzzer also explores accepted expressions, not only declined noise.
func FuzzFastPathMatchesGovaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		compareFastSlow(t, in)
		compareFastSlow(t, generate([]byte(in)))
	})
}

// compareFastSlow checks one input (it must pass the limits and be accepted
// by the fast path to be compared).
func compareFastSlow(t *testing.T, expr string) (compared bool) {
	t.Helper()
	if checkLimits(expr) != nil {
		return false
	}
	fr, ok := fastEval(expr)
	if !ok {
		return false
	}
	raw, err := slowEval(expr)
	if err != nil {
		t.Fatalf("%q: fast path accepted it, govaluate refused it: %v", expr, err)
	}
	switch g := raw.(type) {
	case float64:
		if fr.isBool {
			t.Fatalf("%q: fast path bool %v, govaluate number %v", expr, fr.b, g)
		}
		same := math.Float64bits(fr.f) == math.Float64bits(g) || (math.IsNaN(fr.f) && math.IsNaN(g))
		if !same {
			t.Fatalf("%q: fast path %v (%#x), govaluate %v (%#x)", expr, fr.f, math.Float64bits(fr.f), g, math.Float64bits(g))
		}
	case bool:
		if !fr.isBool || fr.b != g {
			t.Fatalf("%q: fast path %+v, govaluate bool %v", expr, fr, g)
		}
	default:
		t.Fatalf("%q: fast path %+v, govaluate %T %v", expr, fr, raw, raw)
	}
	fv, ferr := fr.finish()
	sv, serr := finishRaw(raw)
	if fv != sv || classOf(ferr) != classOf(serr) {
		t.Fatalf("%q: typed results differ: fast (%v, %v), govaluate (%v, %v)", expr, fv, ferr, sv, serr)
	}
	// One failure, one message: the error texts are identical.
	if got, want := errString(ferr), errString(serr); got != want {
		t.Fatalf("%q: fast path error %q, govaluate's path %q", expr, got, want)
	}
	return true
}

// generate writes an expression of the fast path's grammar, driven by the
// bytes of in (an exhausted input reads as zeros, which ends the expression
// quickly).
func generate(in []byte) string {
	g := gen{in: in}
	var b strings.Builder
	g.additive(&b, 0)
	if g.pick(4) == 0 {
		b.WriteString(g.space())
		b.WriteString([]string{"==", "!=", "<", "<=", ">", ">="}[g.pick(6)])
		b.WriteString(g.space1())
		g.additive(&b, 0)
	}
	return b.String()
}

type gen struct {
	in []byte
	i  int
}

func (g *gen) pick(n int) int {
	if g.i >= len(g.in) {
		return 0
	}
	c := int(g.in[g.i])
	g.i++
	return c % n
}

// genNumbers are literals chosen for edge cases: zero, fractions that are not
// exact in binary, huge and tiny values, forms like ".5" and "5.".
var genNumbers = []string{
	"0", "1", "2", "3", "0.1", ".5", "5.", "10", "7", "0.3", "1024", "1074", "308", "0.0",
	"123456789012345678901234567890", "1.7976931348623157", "0.000000000000000000000000001",
	"4503599627370497", "9007199254740993", "2.5", "00", "1.",
}

func (g *gen) space() string  { return []string{"", " ", "  ", "\t", "\n"}[g.pick(5)] }
func (g *gen) space1() string { return []string{" ", "  ", "\t", " \r\n "}[g.pick(4)] }

func (g *gen) additive(b *strings.Builder, depth int) {
	g.term(b, depth)
	for n := g.pick(4); n > 0 && g.i < len(g.in); n-- {
		b.WriteString(g.space())
		b.WriteString([]string{"+", "-", "*", "/", "%", "**"}[g.pick(6)])
		// a space before a unary minus keeps the operator a single token
		b.WriteString(g.space1())
		g.term(b, depth)
	}
}

func (g *gen) term(b *strings.Builder, depth int) {
	if g.pick(5) == 0 {
		b.WriteString("-")
		b.WriteString(g.space())
	}
	if depth < 6 && g.pick(3) == 0 {
		b.WriteString("(")
		b.WriteString(g.space())
		g.additive(b, depth+1)
		b.WriteString(g.space())
		b.WriteString(")")
		return
	}
	b.WriteString(genNumbers[g.pick(len(genNumbers))])
}

// TestFastPathMatchesGovaluateGenerated runs the differential check on a
// fixed set of generated expressions on every `go test`, so the proof does
// not depend on having fuzzed.
func TestFastPathMatchesGovaluateGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	compared := 0
	buf := make([]byte, 64)
	for range n {
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		if compareFastSlow(t, generate(buf)) {
			compared++
		}
	}
	// nearly every generated expression is within the fast path's grammar
	if compared < n*9/10 {
		t.Fatalf("only %d of %d generated expressions reached the comparison", compared, n)
	}
	for _, s := range fuzzSeeds {
		compareFastSlow(t, s)
	}
}

// TestOneFailureOneMessage: a non-finite result has one message whichever
// path computes it, so 1/0 (the fast path) and abs(1/0) (govaluate) say the
// same thing.
func TestOneFailureOneMessage(t *testing.T) {
	for _, c := range []struct{ fast, slow, want string }{
		{"1/0", "abs(1/0)", "not a finite number (+Inf): division by zero, or a result out of range"},
		{"-1/0", "min(-1/0, 0)", "not a finite number (-Inf): division by zero, or a result out of range"},
		{"0/0", "abs(0/0)", "not a finite number (NaN)"},
		{"5 % 0", "abs(5 % 0)", "not a finite number (NaN)"},
		{"0 ** -1", "pow(0, -1)", "not a finite number (+Inf): division by zero, or a result out of range"},
		{"2 ** 1024", "pow(2, 1024)", "not a finite number (+Inf): division by zero, or a result out of range"},
		{"10 ** 200", "pow(10, 200)", "out of range: 1.0000000000000005e+200 exceeds DynamoDB's number range (magnitude below 1e126)"},
	} {
		if _, ok := fastEval(c.fast); !ok {
			t.Errorf("%q: not taken by the fast path", c.fast)
		}
		if _, ok := fastEval(c.slow); ok {
			t.Errorf("%q: taken by the fast path, want govaluate's", c.slow)
		}
		for _, expr := range []string{c.fast, c.slow} {
			_, err := Evaluate(expr)
			if got := errString(err); got != c.want {
				t.Errorf("Evaluate(%q) error %q, want %q", expr, got, c.want)
			}
		}
	}
}
