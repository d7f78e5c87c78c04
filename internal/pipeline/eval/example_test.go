package eval_test

import (
	"fmt"

	"github.com/memohq/memo/internal/pipeline/eval"
)

func ExampleEvaluate() {
	for _, op := range []string{"(1 + 2) * 4", "sqrt(16) > 3", `"a" + "b"`, "1/0", "foo.Bar", "exec(1)"} {
		v, err := eval.Evaluate(op)
		if err != nil {
			fmt.Printf("%s -> error: %v\n", op, err)
			continue
		}
		fmt.Printf("%s -> %v\n", op, v)
	}
	// Output:
	// (1 + 2) * 4 -> 12
	// sqrt(16) > 3 -> true
	// "a" + "b" -> "ab"
	// 1/0 -> error: not a finite number (+Inf): division by zero, or a result out of range
	// foo.Bar -> error: field and method access is not allowed (found "foo.Bar")
	// exec(1) -> error: unknown function "exec" (allowed: abs, ceil, floor, max, min, pow, round, sqrt)
}
