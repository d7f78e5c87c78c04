package eval

import (
	"fmt"
	"testing"

	"github.com/casbin/govaluate"
)

// benchExprs is the mixed expression set both benchmarks evaluate: the kind
// of ops a generated batch holds (`i+1`, `i*2`, `(a+b)/c`, ...), 1,000 of
// them, each distinct.
var benchExprs = func() []string {
	forms := []string{
		"%d+1", "%d*2", "(%d+%d)/%d", "%d - %d * 3", "%d.5 ** 2 %% 7", "-%d / (%d + 1)",
		"%d %% 9 + %d / 4", "(%d - 1) * (%d + 1) - 2 ** 3", "%d < %d", "%d + 0.25 == %d",
	}
	out := make([]string, 0, 1000)
	for i := range 1000 {
		f := forms[i%len(forms)]
		args := []any{i + 1, i + 2, i%7 + 1}
		out = append(out, fmt.Sprintf(f, args[:countVerbs(f)]...))
	}
	return out
}()

func countVerbs(f string) int {
	n := 0
	for i := 0; i+1 < len(f); i++ {
		if f[i] == '%' {
			if f[i+1] == 'd' {
				n++
			}
			i++
		}
	}
	return n
}

// BenchmarkEvaluate measures Evaluate over benchExprs.
func BenchmarkEvaluate(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Evaluate(benchExprs[i%len(benchExprs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkBareGovaluate is the baseline: a bare parse and evaluate of the
// same expressions with govaluate, no checks.
func BenchmarkBareGovaluate(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e, err := govaluate.NewEvaluableExpression(benchExprs[i%len(benchExprs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Evaluate(nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkEvaluateSlowPath is Evaluate with the fast path skipped: the cost
// of memo's checks on top of govaluate.
func BenchmarkEvaluateSlowPath(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := benchExprs[i%len(benchExprs)]
		if err := checkLimits(e); err != nil {
			b.Fatal(err)
		}
		raw, err := slowEval(e)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := finishRaw(raw); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// slowExprs are 1,000 distinct expressions that the fast path declines and
// govaluate evaluates: comparisons joined by && and ||, strings, functions,
// ternaries, regular expressions.
var slowExprs = func() []string {
	forms := []string{
		"sqrt(%d) > 3", "'a%d' + 'b'", "%d > 2 ? 1 : 0", "max(%d, 3) * 2", "'x%d' =~ '^x[0-9]+$'",
		"%d > 1 && %d < 5000", "floor(%d / 3) + ceil(%d / 7)", "abs(-%d) == %d", "%d == 1 || %d > 3", "round(%d.25)",
	}
	out := make([]string, 0, 1000)
	for i := range 1000 {
		f := forms[i%len(forms)]
		args := []any{i + 1, i + 2}
		out = append(out, fmt.Sprintf(f, args[:countVerbs(f)]...))
	}
	return out
}()

// mixExprs is the realistic mix docs/performance.md judges: three plain arithmetic
// ops (benchExprs, the fast path) to one of slowExprs, interleaved.
var mixExprs = func() []string {
	out := make([]string, 0, 1000)
	for i := range 1000 {
		if i%4 == 3 {
			out = append(out, slowExprs[i])
		} else {
			out = append(out, benchExprs[i])
		}
	}
	return out
}()

func benchEvaluate(b *testing.B, exprs []string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Evaluate(exprs[i%len(exprs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchBareGovaluate(b *testing.B, exprs []string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e, err := govaluate.NewEvaluableExpressionWithFunctions(exprs[i%len(exprs)], functions) // memo's functions: bare govaluate has none
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Evaluate(nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkEvaluateSlowExprs and BenchmarkBareGovaluateSlowExprs: the slow
// path (govaluate behind memo's checks) against bare govaluate.
func BenchmarkEvaluateSlowExprs(b *testing.B)      { benchEvaluate(b, slowExprs) }
func BenchmarkBareGovaluateSlowExprs(b *testing.B) { benchBareGovaluate(b, slowExprs) }

// BenchmarkEvaluateMix and BenchmarkBareGovaluateMix: the realistic mix.
func BenchmarkEvaluateMix(b *testing.B)      { benchEvaluate(b, mixExprs) }
func BenchmarkBareGovaluateMix(b *testing.B) { benchBareGovaluate(b, mixExprs) }
