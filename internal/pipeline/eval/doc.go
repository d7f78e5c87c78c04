// Package eval computes one op: a constant expression such as "1+1" or
// "sqrt(16) > 3", into a typed result (number, bool or string) or a short,
// deterministic error that compute stores as the op's result with
// status=error.
//
//	v, err := eval.Evaluate("(1 + 2) * 4") // record.Number(12), nil
//
// # Engine: govaluate, the casbin fork
//
// Expressions are govaluate expressions, evaluated by the maintained fork
// github.com/casbin/govaluate (v1.10.0), a drop-in replacement with the same
// API. Knetic/govaluate, the original, is archived (no more fixes) and its
// last tag, v3.0.0, misses fixes made since; casbin maintains the fork for
// its own policy engine. The
// fork has its own sharp edges, all handled here: it panics on a trailing
// backslash, on `x IN ()` and on a final U+0080; deep nesting overflows its
// recursive parser's stack, which is fatal (no recover); it turns date-like
// strings into numbers that depend on the time zone.
//
// # What an op may contain
//
//   - Numbers (float64): "2", ".5", "5.", hex "0x1F". No exponent form: "1e3"
//     is a syntax error in govaluate.
//   - Operators: + - * / % ** (% is math.Mod, ** math.Pow), unary - and !,
//     comparisons == != < <= > >= (numbers, or strings lexicographically),
//     && ||, ? : and ??, IN with a list "2 in (1, 2)", string concatenation
//     with +, and the regex operators =~ !~ in the form 'text' =~ 'pattern'.
//   - Strings in '...' or "...", booleans true and false.
//   - The whitelisted functions abs, ceil, floor, round (half away from
//     zero), sqrt (refuses negative arguments), pow, min and max (one or more
//     arguments). Each checks its arity and that its arguments are numbers.
//
// govaluate's precedence and associativity differ from most languages in
// two places: unary minus binds tighter than **, so -2**2 is 4, and ** is
// left-associative, so 2**3**2 is 64. An operator is a maximal run of symbol
// characters, so "2*-1" is the unknown operator "*-" while "2 * -1" is -2.
//
// Refused, with a clear error: variables ("foo", "[foo]"), field and method
// access ("foo.Bar"), any other function ("exec(1)"), the bitwise operators
// & | ^ << >> ~ (govaluate converts float64 to int64 for them, and Go leaves
// the result of an out-of-range conversion to the platform: the twin on
// amd64 and Lambda on arm64 would disagree), date-like string literals
// ("2024-01-01", "3:04PM": govaluate parses them in the local time zone, so
// the result would depend on where the op runs), and regex operators in any
// form other than two string literals (see below).
//
// # Limits, enforced before any parsing
//
//   - At most MaxExprBytes (1024) bytes.
//   - Bracket nesting at most MaxNesting (64): every "(" or "[" opens a level,
//     wherever it is, strings included (the simple count is the safe one).
//   - No backslash anywhere: govaluate treats it as an escape and panics on a
//     trailing one; ops have no use for escapes.
//   - Valid UTF-8, not blank.
//   - A regex pattern compiles to at most 1,000 instructions, estimated from
//     its parse tree before govaluate compiles it. Go's regexp is linear in
//     text × program, but counted repetitions make programs large: in bare
//     govaluate, 400 bytes of text against 60 `.{0,999}` parts (an 889-byte
//     op, 120,000 instructions) took 0.2 s, and about 2 s with a 1.8 KB text
//     built by concatenation. Both operands must be string literals because
//     govaluate also compiles a pattern built at run time
//     ('.{0,' + 999 + '}'), whose size no look at the literals can bound.
//     The slowest accepted regex takes about 10 ms (TestRegexBound).
//
// Within these limits the work per op is bounded: parsing and evaluation
// are linear in the length, recursion depth is bounded by the nesting, and
// string results cannot grow beyond a few KB. Panics are recovered anyway
// (defence in depth) and become errors.
//
// # Results
//
// A number must be finite and fit DynamoDB's number type: magnitude 0 or in
// [1e-130, 1e126) as a float64 (DynamoDB's largest number,
// 9.9999999999999999999999999999999999999e125, rounds to the float64 1e126,
// which it refuses). 1/0 and 2**1024 are "not a finite number (+Inf):
// division by zero, or a result out of range", 0/0 and other NaNs "not a
// finite number (NaN)", 10**300 "out of range". A nonzero magnitude
// below 1e-130 is the error "underflow" rather than a silent zero; a result
// that float64 itself rounds to zero (0.5**1075) is 0. Only the result is
// checked: intermediate values follow IEEE 754, so 1/(10**400) is 1/+Inf,
// which is 0, and 1/0 > 1 is true. Negative zero is
// stored as 0. Strings are at most MaxStringBytes (4096) bytes. A list
// ("1, 2") or no value ("()", "false ? 1") is an error. Error messages are at
// most 256 bytes, printable, and the same for the same input.
//
// # The fast path
//
// Plain arithmetic (numbers, + - * / % **, unary minus, parentheses, one
// top-level comparison) is evaluated by a small hand-written parser that
// computes while it parses, with no allocation (make bench:
// evaluate_vs_bare, evaluate_mix_vs_bare). Everything else goes to
// govaluate. The fast path reproduces
// govaluate's tokenisation and precedence exactly for the inputs it
// accepts and declines the rest; FuzzFastPathMatchesGovaluate (and
// TestFastPathMatchesGovaluateGenerated on every go test) proves it: for
// every input it accepts, govaluate computes the same value, bit for bit,
// and the typed results agree: same value, same error class, same error
// text (TestOneFailureOneMessage).
//
// Results are deterministic on one architecture. Go does not promise that
// math.Pow with a fractional exponent rounds identically on amd64 and
// arm64; both paths call the same function, and the fast path rounds each
// operation explicitly so that Go cannot fuse a multiply and an add on
// arm64, which govaluate never does.
package eval
