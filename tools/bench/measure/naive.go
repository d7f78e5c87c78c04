package measure

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/eval"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// The naive baseline of the side-by-side twin run, written for the
// benchmark only: the obvious design on the same queue and table, with one
// SendMessage per op and one PutItem per op. It parses, validates and
// evaluates exactly as memo does (internal/pipeline/batch, internal/pipeline/eval) and writes
// the same report and items, so that the same waiter reconciles it; only its
// API calls differ. It reads the batch once (no structural check first).

// naiveConcurrency is the calls each naive function keeps in flight: the
// same as memo's splitter (8 sends) and compute (4 writes).
const (
	naiveSendConcurrency  = 8
	naiveWriteConcurrency = 4
)

// NaiveSplitter sends one SendMessage per op.
type NaiveSplitter struct {
	Objects  *objects.Store
	SQS      *sqs.Client
	QueueURL string
}

// NewNaiveSplitter builds the naive splitter from an SDK config.
func NewNaiveSplitter(cfg aws.Config, queueURL string) *NaiveSplitter {
	return &NaiveSplitter{Objects: objects.New(awsconfig.S3(cfg)), SQS: sqs.NewFromConfig(cfg), QueueURL: queueURL}
}

// Handle is its Lambda handler.
func (n *NaiveSplitter) Handle(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, rec := range ev.Records {
		key, err := url.QueryUnescape(rec.S3.Object.Key)
		if err != nil || !splitter.IsBatchKey(key) {
			continue
		}
		if err := n.split(ctx, rec, key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (n *NaiveSplitter) split(ctx context.Context, rec events.S3EventRecord, key string) error {
	format, _ := batch.FormatOf(key)
	ref := splitter.Ref{Bucket: rec.S3.Bucket.Name, Key: key, Version: rec.S3.Object.VersionID, ETag: rec.S3.Object.ETag}
	id := naming.BatchID(key, naming.UploadTag(ref.Version, ref.ETag))
	rep := record.Report{Batch: id, Bucket: ref.Bucket, Key: key, StartedAt: time.Now().UTC()}
	body, err := n.Objects.Open(ctx, ref)
	if err != nil {
		return err
	}
	defer body.Close()

	msgs := make(chan record.Message, naiveSendConcurrency)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		enqueued int
		sendErr  error
	)
	for range naiveSendConcurrency {
		wg.Go(func() {
			for m := range msgs {
				b, err := m.Encode()
				if err == nil {
					_, err = n.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(n.QueueURL), MessageBody: aws.String(b)})
				}
				mu.Lock()
				if err != nil {
					sendErr = errors.Join(sendErr, err)
				} else {
					enqueued++
				}
				mu.Unlock()
			}
		})
	}
	scanErr := batch.Scan(body, format, func(it batch.Item) error {
		if it.Reject != "" {
			rep.Reject(record.Rejection{Index: it.Index, Name: it.Op.Name, Reason: it.Reject})
			return nil
		}
		rep.Totals.Ops++
		msgs <- record.Message{Batch: id, Ops: []record.MessageOp{{Name: it.Op.Name, Op: it.Op.Op, Index: it.Index}}} // one op a message
		return nil
	})
	close(msgs)
	wg.Wait()
	rep.Totals.Enqueued = enqueued
	rep.Status = record.ReportSplit
	if err := errors.Join(scanErr, sendErr); err != nil {
		rep.Status, rep.Error = record.ReportFailed, err.Error()
	}
	rep.FinishedAt = time.Now().UTC()
	b, err := rep.Encode()
	if err != nil {
		return err
	}
	for _, k := range []string{naming.BatchReportKey(id), naming.ReportKey(key)} {
		if err := n.Objects.Put(ctx, ref.Bucket, k, b, "application/json"); err != nil {
			return err
		}
	}
	if rep.Status != record.ReportSplit {
		return fmt.Errorf("naive split of %s: %s", key, rep.Error)
	}
	return nil
}

// NaiveCompute writes one PutItem per op.
type NaiveCompute struct {
	DynamoDB *dynamodb.Client
	Table    string
}

// NewNaiveCompute builds the naive compute function from an SDK config.
func NewNaiveCompute(cfg aws.Config, table string) *NaiveCompute {
	return &NaiveCompute{DynamoDB: dynamodb.NewFromConfig(cfg), Table: table}
}

// Handle is its Lambda handler: it reports the messages whose item could
// not be written.
func (n *NaiveCompute) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		resp events.SQSEventResponse
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, naiveWriteConcurrency)
	now := time.Now().UTC()
	for _, m := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := n.one(ctx, m.Body, now); err != nil {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}

func (n *NaiveCompute) one(ctx context.Context, body string, now time.Time) error {
	msg, err := record.DecodeMessage(body)
	if err != nil {
		return err
	}
	op := msg.Ops[0] // the naive splitter sends one op a message
	res := record.Result{Name: op.Name, Op: op.Op, Batch: msg.Batch, ComputedAt: now}
	if v, err := eval.Evaluate(op.Op); err != nil {
		res.Status, res.Error = record.StatusError, err.Error()
	} else {
		res.Status, res.Value = record.StatusOK, &v
	}
	_, err = n.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(n.Table), Item: results.Encode(res)})
	return err
}
