// Package results is memo's DynamoDB adapter for the results table: compute
// writes through it, and the memo command reads through it. The table item
// form of record.Result is encoded and decoded only here.
package results

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// Attribute names of a result item.
const (
	AttrName   = "name"
	AttrOp     = "op"
	AttrStatus = "status"
	AttrResult = "result"
	AttrError  = "error"
	AttrBatch  = "batch"
	// batch_shard, the key of the batch index the table had before issue
	// 22, is no longer written; items written before keep it, unused.
	AttrStamp      = "stamp"
	AttrComputedAt = "computed_at"
	// AttrStampKey and AttrStampSeq are the object key and the sequencer
	// field of the stamp (record.StampParts), which the write condition
	// compares: one key's uploads are ordered by sequencer (record.Newer).
	AttrStampKey = "stamp_key"
	AttrStampSeq = "stamp_seq"
)

// Table reads and writes one results table.
type Table struct {
	client *dynamodb.Client
	name   string
}

var (
	_ compute.ResultWriter = (*Table)(nil)
	_ compute.StoredReader = Stored{}
)

// New returns a Table.
func New(client *dynamodb.Client, table string) *Table {
	return &Table{client: client, name: table}
}

// Name is the table's name.
func (t *Table) Name() string { return t.name }

// Encode returns the item form of a result.
func Encode(r record.Result) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		AttrName:       &types.AttributeValueMemberS{Value: r.Name},
		AttrOp:         &types.AttributeValueMemberS{Value: r.Op},
		AttrStatus:     &types.AttributeValueMemberS{Value: string(r.Status)},
		AttrBatch:      &types.AttributeValueMemberS{Value: r.Batch},
		AttrComputedAt: &types.AttributeValueMemberS{Value: r.ComputedAt.UTC().Format(time.RFC3339Nano)},
	}
	if r.Value != nil {
		if av := EncodeValue(*r.Value); av != nil {
			item[AttrResult] = av
		}
	}
	if r.Error != "" {
		item[AttrError] = &types.AttributeValueMemberS{Value: r.Error}
	}
	if r.Stamp != "" {
		item[AttrStamp] = &types.AttributeValueMemberS{Value: r.Stamp}
		if key, seq, ok := record.StampParts(r.Stamp); ok {
			item[AttrStampKey] = &types.AttributeValueMemberS{Value: key}
			item[AttrStampSeq] = &types.AttributeValueMemberS{Value: seq}
		}
	}
	return item
}

// Decode parses a result item.
func Decode(item map[string]types.AttributeValue) (record.Result, error) {
	var r record.Result
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	r.Name, r.Op, r.Status, r.Error, r.Batch = str(AttrName), str(AttrOp), record.Status(str(AttrStatus)), str(AttrError), str(AttrBatch)
	r.Stamp = str(AttrStamp)
	if r.Name == "" {
		return r, errors.New("result item without a name")
	}
	if ts := str(AttrComputedAt); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return r, fmt.Errorf("result %q: computed_at: %w", r.Name, err)
		}
		r.ComputedAt = t
	}
	if av, ok := item[AttrResult]; ok {
		val, err := DecodeValue(av)
		if err != nil {
			return r, fmt.Errorf("result %q: %w", r.Name, err)
		}
		r.Value = &val
	}
	return r, nil
}

// EncodeValue returns a result value as DynamoDB's own types (N, BOOL, S,
// NULL, L, M), so that a get-item shows the value as it is. It returns nil
// for a value of no known kind.
func EncodeValue(v record.Value) types.AttributeValue {
	switch v.Kind {
	case record.KindNumber:
		return &types.AttributeValueMemberN{Value: record.FormatNumber(v.Num)}
	case record.KindBool:
		return &types.AttributeValueMemberBOOL{Value: v.Bool}
	case record.KindString:
		return &types.AttributeValueMemberS{Value: v.Str}
	case record.KindNull:
		return &types.AttributeValueMemberNULL{Value: true}
	case record.KindList:
		l := make([]types.AttributeValue, 0, len(v.List))
		for _, e := range v.List {
			if av := EncodeValue(e); av != nil {
				l = append(l, av)
			}
		}
		return &types.AttributeValueMemberL{Value: l}
	case record.KindMap:
		m := make(map[string]types.AttributeValue, len(v.Map))
		for k, e := range v.Map {
			if av := EncodeValue(e); av != nil {
				m[k] = av
			}
		}
		return &types.AttributeValueMemberM{Value: m}
	}
	return nil
}

