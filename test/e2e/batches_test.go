package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memohq/memo/internal/pipeline/record"
)

// The batches the validate stage uploads. Their expectations are written
// out here, by hand or computed in Go, never by memo's own code: a wrong
// value, error or rejection anywhere in the pipeline fails the test.

// outcome is what one op must produce.
type outcome struct {
	value  *record.Value // status ok with this value
	errHas string        // status error, with a reason containing this
}

func ok(v record.Value) outcome    { return outcome{value: &v} }
func num(f float64) outcome        { return ok(record.Number(f)) }
func failed(reason string) outcome { return outcome{errHas: reason} }

// batchCase is one uploaded file and everything it must lead to.
type batchCase struct {
	label string
	key   string // under batches/
	file  string // local path of the body
	// ops: name -> op text and outcome, for every op that is enqueued.
	ops map[string]opWant
	// rejections, in file order, exactly as the report lists them.
	rejections []record.Rejection
	// brokenAt is the byte offset of a structural error (the whole file is
	// rejected, nothing enqueued); absentNames must then have no result.
	brokenAt    *int64
	absentNames []string
}

type opWant struct {
	op   string
	want outcome
}

func (c *batchCase) total() int { return len(c.ops) + len(c.rejections) }

func (c *batchCase) names() []string {
	out := make([]string, 0, len(c.ops))
	for n := range c.ops {
		out = append(out, n)
	}
	return out
}

// entry is one element of a generated .json batch: its raw JSON and what it
// must produce (an outcome for an enqueued op, or a rejection reason).
type entry struct {
	raw    string
	name   string // the name the report or the table shows
	op     string
	want   outcome
	reject string
}

func good(name, op string, want outcome) entry {
	return entry{raw: objectJSON(name, op), name: name, op: op, want: want}
}

func rejected(raw, name, reason string) entry { return entry{raw: raw, name: name, reject: reason} }

func objectJSON(name, op string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "op": op})
	return string(b)
}

