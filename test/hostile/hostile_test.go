// Package hostile runs every file of test/testdata/hostile through the
// production splitter and compute services (wired to in-memory fakes, with
// the real evaluator) and checks memo's promise on each: a clear reason
// for every rejection, every accepted op computed exactly once, nothing
// lost, no crash and no hang.
package hostile

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

const dir = "../testdata/hostile"

type expectation struct {
	File       string `json:"file"`
	Structural bool   `json:"structural"`
	Ops        int    `json:"ops"`
	Rejected   []struct {
		Index int `json:"index"`
	} `json:"rejected"`
}

// perFile bounds the time one hostile file may take end to end.
const perFile = 10 * time.Second

func TestHostileCorpusEndToEnd(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp []expectation
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp) < 50 {
		t.Fatalf("only %d files in the manifest", len(exp))
	}
	for _, e := range exp {
		t.Run(e.File, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			const bucket = "memo-hostile-batches-1"
			key := naming.BatchPrefix + e.File
			objs, q, table := inmem.NewObjects(), &inmem.Queue{}, inmem.NewTable()
			objs.Set(bucket, key, body)
			split := splitter.New(objs, q, splitter.Config{})
			comp := compute.New(table, compute.Expressions(eval.Evaluate), compute.Config{})

			// The key arrives URL-encoded, as S3 sends it ('+' for a space).
			var rec events.S3EventRecord
			rec.EventName = "ObjectCreated:Put"
			rec.S3.Bucket.Name = bucket
			rec.S3.Object.Key = url.QueryEscape(key)
			rec.S3.Object.ETag = "etag"
			ctx, cancel := context.WithTimeout(context.Background(), perFile)
			defer cancel()
			if err := split.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{rec}}); err != nil {
				t.Fatalf("splitter: %v", err)
			}
			repBody, ok := objs.Object(bucket, naming.ReportKey(key))
			if !ok {
				t.Fatal("no report")
			}
			rep, err := record.DecodeReport(repBody)
			if err != nil {
				t.Fatal(err)
			}
			if e.Structural {
				if rep.Status != record.ReportRejected || rep.Error == "" || rep.Offset == nil || len(q.Messages()) != 0 || q.Calls.Load() != 0 {
					t.Fatalf("structural file: report %+v, %d messages sent in %d calls", rep, len(q.Messages()), q.Calls.Load())
				}
				return
			}
			if rep.Status != record.ReportSplit || rep.Totals.Ops != e.Ops || rep.Totals.Rejected != len(e.Rejected) ||
				rep.Totals.Enqueued != e.Ops-len(e.Rejected) {
				t.Fatalf("report %+v, want %d ops and %d rejected", rep.Totals, e.Ops, len(e.Rejected))
			}
			for _, r := range rep.Rejections {
				if strings.TrimSpace(r.Reason) == "" {
					t.Errorf("op %d rejected without a reason", r.Index)
				}
			}
			// Compute every message, 10 at a time; nothing may fail.
			for {
				ev := q.Receive(10)
				if len(ev.Records) == 0 {
					break
				}
				resp, err := comp.Handle(ctx, ev)
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("compute: %v, failures %v", err, resp.BatchItemFailures)
				}
			}
			items := table.Items()
			if len(items) != rep.Totals.Enqueued {
				t.Fatalf("%d results for %d enqueued ops: lost=%d", len(items), rep.Totals.Enqueued, rep.Totals.Enqueued-len(items))
			}
			for name, r := range items {
				if h := table.History(name); len(h) != 1 {
					t.Errorf("%q written %d times", name, len(h))
				}
				switch r.Status {
				case record.StatusOK:
					if r.Value == nil {
						t.Errorf("%q ok without a value", name)
					}
				case record.StatusError:
					if strings.TrimSpace(r.Error) == "" || len(r.Error) > 256 {
						t.Errorf("%q error reason %q", name, r.Error)
					}
				default:
					t.Errorf("%q status %q", name, r.Status)
				}
			}
			if el := time.Since(start); el > perFile {
				t.Fatalf("took %v", el)
			}
		})
	}
}