// DecodeValue is EncodeValue's inverse.
func DecodeValue(av types.AttributeValue) (record.Value, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberN:
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil {
			return record.Value{}, fmt.Errorf("number: %w", err)
		}
		return record.Number(f), nil
	case *types.AttributeValueMemberBOOL:
		return record.Bool(v.Value), nil
	case *types.AttributeValueMemberS:
		return record.String(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return record.Null(), nil
	case *types.AttributeValueMemberL:
		l := make([]record.Value, len(v.Value))
		for i, e := range v.Value {
			x, err := DecodeValue(e)
			if err != nil {
				return record.Value{}, err
			}
			l[i] = x
		}
		return record.List(l...), nil
	case *types.AttributeValueMemberM:
		m := make(map[string]record.Value, len(v.Value))
		for k, e := range v.Value {
			x, err := DecodeValue(e)
			if err != nil {
				return record.Value{}, err
			}
			m[k] = x
		}
		return record.Map(m), nil
	}
	return record.Value{}, fmt.Errorf("unexpected result attribute type %T", av)
}

// Put implements compute.ResultWriter with one conditional PutItem, the
// condition record.MayWrite: the write happens only if the name holds no
// result, or one of an older
// upload (record.Newer: by sequencer within one key, by the whole stamp
// across keys), or one without a stamp (written before stamps existed).
// Comparing batch ids is not enough: a redelivered message of an older
// upload would rewind a newer upload's stamp. DynamoDB compares strings by
// their UTF-8 bytes ("Comparison operator and function reference", Amazon
// DynamoDB Developer Guide), so "<" orders stamps.
//
// A refused write answers ConditionalCheckFailedException carrying the
// item that refused it (ReturnValuesOnConditionCheckFailure ALL_OLD: "no
// read capacity units are consumed", PutItem, Amazon DynamoDB API
// Reference). Put tells the two refusals apart by that item: the same
// upload (same batch and stamp: a redelivery) is compute.ErrAlreadyStored,
// any other (a newer upload) compute.ErrSuperseded. Rewriting the same
// upload's result would cost a write and make the op's count ambiguous.
func (t *Table) Put(ctx context.Context, r record.Result) error {
	in := PutInput(t.name, r)
	_, err := t.client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		item := ccf.Item
		if item == nil {
			// DynamoDB returns the item with ALL_OLD; an emulator that does
			// not is asked (strongly consistent: the item that refused, or
			// a newer one).
			out, gerr := t.client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(t.name), ConsistentRead: aws.Bool(true),
				Key: map[string]types.AttributeValue{AttrName: &types.AttributeValueMemberS{Value: r.Name}},
			})
			if gerr != nil {
				return Classify(fmt.Errorf("read %s after a refused write: %w", t.name, gerr))
			}
			item = out.Item
		}
		old, derr := Decode(item)
		if derr == nil && record.SameUpload(r, old) {
			return fmt.Errorf("%w: %s (batch %s)", compute.ErrAlreadyStored, r.Name, r.Batch)
		}
		return fmt.Errorf("%w: %s (batch %s)", compute.ErrSuperseded, r.Name, r.Batch)
	}
	if err != nil {
		return Classify(fmt.Errorf("write %s: %w", t.name, err))
	}
	return nil
}

