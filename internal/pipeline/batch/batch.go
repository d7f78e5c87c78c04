package batch

import (
	"fmt"
)

// Op is one entry of a batch file.
type Op struct {
	Name string `json:"name"`
	Op   string `json:"op"`
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