// jsonBatch writes entries as a .json batch and returns its case.
func jsonBatch(t *testing.T, dir, label, key string, entries []entry) *batchCase {
	t.Helper()
	c := &batchCase{label: label, key: key, ops: map[string]opWant{}}
	raws := make([]string, len(entries))
	for i, e := range entries {
		raws[i] = e.raw
		if e.reject != "" {
			c.rejections = append(c.rejections, record.Rejection{Index: i, Name: e.name, Reason: e.reject})
			continue
		}
		if _, dup := c.ops[e.name]; dup {
			t.Fatalf("%s: test bug: %q is enqueued twice", label, e.name)
		}
		c.ops[e.name] = opWant{op: e.op, want: e.want}
	}
	c.file = writeFile(t, dir, label+".json", `{"ops": [`+"\n  "+strings.Join(raws, ",\n  ")+"\n]}\n")
	return c
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// seedBatch is the seed's example, examples/work.json, uploaded as it is.
func seedBatch(t *testing.T, root, prefix string) *batchCase {
	return &batchCase{
		label: "seed",
		key:   prefix + "work.json",
		file:  filepath.Join(root, "examples", "work.json"),
		ops: map[string]opWant{
			"1_plus_1": {op: "1+1", want: num(2)},
			"2_by_2":   {op: "2*2", want: num(4)},
		},
	}
}

// mixedBatch: valid ops of every result type, ops that evaluate to errors,
// and ops the splitter must reject (invalid names, duplicates, bad fields),
// each with its index and reason.
func mixedBatch(t *testing.T, dir, prefix string) *batchCase {
	deep := strings.Repeat("(", 65) + "1" + strings.Repeat(")", 65)
	long := strings.Repeat("n", 256)
	return jsonBatch(t, dir, "mixed", prefix+"mixed.json", []entry{
		/* 0 */ good("mixed_arith", "(1 + 2) * 4", num(12)),
		/* 1 */ good("mixed_float", "0.1 + 0.2", num(0.30000000000000004)),
		/* 2 */ good("mixed_funcs", "max(1, 5, 3) + sqrt(16) + abs(-2)", num(11)),
		/* 3 */ good("mixed_true", "sqrt(16) > 3", ok(record.Bool(true))),
		/* 4 */ good("mixed_false", "1 + 1 == 3", ok(record.Bool(false))),
		/* 5 */ good("mixed_bool_logic", "true && !false", ok(record.Bool(true))),
		/* 6 */ good("mixed_string", "'memo' + '-' + 'e2e'", ok(record.String("memo-e2e"))),
		/* 7 */ good("mixed_ternary", "2 > 1 ? 'yes' : 'no'", ok(record.String("yes"))),
		/* 8 */ good("mixed_div_zero", "1/0", failed("division by zero")),
		/* 9 */ good("mixed_nan", "0/0", failed("not a finite number")),
		/* 10 */ good("mixed_overflow", "2**1024", failed("out of range")),
		/* 11 */ good("mixed_variable", "foo + 1", failed("variables are not allowed")),
		/* 12 */ good("mixed_syntax", "1 +", failed("syntax error")),
		/* 13 */ good("mixed_function", "exec(1)", failed(`unknown function "exec"`)),
		/* 14 */ rejected(`{"name": "", "op": "1+1"}`, "", "name is empty"),
		/* 15 */ rejected(`{"name": "bad\u0007name", "op": "1"}`, "bad\x07name", "name contains control character U+0007 at byte 3"),
		/* 16 */ rejected(objectJSON(long, "1"), long[:255], "name is 256 bytes (max 255)"),
		/* 17 */ rejected(`{"name": "mixed_arith", "op": "2+2"}`, "mixed_arith", "duplicate of op 0"),
		/* 18 */ rejected(objectJSON("mixed_backslash", `1\`), "mixed_backslash", "op contains a backslash (byte 1)"),
		/* 19 */ rejected(objectJSON("mixed_deep", deep), "mixed_deep", "op nests parentheses 65 deep (max 64)"),
		/* 20 */ rejected(`{"name": "mixed_no_op"}`, "mixed_no_op", `missing field "op"`),
		/* 21 */ rejected(`{"name": "mixed_number_op", "op": 42}`, "mixed_number_op", `field "op" is a number, not a string`),
		/* 22 */ rejected(`7`, "", "not a JSON object (found a number)"),
		/* 23 */ rejected(`{"name": "mixed_extra", "op": "1", "x": 1}`, "mixed_extra", `unknown field "x"`),
		/* 24 */ good("mixed unicode ✓ name", "min(3, 2) * 10", num(20)),
		/* 25 */ rejected(`{"name": "mixed unicode ✓ name", "op": "1"}`, "mixed unicode ✓ name", "duplicate of op 24"),
		/* 26 */ rejected(`{"name": "mixed_empty_op", "op": ""}`, "mixed_empty_op", "op is empty"),
	})
}

// loadOps is the size of the .jsonl batch.
const loadOps = 1200

// loadBatch: a .jsonl batch of loadOps ops whose answers Go computes. The
// forms vary so that both of the evaluator's paths (its arithmetic fast
// path and govaluate) are exercised, and every answer is exact in float64.
func loadBatch(t *testing.T, dir, prefix string) *batchCase {
	c := &batchCase{label: "load", key: prefix + "load.jsonl", ops: map[string]opWant{}}
	var b strings.Builder
	for i := range loadOps {
		name := fmt.Sprintf("load_%04d", i)
		var op string
		var want outcome
		switch i % 5 {
		case 0:
			op, want = fmt.Sprintf("%d * 3 + 1", i), num(float64(i*3+1))
		case 1:
			op, want = fmt.Sprintf("(%d + 1) * 3 - 2", i), num(float64(i*3+1))
		case 2:
			op, want = fmt.Sprintf("max(%d, 0) * 3 + min(1, 2)", i), num(float64(i*3+1))
		case 3:
			op, want = fmt.Sprintf("%d %% 7 == %d", i, i%7), ok(record.Bool(true))
		case 4:
			op, want = fmt.Sprintf("%d / 4", i), num(float64(i)/4)
		}
		c.ops[name] = opWant{op: op, want: want}
		b.WriteString(objectJSON(name, op))
		b.WriteByte('\n')
	}
	c.file = writeFile(t, dir, "load.jsonl", b.String())
	return c
}

// brokenBatch: a file cut short of a comma between two fields of its second
// op. It is structurally broken: nothing may be enqueued, not even the
// valid op before the fault, and the report gives the byte offset.
func brokenBatch(t *testing.T, dir, prefix string) *batchCase {
	body := `{"ops": [{"name": "broken_first", "op": "1+1"}, {"name": "broken_second" "op": "2+2"}]}` + "\n"
	off := int64(strings.Index(body, `"op": "2+2"`))
	return &batchCase{
		label:       "broken",
		key:         prefix + "broken.json",
		file:        writeFile(t, dir, "broken.json", body),
		brokenAt:    &off,
		absentNames: []string{"broken_first", "broken_second"},
	}
}

// unicodeKeyBatch: a key with spaces and non-ASCII characters (S3 event
// keys arrive URL-encoded, '+' for a space), and names of the same kind.
func unicodeKeyBatch(t *testing.T, dir, prefix string) *batchCase {
	return jsonBatch(t, dir, "unicode", prefix+"my batch é.json", []entry{
		good("é key + space 1", "6 * 7", num(42)),
		good("名前 two", "'ü' + 'ber'", ok(record.String("über"))),
	})
}