// PutInput is the conditional PutItem request that stores r (the bench
// measures the SDK's cost of exactly this request).
func PutInput(table string, r record.Result) *dynamodb.PutItemInput {
	names := map[string]string{"#n": AttrName, "#s": AttrStamp}
	cond := "attribute_not_exists(#n)"
	var values map[string]types.AttributeValue
	key, seq, ok := record.StampParts(r.Stamp)
	switch {
	case r.Stamp == "":
		// A message queued before stamps existed: it replaces only
		// another batch's unstamped result.
		names["#b"] = AttrBatch
		cond += " OR (attribute_not_exists(#s) AND #b <> :b)"
		values = map[string]types.AttributeValue{":b": &types.AttributeValueMemberS{Value: r.Batch}}
	case !ok:
		cond += " OR attribute_not_exists(#s) OR #s < :s"
		values = map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: r.Stamp}}
	default:
		// record.Newer as a condition. A comparison with a missing
		// attribute is false, hence the attribute_not_exists for items
		// written before stamp_key existed.
		names["#k"], names["#q"] = AttrStampKey, AttrStampSeq
		cond += " OR attribute_not_exists(#s)" +
			" OR (#k = :k AND #q < :q)" +
			" OR (#k = :k AND #q = :q AND #s < :s)" +
			" OR ((attribute_not_exists(#k) OR #k <> :k) AND #s < :s)"
		values = map[string]types.AttributeValue{
			":s": &types.AttributeValueMemberS{Value: r.Stamp},
			":k": &types.AttributeValueMemberS{Value: key},
			":q": &types.AttributeValueMemberS{Value: seq},
		}
	}
	return &dynamodb.PutItemInput{
		TableName:                           aws.String(table),
		Item:                                Encode(r),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// Get reads results by name (BatchGetItem, 100 keys per call, retrying
// unprocessed keys), strongly consistent. Names without a result are absent
// from the map.
func (t *Table) Get(ctx context.Context, names []string) (map[string]record.Result, error) {
	return t.get(ctx, names, true)
}

// Stored is compute.StoredReader: Get with eventually consistent reads,
// half the read units ("Read consistency", DynamoDB Developer Guide). A
// stale answer is safe for compute's read of redelivered ops: an item only
// ever moves to a newer upload's result, so what it shows was stored, and
// a result it misses is written again and refused as already stored.
type Stored struct{ *Table }

// Get implements compute.StoredReader.
func (s Stored) Get(ctx context.Context, names []string) (map[string]record.Result, error) {
	return s.get(ctx, names, false)
}

func (t *Table) get(ctx context.Context, names []string, consistent bool) (map[string]record.Result, error) {
	out := make(map[string]record.Result, len(names))
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			keys = append(keys, map[string]types.AttributeValue{AttrName: &types.AttributeValueMemberS{Value: n}})
		}
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, GetConcurrency)
	)
	for len(keys) > 0 {
		n := min(len(keys), 100)
		pending := keys[:n]
		keys = keys[n:]
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			got, err := t.getBatch(ctx, pending, consistent)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				first = cmp.Or(first, err)
				return
			}
			for _, r := range got {
				out[r.Name] = r
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

// GetConcurrency is how many BatchGetItem calls Get keeps in flight.
const GetConcurrency = 32

// getBatch reads up to 100 keys under memo's retry policy.
func (t *Table) getBatch(ctx context.Context, pending []map[string]types.AttributeValue, consistent bool) ([]record.Result, error) {
	var out []record.Result
	// UnprocessedKeys come back with HTTP 200: the SDK's retryer sees
	// nothing to retry, so memo's policy does (as it does a call the SDK
	// gave up on, unless Classify marks it permanent).
	// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
	err := retry.Default.Do(ctx, func(int) error {
		resp, err := t.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{t.name: {Keys: pending, ConsistentRead: aws.Bool(consistent)}},
		})
		if err != nil {
			return Classify(fmt.Errorf("read %s: %w", t.name, err))
		}
		for _, item := range resp.Responses[t.name] {
			r, err := Decode(item)
			if err != nil {
				return retry.Permanent(err)
			}
			out = append(out, r)
		}
		pending = resp.UnprocessedKeys[t.name].Keys
		if len(pending) > 0 {
			return fmt.Errorf("read %s: %d keys unprocessed", t.name, len(pending))
		}
		return nil
	})
	return out, err
}

