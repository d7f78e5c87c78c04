package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
)

// A user's function may return any JSON value: memo results prints it in
// every format as JSON (csv names its type).
func TestResultsPrintJSONValuesInEveryFormat(t *testing.T) {
	v := record.Map(map[string]record.Value{"sha256": record.String("ab"), "bytes": record.Number(3), "tags": record.List(record.Null(), record.Bool(true))})
	rs := []record.Result{{Name: "img", Op: `"photos/1.jpg"`, Status: record.StatusOK, Value: &v, Batch: "batches/c.jsonl@e",
		ComputedAt: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}}
	const js = `{"bytes":3,"sha256":"ab","tags":[null,true]}`
	for format, want := range map[string]string{
		"arrow": "img -> " + js + "\n",
		"json":  `"result":` + js,
		"csv":   `img,ok,"{""bytes"":3,""sha256"":""ab"",""tags"":[null,true]}",map,`,
		"table": js,
	} {
		var b bytes.Buffer
		if err := printResults(&b, rs, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("--format %s:\n%s\nwant it to contain %s", format, b.String(), want)
		}
	}
}
