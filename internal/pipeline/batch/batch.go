package batch

import (
	"fmt"
)

// Op is one entry of a batch file.
type Op struct {
	Name string `json:"name"`
	// Op is the op as the scan's Rules read it: under ExpressionRules the
	// decoded string; under JSONRules the op's JSON text as the file holds
	// it (any JSON value; a CSV cell is encoded as a JSON string).
	Op string `json:"op"`
}

// Rules is what the splitter accepts as an op: the pipeline's setting
// (Terraform's split_op_rules, MEMO_OP_RULES). docs/design.md, "Op rules".
type Rules int

const (
	// ExpressionRules, the default, are memo's own: the op is a JSON
	// string holding an expression for memo's evaluator (ValidateOp).
	ExpressionRules Rules = iota
	// JSONRules take any JSON value (a string, number, object, array,
	// true, false or null) of at most MaxJSONOpBytes, nested at most
	// MaxJSONOpDepth deep, of valid UTF-8: for a user's function (fn).
	JSONRules
)

// String returns the setting's name: "expression" or "json".
func (r Rules) String() string {
	switch r {
	case ExpressionRules:
		return "expression"
	case JSONRules:
		return "json"
	}
	return fmt.Sprintf("Rules(%d)", int(r))
}

// ParseRules returns the rules named s (Rules.String).
func ParseRules(s string) (Rules, bool) {
	for _, r := range []Rules{ExpressionRules, JSONRules} {
		if r.String() == s {
			return r, true
		}
	}
	return 0, false
}

// Limits on one op, checked on the decoded bytes of each field before
// anything else looks at them.
const (
	// MaxNameBytes is the longest name, in bytes.
	MaxNameBytes = 255
	// MaxOpBytes is the longest op, in bytes.
	MaxOpBytes = 1024
	// MaxNesting is the deepest parenthesis nesting of an op.
	MaxNesting = 64
	// MaxJSONOpBytes is the longest op under JSONRules: its JSON text, as
	// the file holds it. Escaped for SQS (U+FFFE and U+FFFF take 6 bytes
	// for 3) it is at most 64 KiB, so that a message of one op with the
	// longest name stays under the splitter's pack size (a tenth of SQS's
	// 1 MiB); stored with its result (at most 300 KiB) it keeps the item
	// under DynamoDB's 400 KB. docs/design.md, "Op rules", has the sums.
	MaxJSONOpBytes = 32 << 10
	// MaxJSONOpDepth is the deepest nesting of arrays and objects of an op
	// under JSONRules: far beyond any real op, and a bound on the
	// recursion of the function's decoder.
	MaxJSONOpDepth = 64
)

// SyntaxError: the file is structurally broken; Offset is the byte offset of
// the problem.
//
// Offset counts bytes from the start of the object (a leading byte order mark
// included). It is the position of the first byte that makes the file
// invalid, or the file's length when the file ends too early.
type SyntaxError struct {
	Offset int64
	Reason string
}

// Error returns "byte <Offset>: <Reason>".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("byte %d: %s", e.Offset, e.Reason)
}

// Item is one op of the file in order. Reject == "" means the op is valid
// and should be enqueued.
//
// Index is the zero-based ordinal of the op among the file's ops (blank
// lines of a .jsonl file do not count). For a rejected op, Op holds what
// could be read of it: a field missing or not a string is empty, a field
// over its limit is cut to the limit, and a name or op that is not valid
// UTF-8 is kept as it was.
type Item struct {
	Index  int
	Op     Op
	Reject string
	// Start and End are the byte offsets, from the start of the object, of
	// the op's first byte and of the byte after its last: the element of
	// the ops array or the line's value (surrounding whitespace, commas and
	// newlines excluded). A plan cuts chunks at these offsets (ScanRun).
	Start, End int64
	// Line is the line of the file on which a CSV record starts (1 for
	// the header); 0 for the JSON layouts.
	Line int
}
