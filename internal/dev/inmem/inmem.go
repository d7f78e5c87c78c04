// Package inmem holds in-memory stand-ins for S3, SQS and DynamoDB that
// implement the interfaces the splitter and compute services declare. Unit
// and fault tests wire the services to them; each has hooks (function
// fields) to inject the failures AWS produces.
package inmem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Objects is an in-memory bucket store.
type Objects struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket/key
	// Opener, when set, replaces the body of Open (to stream generated
	// data without holding it, or to inject faults).
	Opener func(ref splitter.Ref) (io.ReadCloser, error)
	// FailPut, when set and returning an error, fails a Put.
	FailPut func(bucket, key string) error
	Opens   atomic.Int64
}

var _ splitter.Objects = (*Objects)(nil)

// NewObjects returns an empty store.
func NewObjects() *Objects { return &Objects{objects: map[string][]byte{}} }

// Set stores an object.
func (o *Objects) Set(bucket, key string, body []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.objects[bucket+"/"+key] = append([]byte(nil), body...)
}

// Object returns a stored object.
func (o *Objects) Object(bucket, key string) ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.objects[bucket+"/"+key]
	return b, ok
}

// Open implements splitter.Objects. A ranged ref (Length > 0) reads only
// its bytes, from the stored object or from Opener's stream (whose first
// Offset bytes are then read and dropped).
func (o *Objects) Open(ctx context.Context, ref splitter.Ref) (io.ReadCloser, error) {
	o.Opens.Add(1)
	if o.Opener != nil {
		body, err := o.Opener(ref)
		if err != nil || ref.Length <= 0 {
			return body, err
		}
		if _, err := io.CopyN(io.Discard, body, ref.Offset); err != nil {
			body.Close()
			return nil, fmt.Errorf("range %d+%d: %w", ref.Offset, ref.Length, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(body, ref.Length), body}, nil
	}
	b, ok := o.Object(ref.Bucket, ref.Key)
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", splitter.ErrNotFound, ref.Bucket, ref.Key)
	}
	if ref.Length > 0 {
		if ref.Offset >= int64(len(b)) {
			return nil, fmt.Errorf("range %d+%d of %d bytes: InvalidRange", ref.Offset, ref.Length, len(b))
		}
		b = b[ref.Offset:min(int64(len(b)), ref.Offset+ref.Length)]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Get implements splitter.Objects.
func (o *Objects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	b, ok := o.Object(bucket, key)
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", splitter.ErrNotFound, bucket, key)
	}
	return b, nil
}

// List implements splitter.Objects: the keys under prefix, in order.
func (o *Objects) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var keys []string
	for k := range o.objects {
		if key, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Put implements splitter.Objects.
func (o *Objects) Put(ctx context.Context, bucket, key string, body []byte, _ string) error {
	if o.FailPut != nil {
		if err := o.FailPut(bucket, key); err != nil {
			return err
		}
	}
	o.Set(bucket, key, body)
	return nil
}

// Queue is an in-memory queue. It keeps every message (pack of ops) sent,
// in order, and refuses a call SQS would refuse: more than
// splitter.MaxSendBatch messages, or more than splitter.MaxCallBytes of
// bodies.
type Queue struct {
	mu   sync.Mutex
	msgs []record.Message
	next int // receive cursor
	// Fail, when set, decides the fate of one SendBatch call: a non-nil
	// error fails the call; the returned failures fail those entries.
	Fail  func(msgs []record.Message) ([]splitter.SendFailure, error)
	Calls atomic.Int64
}

var _ splitter.Queue = (*Queue)(nil)

// SendBatch implements splitter.Queue.
func (q *Queue) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	q.Calls.Add(1)
	if len(msgs) > splitter.MaxSendBatch {
		return nil, fmt.Errorf("%d messages in one call", len(msgs))
	}
	total := 0
	for _, m := range msgs {
		total += m.Size()
	}
	if total > splitter.MaxCallBytes {
		return nil, fmt.Errorf("BatchRequestTooLong: %d bytes in one call", total)
	}
	var failures []splitter.SendFailure
	if q.Fail != nil {
		var err error
		failures, err = q.Fail(msgs)
		if err != nil {
			return nil, err
		}
	}
	failed := map[int]bool{}
	for _, f := range failures {
		failed[f.Index] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, m := range msgs {
		if !failed[i] {
			// Round-trip through the wire form, as SQS would.
			body, err := m.Encode()
			if err != nil {
				return nil, err
			}
			dec, err := record.DecodeMessage(body)
			if err != nil {
				return nil, err
			}
			q.msgs = append(q.msgs, dec)
		}
	}
	return failures, nil
}

// Messages returns every message sent so far.
func (q *Queue) Messages() []record.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]record.Message(nil), q.msgs...)
}

