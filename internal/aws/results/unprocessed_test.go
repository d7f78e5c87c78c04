package results

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/memohq/memo/internal/pipeline/record"
)

// stubDynamoDB answers BatchWriteItem as DynamoDB does when it throttles
// part of a batch: HTTP 200 with the refused puts under UnprocessedItems
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html,
// "If any requested operations fail because the table's provisioned
// throughput is exceeded or an internal processing failure occurs, the
// failed operations are returned in the UnprocessedItems response
// parameter"). moto never does, so the adapter's handling of it is
// checked here, against the wire format the SDK decodes.
type stubDynamoDB struct {
	mu          sync.Mutex
	unprocessed map[string]bool // names answered as unprocessed
	stored      []string
}

func (s *stubDynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("X-Amz-Target"); got != "DynamoDB_20120810.BatchWriteItem" {
		http.Error(w, "unexpected operation "+got, http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in struct {
		RequestItems map[string][]struct {
			PutRequest struct {
				Item map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]any{}
	for table, reqs := range in.RequestItems {
		for _, wr := range reqs {
			var name struct{ S string }
			_ = json.Unmarshal(wr.PutRequest.Item[AttrName], &name)
			if s.unprocessed[name.S] {
				out[table] = append(out[table], map[string]any{"PutRequest": map[string]any{"Item": wr.PutRequest.Item}})
			} else {
				s.stored = append(s.stored, name.S)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]any{"UnprocessedItems": out})
}

func stubTable(t *testing.T, stub http.Handler) *Table {
	t.Helper()
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  aws.AnonymousCredentials{},
	})
	return New(client, "memo-test-results", "batch")
}

func TestWriteBatchReturnsUnprocessedItems(t *testing.T) {
	stub := &stubDynamoDB{unprocessed: map[string]bool{"b": true, "d": true}}
	table := stubTable(t, stub)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var rs []record.Result
	for i, n := range []string{"a", "b", "c", "d"} {
		v := record.Number(float64(i))
		rs = append(rs, record.Result{Name: n, Op: n, Status: record.StatusOK, Value: &v, Batch: "x@e", ComputedAt: at})
	}
	un, err := table.WriteBatch(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range un {
		names = append(names, r.Name)
		// The adapter hands back the caller's result, not a re-decoded copy.
		if want := rs[strings.Index("abcd", r.Name)]; r.Op != want.Op || r.Value == nil || *r.Value != *want.Value || !r.ComputedAt.Equal(at) {
			t.Errorf("unprocessed %+v, want the result that was sent (%+v)", r, want)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "b,d" {
		t.Fatalf("unprocessed %v, want [b d] (DynamoDB's UnprocessedItems)", names)
	}
	if got := strings.Join(stub.stored, ","); got != "a,c" {
		t.Fatalf("stub stored %q", got)
	}

	// Nothing unprocessed: nothing returned.
	stub.unprocessed = nil
	if un, err := table.WriteBatch(context.Background(), rs[:2]); err != nil || len(un) != 0 {
		t.Fatalf("WriteBatch = %v, %v; want no unprocessed items", un, err)
	}
}
