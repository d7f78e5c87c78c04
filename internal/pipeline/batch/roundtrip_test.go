package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// runes are what the generated names and ops are made of: ASCII, JSON's
// special characters, two- three- and four-byte UTF-8.
var runes = []rune("abcXYZ019 _-+*/%<>=&|!?:.,;'\"(){}[]~^$#@`\t\néüß名前😀\u2028\u00a0\ufffd")

func randText(rng *rand.Rand, maxRunes int, ok func(rune) bool) string {
	var b strings.Builder
	for n := 1 + rng.IntN(maxRunes); b.Len() == 0 || n > 0; {
		r := runes[rng.IntN(len(runes))]
		if ok(r) {
			b.WriteRune(r)
			n--
		}
	}
	return b.String()
}

// randOps makes n valid ops with distinct names.
func randOps(rng *rand.Rand, n int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		name := fmt.Sprintf("%d:", i) + randText(rng, 30, func(r rune) bool { return r >= 0x20 })
		op := randText(rng, 60, func(r rune) bool { return r != '(' && r != ')' })
		ops[i] = Op{Name: name, Op: strings.Repeat("(", rng.IntN(65)) + op}
		if ValidateName(ops[i].Name) != "" || ValidateOp(ops[i].Op) != "" {
			ops[i] = Op{Name: fmt.Sprint("short", i), Op: "1"}
		}
	}
	return ops
}

// escapeAll writes s as a JSON string with as many escapes as possible:
// every rune as \uXXXX (a surrogate pair beyond the BMP), in random case.
func escapeAll(rng *rand.Rand, s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		format := `\u%04x`
		if rng.IntN(2) == 0 {
			format = `\u%04X`
		}
		if r > 0xffff {
			r -= 0x10000
			fmt.Fprintf(&b, format+format, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			continue
		}
		if rng.IntN(4) == 0 && r < utf8.RuneSelf && r != '"' && r != '\\' && r >= 0x20 {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, format, r)
	}
	b.WriteByte('"')
	return b.String()
}

// encodeOps writes a batch file of ops in format f: each op either by
// encoding/json or escaped throughout, with random spacing.
func encodeOps(rng *rand.Rand, ops []Op, f Format) []byte {
	var b bytes.Buffer
	ws := func() string { return []string{"", " ", "\t", "\r\n ", ""}[rng.IntN(5)] }
	if f == JSON {
		b.WriteString(`{"meta": {"n": ` + fmt.Sprint(len(ops)) + `},` + ws() + `"ops":` + ws() + `[`)
	}
	for i, op := range ops {
		if f == JSON && i > 0 {
			b.WriteString("," + ws())
		}
		var elem string
		if rng.IntN(2) == 0 {
			j, err := json.Marshal(op)
			if err != nil {
				panic(err)
			}
			elem = string(j)
		} else {
			elem = `{` + ws() + `"op"` + ws() + `:` + escapeAll(rng, op.Op) + `,"name":` + ws() + escapeAll(rng, op.Name) + `}`
		}
		if f == JSONL {
			elem = strings.ReplaceAll(elem, "\n", " ") + strings.TrimRight(ws(), "\n") + []string{"\n", "\r\n"}[rng.IntN(2)]
			if rng.IntN(10) == 0 {
				elem += " \t\n"
			}
		}
		b.WriteString(elem)
	}
	if f == JSON {
		b.WriteString(ws() + `], "after": [null]}` + ws())
	}
	return b.Bytes()
}

