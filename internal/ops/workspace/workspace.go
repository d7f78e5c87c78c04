// Package workspace is one deployed memo pipeline (on AWS or on the twin) as
// seen from outside: its resource names and the clients that reach them. The
// memo command, the twin and the end-to-end tests read and drive a pipeline
// through it.
package workspace

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/batches"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// Resources locates a pipeline.
type Resources struct {
	Workspace string `json:"workspace"`
	Region    string `json:"region"`
	Endpoint  string `json:"endpoint,omitempty"`
	Bucket    string `json:"bucket"`
	Table     string `json:"table"`
	// BatchesTable is the batches table (state and counters per upload).
	BatchesTable string `json:"batches_table"`
	QueueURL     string `json:"queue_url"`
	DLQURL       string `json:"dlq_url"`
	// The chunk queue and its DLQ, the splitter's on-failure destination
	// and the splitter function: what memo dlq --queue and memo resume use.
	ChunkQueueURL    string `json:"chunk_queue_url,omitempty"`
	ChunkDLQURL      string `json:"chunk_dlq_url,omitempty"`
	SplitFailuresURL string `json:"split_failures_url,omitempty"`
	SplitterFunction string `json:"splitter_function,omitempty"`
}

// Client reaches one pipeline.
type Client struct {
	Res      Resources
	S3       *s3.Client
	SQS      *sqs.Client
	DynamoDB *dynamodb.Client
	Lambda   *lambda.Client
	Objects  *objects.Store
	Table    *results.Table
	Batches  *batches.Table
}

// New returns a client for res.
func New(cfg aws.Config, res Resources) *Client {
	c := &Client{
		Res:      res,
		S3:       awsconfig.S3(cfg),
		SQS:      sqs.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg),
		Lambda:   lambda.NewFromConfig(cfg),
	}
	c.Objects = objects.New(c.S3)
	c.Table = results.New(c.DynamoDB, res.Table)
	c.Batches = batches.New(c.DynamoDB, res.BatchesTable)
	return c
}

// Discover derives the resources of workspace ws by the naming rule: the
// account id (for the bucket name) from STS, the queue URLs from SQS.
func Discover(ctx context.Context, cfg aws.Config, ws string) (Resources, error) {
	if err := naming.ValidWorkspace(ws); err != nil {
		return Resources{}, err
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Resources{}, fmt.Errorf("finding the AWS account (are credentials configured? try `aws sts get-caller-identity`): %w", err)
	}
	n := naming.For(ws, aws.ToString(id.Account))
	res := Resources{Workspace: ws, Region: cfg.Region, Bucket: n.Bucket, Table: n.Table, BatchesTable: n.Batches}
	if cfg.BaseEndpoint != nil {
		res.Endpoint = *cfg.BaseEndpoint
	}
	if err := Complete(ctx, cfg, &res); err != nil {
		return Resources{}, err
	}
	return res, nil
}

// Complete fills in the queue URLs, the splitter's and the batches table's
// names that res lacks,
// by the naming rule from res.Workspace (Terraform's outputs name the ops
// queues and the functions only).
func Complete(ctx context.Context, cfg aws.Config, res *Resources) error {
	if err := naming.ValidWorkspace(res.Workspace); err != nil {
		return err
	}
	n := naming.For(res.Workspace, "")
	if res.SplitterFunction == "" {
		res.SplitterFunction = n.Splitter
	}
	if res.BatchesTable == "" {
		res.BatchesTable = n.Batches
	}
	client := sqs.NewFromConfig(cfg)
	for _, q := range []struct {
		name string
		url  *string
	}{{n.Queue, &res.QueueURL}, {n.DLQ, &res.DLQURL}, {n.ChunkQueue, &res.ChunkQueueURL}, {n.ChunkDLQ, &res.ChunkDLQURL}, {n.SplitFailures, &res.SplitFailuresURL}} {
		if *q.url != "" {
			continue
		}
		out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.name)})
		if err != nil {
			// Terraform deploys to its region input (eu-west-1 unless set);
			// the SDK's chain may name another: say which was asked.
			return fmt.Errorf("queue %s of workspace %q not found in region %s (is the workspace deployed there? Terraform deploys to its region input, eu-west-1 unless set: pass --region, or --from-terraform terraform to read it from the outputs): %w", q.name, res.Workspace, cfg.Region, err)
		}
		*q.url = aws.ToString(out.QueueUrl)
	}
	return nil
}

// Counts implements status.Source: the batch's counters, one strongly
// consistent GetItem of its item in the batches table (a batch uploaded
// before the table existed has none: zero, and status reconciles it by
// names).
func (c *Client) Counts(ctx context.Context, batch string) (status.Counts, error) {
	if c.Res.BatchesTable == "" {
		return status.Counts{}, nil
	}
	it, _, err := c.Batches.Get(ctx, batch)
	return status.Counts{OK: it.OK, Error: it.Error, Superseded: it.Superseded}, err
}

// Results calls fn for every result of the batch, in no order: the names
// of its object (Names), looked up (BatchGetItem, eventually consistent),
// keeping the names that hold this batch's result; or, when the results
// table is small next to the batch (status.ChooseRead), the items of a
// parallel scan of the table that hold this batch's result (only the
// batch's names can), gathered before fn sees any so that a scan stopped
// at its budget falls back to the lookups without repeating one. found is
// false when the batch has no report or, read by lookups, its object is
// gone (a scan needs no names: only the batch's ops hold its results).
func (c *Client) Results(ctx context.Context, batch string, fn func(record.Result) error) (found bool, err error) {
	rep, found, err := c.Report(ctx, batch)
	if err != nil || !found {
		return false, err
	}
	if done, err := c.resultsByScan(ctx, rep, fn); done || err != nil {
		return done, err
	}
	var window []string
	flush := func() error {
		items, err := results.Stored{Table: c.Table}.Get(ctx, window)
		if err != nil {
			return err
		}
		for _, n := range window {
			if it, ok := items[n]; ok && it.Batch == rep.Batch {
				if err := fn(it); err != nil {
					return err
				}
			}
		}
		window = window[:0]
		return nil
	}
	found, err = c.Names(ctx, rep, func(n string) error {
		window = append(window, n)
		if len(window) == 1000 {
			return flush()
		}
		return nil
	})
	if err == nil && found && len(window) > 0 {
		err = flush()
	}
	return found, err
}

// DLQ implements status.Source: the names of the batch's ops whose messages
// are in the DLQ, every op of each packed message. It always peeks: the
// DLQ's approximate depth can read 0 for a minute or more after messages
// arrived ("ApproximateNumberOf... may not achieve consistency until at
// least 1 minute after the producers stop sending messages",
// GetQueueAttributes, Amazon SQS API Reference). A DLQ too large to peek
// whole (PartialPeekError) answers the names it read and a
// status.DLQPartialError with an estimate of the ops it did not read.
func (c *Client) DLQ(ctx context.Context, batch string) ([]string, error) {
	msgs, err := c.PeekDLQ(ctx)
	var partial *PartialPeekError
	if errors.As(err, &partial) {
		err = &status.DLQPartialError{Unread: max(unreadOps(msgs, partial), 1)}
	} else if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range msgs {
		if m.Decoded != nil && m.Decoded.Batch == batch {
			for _, op := range m.Decoded.Ops {
				names = append(names, op.Name)
			}
		}
	}
	return names, err
}
