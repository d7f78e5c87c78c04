package batch

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Op is one entry of a batch file.
type Op struct {
	Name string `json:"name"`
	Op   string `json:"op"`
}

// Format is the layout of a batch file.
type Format int

const (
	// JSON is {"ops": [{"name": ..., "op": ...}, ...]}.
	JSON Format = iota + 1
	// JSONL is one {"name": ..., "op": ...} object per line.
	JSONL
)

// String returns "json" or "jsonl".
func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case JSONL:
		return "jsonl"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatOf picks the format from an object key's suffix (.json / .jsonl);
// ok=false otherwise. The match is case-sensitive, as S3's notification
// suffix filter is.
func FormatOf(key string) (f Format, ok bool) {
	switch {
	case strings.HasSuffix(key, ".jsonl"):
		return JSONL, true
	case strings.HasSuffix(key, ".json"):
		return JSON, true
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
}

// ValidateName returns "" or the reason name is not a valid op name: 1..255
// bytes of valid UTF-8 without control characters (C0, DEL, C1).
func ValidateName(name string) string {
	if name == "" {
		return "name is empty"
	}
	if len(name) > MaxNameBytes {
		return fmt.Sprintf("name is %d bytes (max %d)", len(name), MaxNameBytes)
	}
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fmt.Sprintf("name contains control character %U at byte %d", c, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("name is not valid UTF-8 (byte %d)", i)
		}
		if r >= 0x80 && r <= 0x9f {
			return fmt.Sprintf("name contains control character %U at byte %d", r, i)
		}
		i += size
	}
	return ""
}

// ValidateOp returns "" or the reason op is not a valid expression text:
// 1..1024 bytes of valid UTF-8, no backslash, parentheses nested at most 64
// deep. Every '(' counts, even inside a quoted string of the expression.
func ValidateOp(op string) string {
	if op == "" {
		return "op is empty"
	}
	if len(op) > MaxOpBytes {
		return fmt.Sprintf("op is %d bytes (max %d)", len(op), MaxOpBytes)
	}
	if !utf8.ValidString(op) {
		for i := 0; ; {
			r, size := utf8.DecodeRuneInString(op[i:])
			if r == utf8.RuneError && size == 1 {
				return fmt.Sprintf("op is not valid UTF-8 (byte %d)", i)
			}
			i += size
		}
	}
	depth, deepest := 0, 0
	for i := 0; i < len(op); i++ {
		switch op[i] {
		case '(':
			depth++
			deepest = max(deepest, depth)
		case ')':
			depth--
		case '\\':
			return fmt.Sprintf("op contains a backslash (byte %d)", i)
		}
	}
	if deepest > MaxNesting {
		return fmt.Sprintf("op nests parentheses %d deep (max %d)", deepest, MaxNesting)
	}
	return ""
}
