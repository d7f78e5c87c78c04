package eval

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
)

// hostileFile holds the evaluator's hostile cases; the batch-level cases of
// the same folder are in expected.json.
var hostileFile = filepath.Join("..", "..", "..", "test", "testdata", "hostile", "eval_expected.json")

// hostileCase is one entry of eval_expected.json. The op is either "op" or,
// for inputs too big for a fixture (1 MB, 100k parentheses), "gen": the
// concatenation of its parts, each the string s repeated n times (n defaults
// to 1) or the bytes written in hex (for invalid UTF-8, which JSON strings
// cannot carry).
type hostileCase struct {
	Case          string          `json:"case"`
	Op            *string         `json:"op"`
	Gen           []genPart       `json:"gen"`
	Status        record.Status   `json:"status"`
	Result        json.RawMessage `json:"result"`
	ErrorContains string          `json:"error_contains"`
}

type genPart struct {
	S   string `json:"s"`
	N   int    `json:"n"`
	Hex string `json:"hex"`
}

func (c hostileCase) op() (string, error) {
	if (c.Op == nil) == (c.Gen == nil) {
		return "", fmt.Errorf("case %q: exactly one of op and gen", c.Case)
	}
	if c.Op != nil {
		return *c.Op, nil
	}
	var b strings.Builder
	for _, p := range c.Gen {
		if p.Hex != "" {
			raw, err := hex.DecodeString(p.Hex)
			if err != nil {
				return "", fmt.Errorf("case %q: %v", c.Case, err)
			}
			b.Write(raw)
			continue
		}
		n := p.N
		if n == 0 {
			n = 1
		}
		b.WriteString(strings.Repeat(p.S, n))
	}
	return b.String(), nil
}

func loadHostile(tb testing.TB) []hostileCase {
	tb.Helper()
	data, err := os.ReadFile(hostileFile)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var cases []hostileCase
	if err := dec.Decode(&cases); err != nil {
		tb.Fatalf("%s: %v", hostileFile, err)
	}
	return cases
}

// TestHostile runs every case of eval_expected.json: the outcome, the result
// or the error, no recovered panic, bounded time.
func TestHostile(t *testing.T) {
	cases := loadHostile(t)
	seen := map[string]bool{}
	for i, c := range cases {
		op, err := c.op()
		if err != nil {
			t.Fatal(err)
		}
		seen[op] = true
		t.Run(fmt.Sprintf("%02d", i), func(t *testing.T) {
			var panicked any
			panicHook = func(_, _ string, p any) { panicked = p }
			defer func() { panicHook = nil }()
			var v record.Value
			var err error
			elapsed := cpuTimeOf(func() { v, err = Evaluate(op) })
			label := op
			if len(label) > 60 {
				label = fmt.Sprintf("%.60q... (%d bytes)", op, len(op))
			}
			t.Logf("%s: %s -> (%v, %v) in %v", c.Case, label, v, err, elapsed)
			if elapsed > time.Second {
				t.Errorf("took %v of CPU time", elapsed)
			}
			if panicked != nil && !emptyIn.MatchString(op) {
				t.Errorf("recovered a panic: %v", panicked)
			}
			switch c.Status {
			case record.StatusOK:
				if err != nil {
					t.Fatalf("%s: want ok, got error %v", c.Case, err)
				}
				var want record.Value
				if err := json.Unmarshal(c.Result, &want); err != nil || want.Kind == "" {
					t.Fatalf("%s: bad expected result %s: %v", c.Case, c.Result, err)
				}
				if v != want || (v.Kind == record.KindNumber && math.Float64bits(v.Num) != math.Float64bits(want.Num)) {
					t.Fatalf("%s: got %v (%s), want %v (%s)", c.Case, v, v.Kind, want, want.Kind)
				}
			case record.StatusError:
				if err == nil {
					t.Fatalf("%s: want an error containing %q, got %v", c.Case, c.ErrorContains, v)
				}
				if c.ErrorContains == "" || !strings.Contains(err.Error(), c.ErrorContains) {
					t.Fatalf("%s: error %q does not contain %q", c.Case, err, c.ErrorContains)
				}
			default:
				t.Fatalf("%s: bad status %q", c.Case, c.Status)
			}
		})
	}
	// the cases issues 2 and 5 name must stay in the file
	for _, op := range []string{"1+1", "2*2", "0 IN ()", "1/0", "0/0", "2**1024", "1+1\\",
		"[foo]", "foo.Bar", "foo", "\"a\" + \"b\"", "1 < 2", "sqrt(16)", "exec(1)", "-0",
		"0.5 ** 1074", "2 ** 419"} {
		if !seen[op] {
			t.Errorf("%s lacks the case %q", hostileFile, op)
		}
	}
}

// TestHostileCorpusCovered: every op of the batch corpus's files that are
// hostile to the evaluator (eval_*.json, sqs_forbidden_chars.json, written
// for internal/pipeline/batch) has its expectation in eval_expected.json, which
// TestHostile runs.
func TestHostileCorpusCovered(t *testing.T) {
	expected := map[string]bool{}
	for _, c := range loadHostile(t) {
		op, err := c.op()
		if err != nil {
			t.Fatal(err)
		}
		expected[op] = true
	}
	dir := filepath.Dir(hostileFile)
	files, err := filepath.Glob(filepath.Join(dir, "eval_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(dir, "sqs_forbidden_chars.json"))
	ops := 0
	for _, f := range files {
		if f == hostileFile {
			continue
		}
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var batch struct {
			Ops []struct{ Name, Op string }
		}
		if err := json.Unmarshal(data, &batch); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range batch.Ops {
			ops++
			if !expected[o.Op] {
				v, err := Evaluate(o.Op)
				t.Errorf("%s: op %s (%.60q) has no case in %s; it evaluates to (%v, %v)", filepath.Base(f), o.Name, o.Op, hostileFile, v, err)
			}
		}
	}
	t.Logf("%d corpus files, %d ops, all expected", len(files)-1, ops)
}

// addHostileSeeds seeds a fuzz target with the hostile ops that are small
// enough to mutate usefully.
func addHostileSeeds(f *testing.F) {
	for _, c := range loadHostile(f) {
		op, err := c.op()
		if err != nil {
			f.Fatal(err)
		}
		if len(op) <= 2*MaxExprBytes {
			f.Add(op)
		}
	}
}
