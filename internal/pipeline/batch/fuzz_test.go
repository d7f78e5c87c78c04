package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fuzzSeeds are small inputs for both fuzz targets; the hostile corpus adds
// its files (those small enough to fuzz quickly).
var fuzzSeeds = []string{
	``,
	`{}`,
	`[]`,
	`{"ops": []}`,
	`{"ops": [{"name": "1_plus_1", "op": "1+1"}, {"name": "2_by_2", "op": "2*2"}]}`,
	`{"v": [1, {"a": [true, false, null]}], "ops": [{"op": "(1)", "name": "a"}], "w": "x"}`,
	`{"ops": [{"name": "a", "op": "1"}, {"name": "a", "op": "2"}, 3, [], "s", null]}`,
	`{"ops": [{"name": "\u00e9\ud83d\ude00", "op": "\"x\" + \"y\""}, {"name": "\ud800", "op": "1"}]}`,
	`{"ops": [{"name": 1, "op": "1"}, {"name": "b"}, {"nme": "c", "op": "1"}, {"name": "d", "name": "e", "op": "1"}]}`,
	`{"ops": [{"name": "a", "op": "1\\"}]}`,
	`{"ops": [{"name": "a\u0007", "op": "1"}, {"name": "` + "\x7f\xc2\x85\xff" + `", "op": "1"}]}`,
	`{"ops": [-0.5e+10, 1E-2, 0, -1.0]}`,
	`{"ops": [{"name": "a", "op": "1"}],}`,
	`{"ops": [{"name": "a", "op": "1"}]} x`,
	`{"ops": [{"name": "a", "op": "1"`,
	`{"ops": [], "ops": []}`,
	`{"ops": {}}`,
	"\xef\xbb\xbf{\"ops\": []}",
	"{\"name\": \"a\", \"op\": \"1+1\"}\n{\"name\": \"b\", \"op\": \"2\"}\n",
	"\n \r\n{\"name\": \"a\", \"op\": \"1\"}\r\n\t\n[1]\n\"s\"\n",
	"{\"name\": \"a\",\n\"op\": \"1\"}\n",
	"{\"name\": \"a\", \"op\": \"1\"} {}\n",
	"{\"name\": \"a\", \"op\": \"((((1))))\"}\ntru\n",
	"\xef\xbb\xbf\n",
}

// hostileDir is the shared corpus of hostile batch files.
const hostileDir = "../../../test/testdata/hostile"

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	paths, _ := filepath.Glob(filepath.Join(hostileDir, "*.json*"))
	for _, p := range paths {
		format, ok := FormatOf(p)
		if !ok || strings.HasSuffix(p, "expected.json") {
			continue
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() > 4<<10 {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, format == JSONL)
	}
}

func formatOf(jsonl bool) Format {
	if jsonl {
		return JSONL
	}
	return JSON
}

// FuzzScan: for any bytes, neither Check nor Scan panics, they agree on the
// structure, every way of reading the input gives the same answer, items
// come in index order and every accepted item satisfies the rules.
func FuzzScan(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		format := formatOf(jsonl)
		checkErr := Check(bytes.NewReader(data), format)
		if checkErr != nil {
			se, ok := syntaxErr(checkErr)
			if !ok {
				t.Fatalf("Check returned %T %v, want *SyntaxError", checkErr, checkErr)
			}
			if se.Offset < 0 || se.Offset > int64(len(data)) {
				t.Fatalf("offset %d outside the input (%d bytes)", se.Offset, len(data))
			}
		}
		res := scanAll(t, data, format)
		if !sameErr(checkErr, res.err) {
			t.Fatalf("Check says %v, Scan says %v", checkErr, res.err)
		}
		for name, open := range readers(data, uint64(len(data))) {
			r, size := open()
			other := scanReader(r, format, size)
			if !sameErr(res.err, other.err) || !sameItems(res.items, other.items) {
				t.Fatalf("%s reader: %v %v, want %v %v", name, other.err, other.items, res.err, res.items)
			}
			r, size = open()
			if err := check(r, format, size); !sameErr(checkErr, err) {
				t.Fatalf("%s reader: Check says %v, want %v", name, err, checkErr)
			}
		}
		checkItems(t, res.items)
	})
}

// checkItems asserts the invariants of a sequence of items.
func checkItems(t *testing.T, items []Item) {
	t.Helper()
	first := map[string]int{}
	for i, it := range items {
		if it.Index != i {
			t.Fatalf("item %d has index %d", i, it.Index)
		}
		if len(it.Op.Name) > MaxNameBytes || len(it.Op.Op) > MaxOpBytes {
			t.Fatalf("item %d holds %d+%d bytes, over the limits", i, len(it.Op.Name), len(it.Op.Op))
		}
		if it.Reject == "" {
			if r := ValidateName(it.Op.Name); r != "" {
				t.Fatalf("accepted item %d: %s", i, r)
			}
			if r := ValidateOp(it.Op.Op); r != "" {
				t.Fatalf("accepted item %d: %s", i, r)
			}
			if j, dup := first[it.Op.Name]; dup {
				t.Fatalf("accepted item %d repeats the name of item %d", i, j)
			}
			first[it.Op.Name] = i
			continue
		}
		if !knownReason(it.Reject) {
			t.Fatalf("item %d: unknown reason %q", i, it.Reject)
		}
		if rest, ok := strings.CutPrefix(it.Reject, "duplicate of op "); ok {
			j, err := strconv.Atoi(rest)
			if err != nil || j != first[it.Op.Name] || j >= i || items[j].Reject != "" {
				t.Fatalf("item %d %q: %q is not its first holder", i, it.Op.Name, it.Reject)
			}
		}
	}
}