// Scan calls fn for every result in the table, a page at a time.
func (t *Table) Scan(ctx context.Context, fn func(record.Result) error) error {
	p := dynamodb.NewScanPaginator(t.client, &dynamodb.ScanInput{TableName: aws.String(t.name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Classify(fmt.Errorf("scan %s: %w", t.name, err))
		}
		for _, item := range page.Items {
			r, err := Decode(item)
			if err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Classify marks DynamoDB errors that retrying cannot fix.
func Classify(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ResourceNotFoundException", "ValidationException", "AccessDeniedException",
			"UnrecognizedClientException", "ConditionalCheckFailedException":
			return retry.Permanent(err)
		}
	}
	return err
}

// Size is the table's size as DynamoDB last computed it: DescribeTable's
// TableSizeBytes and ItemCount, which DynamoDB "updates approximately
// every six hours" (TableDescription, DynamoDB API Reference): a hint.
func (t *Table) Size(ctx context.Context) (bytes, items int64, err error) {
	out, err := t.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	if err != nil {
		return 0, 0, Classify(fmt.Errorf("describe %s: %w", t.name, err))
	}
	return aws.ToInt64(out.Table.TableSizeBytes), aws.ToInt64(out.Table.ItemCount), nil
}

// ScanOptions are how ScanPages reads the table.
type ScanOptions struct {
	// Segments is the parallel scan's segments (at least 1).
	Segments int
	// Full reads whole items; otherwise name, batch, stamp and status.
	Full bool
	// Consistent reads strongly consistent, at twice the units.
	Consistent bool
}

// ScanPages reads the whole table by a parallel Scan of o.Segments
// segments (Segment, TotalSegments: one worker a segment, each its own
// pages), eventually consistent unless o.Consistent, projecting the name,
// batch, stamp and status unless o.Full, and calls page, never concurrently, with each page's items and the read
// units it consumed. A Scan is charged for the data it reads, not for what
// it returns: a projection does not lower the units ("Capacity units
// consumed by scan", DynamoDB Developer Guide). The units are DynamoDB's
// ConsumedCapacity; an emulator that does not report it (moto) is charged
// half a unit per item scanned (a unit strongly consistent), the most an
// item up to 4 KB costs. An
// error from page, or from a call memo's retry policy gave up on, stops
// every segment and is returned.
func (t *Table) ScanPages(ctx context.Context, o ScanOptions, page func(items []record.Result, units float64) error) error {
	segments := max(o.Segments, 1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for seg := range segments {
		wg.Go(func() {
			in := &dynamodb.ScanInput{
				TableName:              aws.String(t.name),
				ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
				ConsistentRead:         aws.Bool(o.Consistent),
			}
			if !o.Full {
				in.ProjectionExpression = aws.String("#n, #b, #s, #st")
				in.ExpressionAttributeNames = map[string]string{"#n": AttrName, "#b": AttrBatch, "#s": AttrStamp, "#st": AttrStatus}
			}
			if segments > 1 {
				in.Segment, in.TotalSegments = aws.Int32(int32(seg)), aws.Int32(int32(segments))
			}
			for {
				var out *dynamodb.ScanOutput
				err := retry.Default.Do(ctx, func(int) error {
					var err error
					out, err = t.client.Scan(ctx, in)
					if err != nil {
						return Classify(fmt.Errorf("scan %s (segment %d of %d): %w", t.name, seg, segments, err))
					}
					return nil
				})
				if err != nil {
					cancel(err)
					return
				}
				items := make([]record.Result, 0, len(out.Items))
				for _, item := range out.Items {
					r, err := Decode(item)
					if err != nil {
						cancel(err)
						return
					}
					items = append(items, r)
				}
				units := 0.5 * float64(out.ScannedCount)
				if o.Consistent {
					units *= 2
				}
				if out.ConsumedCapacity != nil && out.ConsumedCapacity.CapacityUnits != nil {
					units = *out.ConsumedCapacity.CapacityUnits
				}
				mu.Lock()
				err = ctx.Err()
				if err == nil {
					err = page(items, units)
				}
				mu.Unlock()
				if err != nil {
					cancel(err)
					return
				}
				if len(out.LastEvaluatedKey) == 0 {
					return
				}
				in.ExclusiveStartKey = out.LastEvaluatedKey
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