// TestRoundTrip: for well-formed files, Scan yields exactly the ops that
// were encoded, and encoding/json decodes the same file to the same ops.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 12 {
		ops := randOps(rng, 1+rng.IntN(200))
		for _, f := range []Format{JSON, JSONL} {
			data := encodeOps(rng, ops, f)
			res := scanAll(t, data, f)
			if res.err != nil {
				t.Fatalf("round %d %v: %v\n%s", round, f, res.err, data)
			}
			if len(res.items) != len(ops) {
				t.Fatalf("round %d %v: %d items, want %d", round, f, len(res.items), len(ops))
			}
			want := encodingJSONVerdict(data, f == JSONL)
			if !want.valid || len(want.elems) != len(ops) {
				t.Fatalf("round %d %v: encoding/json: valid=%v, %d ops", round, f, want.valid, len(want.elems))
			}
			for i, it := range res.items {
				if it.Reject != "" || it.Op != ops[i] || it.Index != i {
					t.Fatalf("round %d %v: item %+v, want %+v", round, f, it, ops[i])
				}
				agree(t, it, want.elems[i])
			}
		}
	}
}

// TestMalformedAgreement: cut or damaged well-formed files are structurally
// valid for Check exactly when encoding/json (with the format's rules) says
// so, and a broken one fails at encoding/json's offset.
func TestMalformedAgreement(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	damage := []byte(`{}[]",:\ 0-.eE+tfn` + "\n\r\x00\xff")
	tried, broken := 0, 0
	for range 8 {
		ops := randOps(rng, 1+rng.IntN(8))
		for _, f := range []Format{JSON, JSONL} {
			data := encodeOps(rng, ops, f)
			var variants [][]byte
			for cut := range len(data) {
				variants = append(variants, data[:cut])
			}
			for range 200 {
				d := bytes.Clone(data)
				switch i := rng.IntN(len(d)); rng.IntN(3) {
				case 0:
					d[i] = damage[rng.IntN(len(damage))]
				case 1:
					d = append(d[:i], d[i+1:]...)
				case 2:
					d = append(d[:i], append([]byte{damage[rng.IntN(len(damage))]}, d[i:]...)...)
				}
				variants = append(variants, d)
			}
			for _, d := range variants {
				tried++
				want := encodingJSONVerdict(d, f == JSONL)
				err := Check(bytes.NewReader(d), f)
				if (err == nil) != want.valid {
					t.Fatalf("%v %q: Check = %v, encoding/json valid=%v", f, d, err, want.valid)
				}
				if err == nil {
					continue
				}
				broken++
				se, _ := syntaxErr(err)
				if want.syntaxAt >= 0 && syntaxClass(se.Reason) && se.Offset != want.syntaxAt {
					t.Fatalf("%v %q: Check = %v, encoding/json fails at %d", f, d, err, want.syntaxAt)
				}
				if res := scanAll(t, d, f); !sameErr(res.err, err) {
					t.Fatalf("%v %q: Scan = %v, Check = %v", f, d, res.err, err)
				}
			}
		}
	}
	t.Logf("%d variants, %d broken", tried, broken)
}

// TestThroughputAgainstBareDecode: the splitter's two passes (Check, then
// Scan) over a 100k-op file take no longer than one bare encoding/json
// decode of it (issue 6 asks for >= 1.0x). Best of five runs each.
func TestThroughputAgainstBareDecode(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	for _, f := range []Format{JSON, JSONL} {
		data := benchFile(f)
		decode := bareDecodeJSON
		if f == JSONL {
			decode = bareDecodeJSONL
		}
		best := func(run func()) time.Duration {
			d := time.Duration(1<<63 - 1)
			for range 5 {
				start := time.Now()
				run()
				d = min(d, time.Since(start))
			}
			return d
		}
		ours := best(func() { checkScan(t, data, f) })
		bare := best(func() {
			if n, err := decode(bytes.NewReader(data)); err != nil || n != benchOps {
				t.Fatalf("bare decode: %v after %d", err, n)
			}
		})
		ratio := float64(bare) / float64(ours)
		t.Logf("%v: Check+Scan %v, bare encoding/json %v: %.2fx", f, ours, bare, ratio)
		if ratio < 1.0 {
			t.Errorf("%v: Check+Scan is %.2fx the bare decode, want >= 1.0x", f, ratio)
		}
	}
}
