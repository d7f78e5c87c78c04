package results

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
)

// stubDynamoDB answers on the wire what moto never does, so that the
// adapter's handling of it is checked against the format the SDK decodes:
//
//   - BatchGetItem with part of the keys under UnprocessedKeys, HTTP 200
//     (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html:
//     "If DynamoDB returns any unprocessed items, you should retry the batch
//     operation on those items"): the first call leaves out the names in
//     unprocessed, later calls answer them.
//   - PutItem refused with ConditionalCheckFailedException (HTTP 400) for the
//     names in refused, with the item that refused it: the newer-upload
//     rule said no.
type stubDynamoDB struct {
	mu          sync.Mutex
	unprocessed map[string]bool
	refused     map[string]record.Result // the item holding each refused name
	getCalls    int
	requested   []string // keys asked for, in order, every call
}

func (s *stubDynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch target := r.Header.Get("X-Amz-Target"); target {
	case "DynamoDB_20120810.BatchGetItem":
		var in struct {
			RequestItems map[string]struct {
				Keys []map[string]struct{ S string }
			}
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.getCalls++
		responses, unprocessed := map[string][]any{}, map[string]any{}
		for table, ka := range in.RequestItems {
			var later []any
			for _, k := range ka.Keys {
				n := k[AttrName].S
				s.requested = append(s.requested, n)
				if s.getCalls == 1 && s.unprocessed[n] {
					later = append(later, map[string]any{AttrName: map[string]string{"S": n}})
					continue
				}
				responses[table] = append(responses[table], map[string]any{
					AttrName: map[string]string{"S": n}, AttrOp: map[string]string{"S": "1"},
					AttrStatus: map[string]string{"S": "ok"}, AttrResult: map[string]string{"N": "1"},
					AttrBatch: map[string]string{"S": "b@e"},
				})
			}
			if len(later) > 0 {
				unprocessed[table] = map[string]any{"Keys": later}
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Responses": responses, "UnprocessedKeys": unprocessed})
	case "DynamoDB_20120810.PutItem":
		var in struct {
			Item map[string]struct{ S string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if holder, ok := s.refused[in.Item[AttrName].S]; ok {
			// ReturnValuesOnConditionCheckFailure ALL_OLD: the item that
			// refused the write comes back in the error.
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"__type":  "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
				"message": "The conditional request failed",
				"Item": map[string]any{
					AttrName:  map[string]string{"S": in.Item[AttrName].S},
					AttrBatch: map[string]string{"S": holder.Batch},
					AttrStamp: map[string]string{"S": holder.Stamp},
				},
			})
			return
		}
		_, _ = io.WriteString(w, "{}")
	default:
		http.Error(w, "unexpected operation "+target, http.StatusBadRequest)
	}
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
	return New(client, "memo-test-results")
}

// Keys DynamoDB left unprocessed are asked for again, and only they.
func TestGetRetriesUnprocessedKeys(t *testing.T) {
	stub := &stubDynamoDB{unprocessed: map[string]bool{"b": true, "d": true}}
	table := stubTable(t, stub)
	got, err := table.Get(context.Background(), []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "a,b,c,d" {
		t.Fatalf("Get returned %v, want a,b,c,d (b and d after a retry of the unprocessed keys)", names)
	}
	if stub.getCalls != 2 || strings.Join(stub.requested[4:], ",") != "b,d" {
		t.Fatalf("%d BatchGetItem calls asking for %v; want 2, the second for b,d only", stub.getCalls, stub.requested)
	}
}

// A conditional write refused by a newer upload's result is
// compute.ErrSuperseded, by this upload's own result
// compute.ErrAlreadyStored (both final, not failures to retry), told
// apart by the item the refusal returns; an accepted one is nil.
func TestPutRefusedIsSupersededOrAlreadyStored(t *testing.T) {
	v := record1()
	stub := &stubDynamoDB{refused: map[string]record.Result{
		"old":  {Batch: "b@newer", Stamp: "2"},
		"same": {Batch: v.Batch, Stamp: v.Stamp},
	}}
	table := stubTable(t, stub)
	v.Name = "old"
	if err := table.Put(context.Background(), v); !errors.Is(err, compute.ErrSuperseded) || errors.Is(err, compute.ErrAlreadyStored) {
		t.Fatalf("Put refused by a newer upload: %v, want compute.ErrSuperseded", err)
	}
	v.Name = "same"
	if err := table.Put(context.Background(), v); !errors.Is(err, compute.ErrAlreadyStored) || errors.Is(err, compute.ErrSuperseded) {
		t.Fatalf("Put refused by the same upload: %v, want compute.ErrAlreadyStored", err)
	}
	v.Name = "new"
	if err := table.Put(context.Background(), v); err != nil {
		t.Fatalf("Put accepted: %v", err)
	}
}

func record1() record.Result {
	one := record.Number(1)
	return record.Result{Op: "1", Status: record.StatusOK, Value: &one, Batch: "b@e", Stamp: "1"}
}
