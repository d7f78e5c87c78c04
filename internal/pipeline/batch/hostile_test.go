package batch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// expectation is one entry of test/testdata/hostile/expected.json.
type expectation struct {
	File       string `json:"file"`
	Structural bool   `json:"structural"`
	Offset     *int64 `json:"offset"`
	Ops        int    `json:"ops"`
	Rejected   []struct {
		Index          int    `json:"index"`
		ReasonContains string `json:"reason_contains"`
	} `json:"rejected"`
	Note string `json:"note"`
}

func loadManifest(t *testing.T) []expectation {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(hostileDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m []expectation
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("expected.json: %v", err)
	}
	return m
}

// TestHostileCorpus runs every file of the shared hostile corpus through
// Check and Scan and compares the outcome with the manifest.
func TestHostileCorpus(t *testing.T) {
	manifest := loadManifest(t)
	listed := map[string]bool{"expected.json": true, "eval_expected.json": true, "README.md": true}
	for _, e := range manifest {
		listed[e.File] = true
		t.Run(e.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(hostileDir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			format, ok := FormatOf(e.File)
			if !ok {
				t.Fatalf("no format for %q", e.File)
			}
			checkErr := Check(bytes.NewReader(data), format)
			res := scanAll(t, data, format)
			if !sameErr(checkErr, res.err) {
				t.Fatalf("Check = %v, Scan = %v", checkErr, res.err)
			}
			if e.Structural {
				se, ok := syntaxErr(checkErr)
				if !ok {
					t.Fatalf("Check = %v, want a structural error (%s)", checkErr, e.Note)
				}
				if e.Offset == nil {
					t.Fatalf("a structural entry needs an offset (Check = %v)", checkErr)
				}
				if se.Offset != *e.Offset {
					t.Fatalf("Check = %v, want offset %d", checkErr, *e.Offset)
				}
				return
			}
			if checkErr != nil {
				t.Fatalf("Check = %v, want a sound file (%s)", checkErr, e.Note)
			}
			if len(res.items) != e.Ops {
				t.Fatalf("%d ops, want %d", len(res.items), e.Ops)
			}
			want := map[int]string{}
			for _, r := range e.Rejected {
				want[r.Index] = r.ReasonContains
			}
			for _, it := range res.items {
				sub, rejected := want[it.Index]
				switch {
				case rejected && it.Reject == "":
					t.Errorf("op %d (%.40q) accepted, want a rejection containing %q", it.Index, it.Op.Name, sub)
				case rejected && !strings.Contains(it.Reject, sub):
					t.Errorf("op %d rejected as %q, want %q", it.Index, it.Reject, sub)
				case !rejected && it.Reject != "":
					t.Errorf("op %d (%.40q) rejected as %q, want accepted", it.Index, it.Op.Name, it.Reject)
				}
			}
			checkItems(t, res.items)
		})
	}
	files, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !listed[f.Name()] {
			t.Errorf("%s is not in expected.json", f.Name())
		}
	}
}
