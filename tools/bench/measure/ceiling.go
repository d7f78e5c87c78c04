package measure

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/pipeline/record"
)

// The twin's ceiling: every result of a batch is one conditional PutItem
// (the newest-upload rule; BatchWriteItem cannot carry a condition), and
// every PutItem goes to one moto process, which serves one request at a
// time on one core. No arrangement of the twin's plumbing can run memo
// faster than that process answers the writes alone, so the side-by-side
// goal is only reachable when this rate is at least the goal times the
// seed's.

// CeilingRun is a measure of moto's rate for memo's result writes.
type CeilingRun struct {
	Writes int
	Wall   time.Duration
}

// Rate is writes per second.
func (r CeilingRun) Rate() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Writes) / r.Wall.Seconds()
}

// RunCeiling starts a moto of its own (patched as the twin's is), creates
// a table keyed like the results table and writes n results with the
// compute function's own conditional PutItem, from conc clients at once,
// reaching moto directly (no proxy). Start-up is not counted.
func RunCeiling(ctx context.Context, n, conc int, log io.Writer) (CeilingRun, error) {
	run := CeilingRun{Writes: n}
	cfg, stop, err := ownMoto(ctx, log)
	if err != nil {
		return run, err
	}
	defer stop()
	db := dynamodb.NewFromConfig(cfg)
	const table = "ceiling-results"
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(results.AttrName), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(results.AttrName), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		return run, err
	}
	batch := "batches/ceiling.jsonl@v1"
	stamp := record.NewStamp(time.Now(), "0062E8F3A1B2C3D4E5", batch)
	put := func(i int) error {
		v := record.Number(float64(2*i + 1))
		r := record.Result{Name: fmt.Sprintf("op_%07d", i), Op: fmt.Sprintf("%d*2+1", i), Status: record.StatusOK,
			Value: &v, Batch: batch, Stamp: stamp, ComputedAt: time.Now().UTC()}
		_, err := db.PutItem(ctx, results.PutInput(table, r))
		return err
	}
	for i := range 50 { // warm the connections and moto's remembered condition
		if err := put(n + i); err != nil {
			return run, err
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := put(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	run.Wall = time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return run, fmt.Errorf("ceiling: %w", err)
	}
	return run, nil
}
