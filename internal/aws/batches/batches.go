// Package batches is memo's DynamoDB adapter for the batches table: one
// small item per upload (key "batch", the batch id) holding the splitter's
// report mirrored (key, stamp, state, totals, times) and the counters ok,
// error and superseded that compute adds. The item form is encoded and
// decoded only here.
//
// The two writers never touch each other's attributes: the report mirror
// SETs the report's attributes, the counters are only ever ADDed, so they
// may arrive in any order (a batch split in one pass writes its report
// after its ops were sent, and compute may count first).
package batches

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
)

// Attribute names of a batch item. "error" and "key" are DynamoDB reserved
// words: every expression names attributes through placeholders.
const (
	AttrBatch    = "batch"
	AttrKey      = "key"
	AttrStamp    = "stamp"
	AttrState    = "state"
	AttrReason   = "reason" // the report's error, for a rejected or failed batch
	AttrOps      = "ops"
	AttrEnqueued = "enqueued"
	AttrRejected = "rejected"
	AttrChunks   = "chunks"
	AttrStarted  = "started"
	AttrUpdated  = "updated"
	// The counters compute adds.
	AttrOK         = "ok"
	AttrError      = "error"
	AttrSuperseded = "superseded"
)

// timeLayout is fixed width, so that stored times sort as strings.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Item is one upload as the batches table holds it.
type Item struct {
	Batch  string              `json:"batch"`
	Key    string              `json:"key,omitempty"`
	Stamp  record.Stamp        `json:"stamp,omitempty"`
	State  record.ReportStatus `json:"state,omitempty"`
	Reason string              `json:"reason,omitempty"`
	Ops    int                 `json:"ops"`
	// Enqueued, Rejected and Chunks are the report's totals.
	Enqueued int       `json:"enqueued"`
	Rejected int       `json:"rejected"`
	Chunks   int       `json:"chunks,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Updated  time.Time `json:"updated,omitzero"`
	// OK, Error and Superseded are compute's counters.
	OK         int `json:"ok"`
	Error      int `json:"error"`
	Superseded int `json:"superseded"`
	// Counted is false when compute never counted for the batch (no
	// counter attribute): a batch uploaded before the counters existed, or
	// one none of whose ops was stored yet.
	Counted bool `json:"counted"`
}

// UploadedAt is when the upload happened as far as the item knows: its
// stamp's event time, or else when its split started.
func (it Item) UploadedAt() time.Time {
	if len(it.Stamp) >= 13 {
		if ms, err := strconv.ParseInt(it.Stamp[:13], 10, 64); err == nil {
			return time.UnixMilli(ms).UTC()
		}
	}
	return it.Started
}

// API is the part of the DynamoDB client the table uses.
type API interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Table reads and writes one batches table.
type Table struct {
	client API
	name   string
	// Retry is memo's policy around each write (retry.Default).
	Retry retry.Policy
}

var _ compute.Tallier = (*Table)(nil)

// New returns a Table.
func New(client API, name string) *Table {
	return &Table{client: client, name: name, Retry: retry.Default}
}

// Name is the table's name.
func (t *Table) Name() string { return t.name }

func key(batch string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrBatch: &types.AttributeValueMemberS{Value: batch}}
}

func num(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// Add implements compute.Tallier: one UpdateItem ADD per batch, under
// memo's retry policy. ADD starts a missing counter (or item) at 0
// ("UpdateItem", Amazon DynamoDB API Reference: "If no item matches the
// specified primary key ... creates a new item"; ADD on a number "If the
// existing attribute doesn't exist, ADD uses 0 as the initial value").
//
// ADD is not idempotent: a call that took effect but whose answer was lost
// (a timeout, a 500 after the write) and is retried, here or by the SDK,
// counts twice. memo status notices an account that counts more ops than
// the batch has and reconciles it by names (docs/design.md, "Counting a
// batch").
//
// Each update is retried here, on its own; an error after that is
// permanent, so that a caller's retry cannot add again the other batches'
// updates, which took effect.
func (t *Table) Add(ctx context.Context, tallies []compute.Tally) error {
	var errs []error
	for _, in := range addInputs(t.name, tallies) {
		err := t.Retry.Do(ctx, func(int) error {
			_, err := t.client.UpdateItem(ctx, in)
			if err != nil {
				return results.Classify(fmt.Errorf("count in %s: %w", t.name, err))
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return retry.Permanent(errors.Join(errs...))
}

// addInputs are the UpdateItem requests of tallies: one per batch (tallies
// of one batch are summed), none for a tally of nothing.
func addInputs(table string, tallies []compute.Tally) []*dynamodb.UpdateItemInput {
	sum := map[string]*compute.Tally{}
	var order []string
	for _, tl := range tallies {
		s := sum[tl.Batch]
		if s == nil {
			s = &compute.Tally{Batch: tl.Batch, Stamp: tl.Stamp}
			sum[tl.Batch] = s
			order = append(order, tl.Batch)
		}
		s.OK += tl.OK
		s.Error += tl.Error
		s.Superseded += tl.Superseded
		if s.Stamp == "" {
			s.Stamp = tl.Stamp
		}
	}
	var out []*dynamodb.UpdateItemInput
	for _, b := range order {
		s := sum[b]
		names := map[string]string{}
		values := map[string]types.AttributeValue{}
		var adds []string
		for _, c := range []struct {
			attr, ph string
			n        int
		}{{AttrOK, "ok", s.OK}, {AttrError, "er", s.Error}, {AttrSuperseded, "su", s.Superseded}} {
			if c.n == 0 {
				continue
			}
			names["#"+c.ph] = c.attr
			values[":"+c.ph] = num(c.n)
			adds = append(adds, "#"+c.ph+" :"+c.ph)
		}
		if len(adds) == 0 {
			continue
		}
		expr := "ADD " + strings.Join(adds, ", ")
		if s.Stamp != "" {
			// The stamp orders memo batches' listing before the report is
			// mirrored; the report's own stamp is the same.
			names["#st"] = AttrStamp
			values[":st"] = str(s.Stamp)
			expr += " SET #st = if_not_exists(#st, :st)"
		}
		out = append(out, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(table),
			Key:                       key(b),
			UpdateExpression:          aws.String(expr),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		})
	}
	return out
}

// Mirror writes a report's attributes into its batch's item (SET only,
// never the counters), under memo's retry policy.
func (t *Table) Mirror(ctx context.Context, rep record.Report) error {
	in := mirrorInput(t.name, rep)
	return t.Retry.Do(ctx, func(int) error {
		_, err := t.client.UpdateItem(ctx, in)
		if err != nil {
			return results.Classify(fmt.Errorf("mirror the report of %s in %s: %w", rep.Batch, t.name, err))
		}
		return nil
	})
}

func mirrorInput(table string, rep record.Report) *dynamodb.UpdateItemInput {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var sets, removes []string
	set := func(attr string, v types.AttributeValue) {
		ph := "#a" + strconv.Itoa(len(names))
		names[ph] = attr
		values[":"+ph[1:]] = v
		sets = append(sets, ph+" = :"+ph[1:])
	}
	set(AttrKey, str(rep.Key))
	set(AttrState, str(string(rep.Status)))
	set(AttrOps, num(rep.Totals.Ops))
	set(AttrEnqueued, num(rep.Totals.Enqueued))
	set(AttrRejected, num(rep.Totals.Rejected))
	set(AttrChunks, num(rep.Chunks))
	if rep.Stamp != "" {
		set(AttrStamp, str(rep.Stamp))
	}
	if !rep.StartedAt.IsZero() {
		set(AttrStarted, str(rep.StartedAt.UTC().Format(timeLayout)))
	}
	if !rep.FinishedAt.IsZero() {
		set(AttrUpdated, str(rep.FinishedAt.UTC().Format(timeLayout)))
	}
	if rep.Error != "" {
		set(AttrReason, str(rep.Error))
	} else {
		names["#rs"] = AttrReason
		removes = append(removes, "#rs")
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       key(rep.Batch),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

// Get reads one batch's item, strongly consistent (one read unit: the
// counters written before the call are in it). found is false when the
// table has no item for the batch.
func (t *Table) Get(ctx context.Context, batch string) (it Item, found bool, err error) {
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.name), Key: key(batch), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Item{}, false, fmt.Errorf("read %s: %w", t.name, err)
	}
	if out.Item == nil {
		return Item{}, false, nil
	}
	it, err = Decode(out.Item)
	return it, err == nil, err
}

// List returns every upload of the table (a Scan: the table holds one
// small item per upload), newest first (UploadedAt, then batch id).
func (t *Table) List(ctx context.Context) ([]Item, error) {
	var out []Item
	p := dynamodb.NewScanPaginator(t.client, &dynamodb.ScanInput{TableName: aws.String(t.name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", t.name, err)
		}
		for _, m := range page.Items {
			it, err := Decode(m)
			if err != nil {
				return nil, err
			}
			out = append(out, it)
		}
	}
	Sort(out)
	return out, nil
}

// Sort orders uploads newest first.
func Sort(items []Item) {
	slices.SortStableFunc(items, func(a, b Item) int {
		if c := b.UploadedAt().Compare(a.UploadedAt()); c != 0 {
			return c
		}
		return strings.Compare(b.Batch, a.Batch)
	})
}

// Decode parses a batch item.
func Decode(m map[string]types.AttributeValue) (Item, error) {
	s := func(k string) string {
		if v, ok := m[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	var bad error
	n := func(k string) (int, bool) {
		v, ok := m[k].(*types.AttributeValueMemberN)
		if !ok {
			return 0, false
		}
		i, err := strconv.Atoi(v.Value)
		if err != nil && bad == nil {
			bad = fmt.Errorf("batch item %s: %s: %w", s(AttrBatch), k, err)
		}
		return i, true
	}
	tm := func(k string) time.Time {
		v := s(k)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil && bad == nil {
			bad = fmt.Errorf("batch item %s: %s: %w", s(AttrBatch), k, err)
		}
		return t
	}
	it := Item{Batch: s(AttrBatch), Key: s(AttrKey), Stamp: s(AttrStamp), State: record.ReportStatus(s(AttrState)), Reason: s(AttrReason),
		Started: tm(AttrStarted), Updated: tm(AttrUpdated)}
	it.Ops, _ = n(AttrOps)
	it.Enqueued, _ = n(AttrEnqueued)
	it.Rejected, _ = n(AttrRejected)
	it.Chunks, _ = n(AttrChunks)
	var c1, c2, c3 bool
	it.OK, c1 = n(AttrOK)
	it.Error, c2 = n(AttrError)
	it.Superseded, c3 = n(AttrSuperseded)
	it.Counted = c1 || c2 || c3
	if it.Batch == "" {
		return it, errors.New("batch item without a batch")
	}
	return it, bad
}
