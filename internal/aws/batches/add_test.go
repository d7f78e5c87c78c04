package batches_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/aws/batches"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// throttledFor fails every UpdateItem of one batch's item and counts the
// updates of the others that took effect.
type throttledFor struct {
	batches.API
	bad string

	mu      sync.Mutex
	applied map[string]int
}

func (f *throttledFor) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	id := in.Key[batches.AttrBatch].(*types.AttributeValueMemberS).Value
	if id == f.bad {
		return nil, errors.New("ProvisionedThroughputExceededException (stand-in)")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied[id]++
	return &dynamodb.UpdateItemOutput{}, nil
}

// A tally whose update for one batch keeps failing after its own retries
// is a permanent error, so that compute's retry of Add (retry.Policy.Do)
// cannot apply the other batches' updates, which took effect, again.
func TestAddPartFailedIsPermanent(t *testing.T) {
	api := &throttledFor{bad: "b@v1", applied: map[string]int{}}
	table := batches.New(api, "memo-test-batches")
	noWait := func(context.Context, time.Duration) error { return nil }
	table.Retry = retry.Policy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, Sleep: noWait}
	tallies := []compute.Tally{{Batch: "a@v1", Stamp: "1", OK: 4}, {Batch: "b@v1", Stamp: "1", OK: 2}}

	caller := retry.Policy{Attempts: 8, Base: time.Millisecond, Max: time.Millisecond, Sleep: noWait}
	calls := 0
	err := caller.Do(context.Background(), func(int) error { calls++; return table.Add(context.Background(), tallies) })
	if err == nil || !retry.IsPermanent(err) {
		t.Fatalf("Add = %v, want a permanent error", err)
	}
	if calls != 1 {
		t.Errorf("the caller called Add %d times, want 1", calls)
	}
	if diff := cmp.Diff(map[string]int{"a@v1": 1}, api.applied); diff != "" {
		t.Errorf("updates applied (-want +got):\n%s", diff)
	}
}
