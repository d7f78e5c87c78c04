package eval

import (
	"math"
	"sort"
	"strings"

	"github.com/casbin/govaluate"
)

// functions is the whitelist: the only functions an op may call. Each checks
// its arity and that every argument is a number.
var functions = map[string]govaluate.ExpressionFunction{
	"abs":   unary("abs", math.Abs),
	"ceil":  unary("ceil", math.Ceil),
	"floor": unary("floor", math.Floor),
	"round": unary("round", math.Round), // half away from zero: round(2.5) = 3, round(-2.5) = -3
	"sqrt":  sqrt,
	"pow":   pow,
	"min":   variadic("min", math.Min),
	"max":   variadic("max", math.Max),
}

// functionNames lists the whitelist for error messages.
var functionNames = func() string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}()

func unknownFunction(name string) *evalError {
	return newError(classNotAllowed, "unknown function %q (allowed: %s)", name, functionNames)
}

// numbers checks the arguments of fn: between lo and hi of them (hi < 0: no
// upper bound), all numbers.
func numbers(fn string, args []any, lo, hi int) ([]float64, error) {
	if len(args) < lo || (hi >= 0 && len(args) > hi) {
		switch {
		case lo == hi && lo == 1:
			return nil, newError(classFunction, "%s: expected 1 argument, got %d", fn, len(args))
		case lo == hi:
			return nil, newError(classFunction, "%s: expected %d arguments, got %d", fn, lo, len(args))
		default:
			return nil, newError(classFunction, "%s: expected at least %d argument, got %d", fn, lo, len(args))
		}
	}
	out := make([]float64, len(args))
	for i, a := range args {
		f, ok := a.(float64)
		if !ok {
			return nil, newError(classFunction, "%s: argument %d is %s, not a number", fn, i+1, describe(a))
		}
		out[i] = f
	}
	return out, nil
}

// describe names the type of a govaluate value for messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case []any:
		return "a list"
	default:
		return "not a number"
	}
}

func unary(name string, f func(float64) float64) govaluate.ExpressionFunction {
	return func(args ...any) (any, error) {
		x, err := numbers(name, args, 1, 1)
		if err != nil {
			return nil, err
		}
		return f(x[0]), nil
	}
}

func variadic(name string, f func(a, b float64) float64) govaluate.ExpressionFunction {
	return func(args ...any) (any, error) {
		x, err := numbers(name, args, 1, -1)
		if err != nil {
			return nil, err
		}
		acc := x[0]
		for _, v := range x[1:] {
			acc = f(acc, v)
		}
		return acc, nil
	}
}

func sqrt(args ...any) (any, error) {
	x, err := numbers("sqrt", args, 1, 1)
	if err != nil {
		return nil, err
	}
	if x[0] < 0 {
		return nil, newError(classFunction, "sqrt: negative argument %v", x[0])
	}
	return math.Sqrt(x[0]), nil
}

func pow(args ...any) (any, error) {
	x, err := numbers("pow", args, 2, 2)
	if err != nil {
		return nil, err
	}
	return math.Pow(x[0], x[1]), nil
}