// jsonVerdict is what encoding/json says about a batch file: whether it is
// structurally valid, the raw ops when it is, and otherwise, for invalid
// JSON, the offset where encoding/json's scanner fails (-1 when the file is
// valid JSON of the wrong shape).
type jsonVerdict struct {
	valid    bool
	elems    []json.RawMessage
	syntaxAt int64
}

var bom = []byte("\xef\xbb\xbf")

// encodingJSONVerdict is the oracle: the rules of the format written with
// encoding/json, independently of the scanner.
func encodingJSONVerdict(data []byte, jsonl bool) jsonVerdict {
	skip := int64(0)
	if bytes.HasPrefix(data, bom) {
		data, skip = data[len(bom):], int64(len(bom))
	}
	if jsonl {
		v := jsonVerdict{syntaxAt: -1}
		start := int64(0)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			lineAt := start
			start += int64(len(line)) + 1
			if len(bytes.Trim(line, " \t\r")) == 0 {
				continue
			}
			if at := jsonSyntaxAt(line); at >= 0 {
				v.syntaxAt = skip + lineAt + at
				return v
			}
			v.elems = append(v.elems, json.RawMessage(line))
		}
		v.valid = len(v.elems) > 0
		return v
	}
	if at := jsonSyntaxAt(data); at >= 0 {
		return jsonVerdict{syntaxAt: skip + at}
	}
	v := jsonVerdict{syntaxAt: -1}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return v
	}
	seen := 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			panic(err) // valid JSON
		}
		if key != "ops" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				panic(err)
			}
			continue
		}
		if seen++; seen > 1 {
			return v
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return v
		}
		for dec.More() {
			var e json.RawMessage
			if err := dec.Decode(&e); err != nil {
				panic(err)
			}
			v.elems = append(v.elems, e)
		}
		if _, err := dec.Token(); err != nil {
			panic(err)
		}
	}
	v.valid = seen == 1
	return v
}

// jsonSyntaxAt is the offset of the byte where encoding/json finds data
// invalid (len(data) when it ends early), or -1 if data is valid JSON.
func jsonSyntaxAt(data []byte) int64 {
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	if err == nil {
		return -1
	}
	se, ok := err.(*json.SyntaxError)
	if !ok {
		panic(fmt.Sprintf("unmarshal into RawMessage: %T %v", err, err))
	}
	n := int64(len(data))
	switch {
	case strings.HasPrefix(se.Error(), "unexpected end"):
		return n
	case se.Offset == n && strings.HasPrefix(se.Error(), "invalid character ' '") && data[n-1] != ' ':
		// At the end encoding/json feeds its scanner a space: the input
		// ended inside a literal or number.
		return n
	}
	return se.Offset - 1 // encoding/json counts the bad byte as read
}

// FuzzCheckAgainstEncodingJSON: Check accepts exactly the files that the
// encoding/json oracle accepts; on invalid JSON the structural error is at
// encoding/json's offset (or earlier, for a shape error found first); and
// for each accepted op, encoding/json decodes its element to the same name
// and op.
func FuzzCheckAgainstEncodingJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		format := formatOf(jsonl)
		want := encodingJSONVerdict(data, jsonl)
		err := Check(bytes.NewReader(data), format)
		if (err == nil) != want.valid {
			t.Fatalf("Check = %v, encoding/json says valid=%v", err, want.valid)
		}
		if err != nil {
			se, _ := syntaxErr(err)
			switch {
			case want.syntaxAt < 0 && syntaxClass(se.Reason):
				t.Fatalf("Check = %v on valid JSON of the wrong shape", err)
			case want.syntaxAt >= 0 && syntaxClass(se.Reason) && se.Offset != want.syntaxAt:
				t.Fatalf("Check = %v, encoding/json fails at byte %d", err, want.syntaxAt)
			case want.syntaxAt >= 0 && se.Offset > want.syntaxAt:
				t.Fatalf("Check = %v, after encoding/json's failure at byte %d", err, want.syntaxAt)
			}
			return
		}
		res := scanAll(t, data, format)
		if res.err != nil {
			t.Fatalf("Check passed, Scan = %v", res.err)
		}
		if len(res.items) != len(want.elems) {
			t.Fatalf("Scan gave %d items, encoding/json sees %d ops", len(res.items), len(want.elems))
		}
		for i, it := range res.items {
			agree(t, it, want.elems[i])
		}
	})
}

// agree checks one item against encoding/json's decoding of its element.
func agree(t *testing.T, it Item, elem json.RawMessage) {
	t.Helper()
	isObject := bytes.HasPrefix(bytes.TrimLeft(elem, " \t\r\n"), []byte("{"))
	if isObject == strings.HasPrefix(it.Reject, "not a JSON object") {
		t.Fatalf("item %d (%s): %q", it.Index, elem, it.Reject)
	}
	if it.Reject != "" {
		return
	}
	var op struct {
		Name *string `json:"name"`
		Op   *string `json:"op"`
	}
	dec := json.NewDecoder(bytes.NewReader(elem))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		t.Fatalf("item %d accepted, encoding/json: %v (%s)", it.Index, err, elem)
	}
	if op.Name == nil || op.Op == nil || *op.Name != it.Op.Name || *op.Op != it.Op.Op {
		t.Fatalf("item %d = %q, encoding/json decodes %s", it.Index, it.Op, elem)
	}
}
