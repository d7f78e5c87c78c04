package measure

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/opsqueue"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// SDKCPU is the CPU time one call of memo's adapters costs on this machine:
// building the request, signing it, HTTP over loopback, decoding the
// answer. Measured against an in-process stub that answers as SQS and
// DynamoDB do, so the stub's own (small) share is included: an upper bound.
type SDKCPU struct {
	SendBatch time.Duration // opsqueue.Sender.SendBatch of a full call: MaxSendBatch packs of DefaultPackOps ops
	Put       time.Duration // results.Table.Put: one conditional PutItem
	// ScanItem is results.Table.ScanPages's CPU per item of a Scan page
	// projected to name, batch, stamp and status (memo status's scan
	// path): decoding the page and the items.
	ScanItem time.Duration
}

// scanStubItems is the items of the stub's Scan page: about 1 MB of the
// table's items of the bench's form, as one page reads.
const scanStubItems = 5000

// MeasureSDKCPU makes calls sequentially calls of each kind.
func MeasureSDKCPU(ctx context.Context, calls int) (SDKCPU, error) {
	srv := httptest.NewServer(http.HandlerFunc(stubAWS))
	defer srv.Close()
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: srv.URL, Region: awsconfig.DefaultRegion, StaticCredentials: true})
	if err != nil {
		return SDKCPU{}, err
	}
	sender := opsqueue.NewSender(sqs.NewFromConfig(cfg), srv.URL+"/123456789012/memo-bench-ops")
	table := results.New(dynamodb.NewFromConfig(cfg), "memo-bench-results")

	// A full call at the defaults: MaxSendBatch packs of DefaultPackOps ops.
	msgs := make([]record.Message, splitter.MaxSendBatch)
	for j := range msgs {
		msgs[j] = record.Message{Batch: "batches/bench.jsonl@0123456789abcdef0123456789abcdef",
			Stamp: "1767323045678-1655AED6DCD90281E5-batches/bench.jsonl@0123456789abcdef0123456789abcdef"}
		for k := range splitter.DefaultPackOps {
			i := j*splitter.DefaultPackOps + k
			msgs[j].Ops = append(msgs[j].Ops, record.MessageOp{Name: fmt.Sprintf("op_%07d", i), Op: fmt.Sprintf("%d + %d * (%d - 2) / 4", i, i%97, i%13), Index: i})
		}
	}
	now := time.Now()
	rs := make([]record.Result, 25)
	for i := range rs {
		rs[i] = benchResult(i, now)
	}

	var out SDKCPU
	measure := func(f func() error, calls int) (time.Duration, error) {
		for range min(calls, 50) { // warm up connections and caches
			if err := f(); err != nil {
				return 0, err
			}
		}
		c0 := processCPU()
		for range calls {
			if err := f(); err != nil {
				return 0, err
			}
		}
		return (processCPU() - c0) / time.Duration(calls), nil
	}
	out.SendBatch, err = measure(func() error {
		failed, err := sender.SendBatch(ctx, msgs)
		if err == nil && len(failed) > 0 {
			err = fmt.Errorf("stub failed %d entries", len(failed))
		}
		return err
	}, calls)
	if err != nil {
		return out, fmt.Errorf("SendBatch against the stub: %w", err)
	}
	i := 0
	out.Put, err = measure(func() error {
		i++
		return table.Put(ctx, rs[i%len(rs)])
	}, calls)
	if err != nil {
		return out, fmt.Errorf("Put against the stub: %w", err)
	}
	scanCalls := max(calls/100, 5)
	total, err := measure(func() error {
		n := 0
		err := table.ScanPages(ctx, results.ScanOptions{Segments: 1}, func(items []record.Result, _ float64) error { n += len(items); return nil })
		if err == nil && n != scanStubItems {
			err = fmt.Errorf("stub scan page: %d items, want %d", n, scanStubItems)
		}
		return err
	}, scanCalls)
	if err != nil {
		return out, fmt.Errorf("ScanPages against the stub: %w", err)
	}
	out.ScanItem = total / scanStubItems
	return out, nil
}

// benchResult is result i of the bench's batch as compute stores it.
func benchResult(i int, now time.Time) record.Result {
	batch := "batches/bench.jsonl@0123456789abcdef0123456789abcdef"
	v := record.Number(float64(i) * 1.25)
	return record.Result{Name: fmt.Sprintf("op_%07d", i), Op: "1 + 2", Status: record.StatusOK, Value: &v, Batch: batch,
		Stamp: record.NewStamp(now, "0055AED6DCD90281E5", batch), ComputedAt: now}
}

// ResultItemBytes is the size of a result item of the bench's batch, as
// DynamoDB counts it (ItemSize of results.Encode): the item size of the
// on-paper results table.
func ResultItemBytes() float64 {
	return float64(ItemSize(results.Encode(benchResult(123_456, time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)))))
}

// scanPage is the stub's one Scan page: scanStubItems projected items.
var scanPage = func() []byte {
	type av = map[string]string
	items := make([]map[string]av, scanStubItems)
	batch := "batches/bench.jsonl@0123456789abcdef0123456789abcdef"
	stamp := record.NewStamp(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "0055AED6DCD90281E5", batch)
	for i := range items {
		items[i] = map[string]av{"name": {"S": fmt.Sprintf("op_%07d", i)}, "batch": {"S": batch}, "stamp": {"S": stamp}, "status": {"S": "ok"}}
	}
	b, _ := json.Marshal(map[string]any{"Items": items, "Count": len(items), "ScannedCount": len(items),
		"ConsumedCapacity": map[string]any{"TableName": "memo-bench-results", "CapacityUnits": 128}})
	return b
}()

// stubAWS answers SendMessageBatch (with the MD5s the SDK checks),
// PutItem (the condition holds) and Scan (scanPage, the last page) in the
// AWS JSON 1.0 protocol.
func stubAWS(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch target := r.Header.Get("X-Amz-Target"); {
	case strings.HasSuffix(target, ".SendMessageBatch"):
		var in struct {
			Entries []struct{ Id, MessageBody string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		var resp struct {
			Successful []ok
			Failed     []struct{}
		}
		resp.Failed = []struct{}{}
		for _, e := range in.Entries {
			sum := md5.Sum([]byte(e.MessageBody))
			resp.Successful = append(resp.Successful, ok{Id: e.Id, MessageId: "m-" + e.Id, MD5OfMessageBody: hex.EncodeToString(sum[:])})
		}
		_ = json.NewEncoder(w).Encode(resp)
	case strings.HasSuffix(target, ".PutItem"):
		_, _ = io.WriteString(w, `{}`)
	case strings.HasSuffix(target, ".Scan"):
		_, _ = w.Write(scanPage)
	default:
		http.Error(w, "stub: unexpected "+target, http.StatusBadRequest)
	}
}
