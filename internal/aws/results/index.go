package results

// Reading a batch through the batch index. The index is keyed on
// batch_shard (record.BatchShard), so one batch is record.IndexShards
// partition key values: every reader queries all of them, at most
// ShardQueriesInFlight at once.

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/memohq/memo/internal/pipeline/record"
)

// ShardQueriesInFlight bounds the shard queries of one read of a batch
// that run at once (each follows its own pages one after the other).
const ShardQueriesInFlight = 8

// errNoIndex is returned by the index readers of a table without one.
var errNoIndex = errors.New("the results table has no batch index (enable it with the Terraform variable enable_batch_index)")

// Counts are the results of one batch by status.
type Counts struct{ OK, Error int }

// CountBatch counts the results of a batch through the batch index without
// reading them out: per shard a Query with Select COUNT and the filter
// status = ok, whose Count is the shard's ok results and whose
// ScannedCount all its results (the items that matched the key condition
// before the filter; "Counting the items in the results", Amazon DynamoDB
// Developer Guide), summed over the pages. A result's status is ok or
// error, so the errors are ScannedCount - Count. The filter applies after
// the read: a page still reads up to 1 MB of index items and costs their
// read units ("Filter expressions for the Query operation"), so the cost
// is that of reading the batch's index items, without the transfer.
func (t *Table) CountBatch(ctx context.Context, batch string) (Counts, error) {
	if t.index == "" {
		return Counts{}, errNoIndex
	}
	var mu sync.Mutex
	var c Counts
	err := eachShard(ctx, batch, func(ctx context.Context, key string) error {
		p := dynamodb.NewQueryPaginator(t.client, CountInput(t.name, t.index, key))
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return Classify(fmt.Errorf("count %s/%s: %w", t.name, t.index, err))
			}
			mu.Lock()
			c.OK += int(page.Count)
			c.Error += int(page.ScannedCount - page.Count)
			mu.Unlock()
		}
		return nil
	})
	return c, err
}

// CountInput is the count query of one shard key of the batch index.
func CountInput(table, index, key string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                aws.String(table),
		IndexName:                aws.String(index),
		Select:                   types.SelectCount,
		KeyConditionExpression:   aws.String("#k = :k"),
		FilterExpression:         aws.String("#s = :ok"),
		ExpressionAttributeNames: map[string]string{"#k": AttrBatchShard, "#s": AttrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k":  &types.AttributeValueMemberS{Value: key},
			":ok": &types.AttributeValueMemberS{Value: string(record.StatusOK)},
		},
	}
}

// QueryBatch calls fn for every result of a batch, through the batch index
// (which projects name and status). The shards are read concurrently; fn
// is called for one result at a time, never concurrently, and an error
// from it ends the read.
func (t *Table) QueryBatch(ctx context.Context, batch string, fn func(name string, status record.Status) error) error {
	if t.index == "" {
		return errNoIndex
	}
	var mu sync.Mutex
	return eachShard(ctx, batch, func(ctx context.Context, key string) error {
		p := dynamodb.NewQueryPaginator(t.client, &dynamodb.QueryInput{
			TableName:                 aws.String(t.name),
			IndexName:                 aws.String(t.index),
			KeyConditionExpression:    aws.String("#k = :k"),
			ProjectionExpression:      aws.String("#n, #s"),
			ExpressionAttributeNames:  map[string]string{"#k": AttrBatchShard, "#n": AttrName, "#s": AttrStatus},
			ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: key}},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return Classify(fmt.Errorf("query %s/%s: %w", t.name, t.index, err))
			}
			mu.Lock()
			err = eachItem(page.Items, fn)
			mu.Unlock()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func eachItem(items []map[string]types.AttributeValue, fn func(string, record.Status) error) error {
	for _, item := range items {
		n, _ := item[AttrName].(*types.AttributeValueMemberS)
		s, _ := item[AttrStatus].(*types.AttributeValueMemberS)
		if n == nil {
			continue
		}
		st := record.Status("")
		if s != nil {
			st = record.Status(s.Value)
		}
		if err := fn(n.Value, st); err != nil {
			return err
		}
	}
	return nil
}

// eachShard runs read for every shard key of batch, at most
// ShardQueriesInFlight at once, and returns the first error (the others
// are then cancelled).
func eachShard(ctx context.Context, batch string, read func(ctx context.Context, key string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		slots = make(chan struct{}, ShardQueriesInFlight)
	)
	fail := func(err error) {
		once.Do(func() { first = err; cancel() })
	}
	for _, key := range record.ShardKeys(batch) {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := read(ctx, key); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