// QueuedOp is one op of a queued message.
type QueuedOp struct {
	record.MessageOp
	Batch string
	Stamp record.Stamp
}

// Ops returns every op sent so far, in order.
func (q *Queue) Ops() []QueuedOp {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ops []QueuedOp
	for _, m := range q.msgs {
		for _, op := range m.Ops {
			ops = append(ops, QueuedOp{MessageOp: op, Batch: m.Batch, Stamp: m.Stamp})
		}
	}
	return ops
}

// Receive returns up to n messages not yet received, as an SQS event with
// message ids "m<position>".
func (q *Queue) Receive(n int) events.SQSEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ev events.SQSEvent
	for ; q.next < len(q.msgs) && len(ev.Records) < n; q.next++ {
		body, _ := q.msgs[q.next].Encode()
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + strconv.Itoa(q.next), Body: body})
	}
	return ev
}

// Table is an in-memory results table. It keeps every write of every
// name, so that tests can check that no op got two different results, and
// applies the same condition as the DynamoDB adapter (newest upload wins).
type Table struct {
	mu      sync.Mutex
	items   map[string]record.Result
	history map[string][]record.Result
	// Fail, when set and returning an error, fails one Put call (before
	// the condition is checked, as a throttled request is).
	Fail func(r record.Result) error
	// FailGet, when set and returning an error, fails one Get call.
	FailGet                   func(names []string) error
	Calls, Reads              atomic.Int64
	Superseded, AlreadyStored atomic.Int64
}

var (
	_ compute.ResultWriter = (*Table)(nil)
	_ compute.StoredReader = (*Table)(nil)
)

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{items: map[string]record.Result{}, history: map[string][]record.Result{}}
}

// Put implements compute.ResultWriter with the condition of
// results.Table.Put (record.MayWrite), refusing with
// compute.ErrAlreadyStored when the name holds the same upload's result
// and compute.ErrSuperseded otherwise.
func (t *Table) Put(ctx context.Context, r record.Result) error {
	t.Calls.Add(1)
	if t.Fail != nil {
		if err := t.Fail(r); err != nil {
			return err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.items[r.Name]; !record.MayWrite(r, old, ok) {
		if record.SameUpload(r, old) {
			t.AlreadyStored.Add(1)
			return fmt.Errorf("%w: %s", compute.ErrAlreadyStored, r.Name)
		}
		t.Superseded.Add(1)
		return fmt.Errorf("%w: %s", compute.ErrSuperseded, r.Name)
	}
	t.items[r.Name] = r
	t.history[r.Name] = append(t.history[r.Name], r)
	return nil
}

// Get implements compute.StoredReader: the results the names hold.
func (t *Table) Get(ctx context.Context, names []string) (map[string]record.Result, error) {
	t.Reads.Add(1)
	if t.FailGet != nil {
		if err := t.FailGet(names); err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]record.Result{}
	for _, n := range names {
		if r, ok := t.items[n]; ok {
			out[n] = r
		}
	}
	return out, nil
}

// Set stores a result unconditionally (to set up a test).
func (t *Table) Set(r record.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.items[r.Name] = r
}

// Items returns the current items.
func (t *Table) Items() map[string]record.Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]record.Result, len(t.items))
	for k, v := range t.items {
		out[k] = v
	}
	return out
}

// History returns every write of a name.
func (t *Table) History(name string) []record.Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]record.Result(nil), t.history[name]...)
}
