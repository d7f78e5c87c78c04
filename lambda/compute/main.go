// Command compute is memo's own compute Lambda: its per-op function is
// memo's expression evaluator, run by the public package fn like any user's
// function (batches of SQS messages in, one result per op in DynamoDB out,
// a partial batch response listing only the messages to retry).
package main

import (
	"context"

	"github.com/memohq/memo/fn"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
)

// evaluate computes one op: a JSON string holding an expression. Every
// evaluation error is deterministic, so permanent.
func evaluate(_ context.Context, op fn.Op) (any, error) {
	var expr string
	// null would decode as "": only a string is an expression.
	if len(op.Payload) == 0 || op.Payload[0] != '"' || op.Decode(&expr) != nil {
		return nil, fn.Permanent(compute.NotAnExpression(op.Payload))
	}
	v, err := eval.Evaluate(expr)
	if err != nil {
		return nil, fn.Permanent(err)
	}
	return v, nil
}

func main() {
	// memo's evaluator is CPU-bound and takes microseconds: one op at a
	// time per invocation is as fast as more.
	fn.Start(evaluate, fn.Options{Concurrency: 1})
}
