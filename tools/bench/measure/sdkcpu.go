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
}

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
		v := record.Number(float64(i) * 1.25)
		rs[i] = record.Result{Name: fmt.Sprintf("op_%07d", i), Op: "1 + 2", Status: record.StatusOK, Value: &v, Batch: msgs[0].Batch,
			Stamp: record.NewStamp(now, "0055AED6DCD90281E5", msgs[0].Batch), ComputedAt: now}
	}

	var out SDKCPU
	measure := func(f func() error) (time.Duration, error) {
		for range 50 { // warm up connections and caches
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
	})
	if err != nil {
		return out, fmt.Errorf("SendBatch against the stub: %w", err)
	}
	i := 0
	out.Put, err = measure(func() error {
		i++
		return table.Put(ctx, rs[i%len(rs)])
	})
	if err != nil {
		return out, fmt.Errorf("Put against the stub: %w", err)
	}
	return out, nil
}

// stubAWS answers SendMessageBatch (with the MD5s the SDK checks) and
// PutItem (the condition holds) in the AWS JSON 1.0 protocol.
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
	default:
		http.Error(w, "stub: unexpected "+target, http.StatusBadRequest)
	}
}
