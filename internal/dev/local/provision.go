package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/batches"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// The twin's defaults are Terraform's (terraform/modules/pipeline/
// variables.tf); test/policy fails if the two disagree.
const (
	DefaultWorkspace       = "local"
	DefaultBatchSize       = 100
	DefaultBatchingWindow  = time.Second
	DefaultMaxReceiveCount = 5
	DefaultComputeTimeout  = 30 * time.Second
	DefaultSplitterTimeout = 300 * time.Second
	// VisibilityFactor: the ops queue's visibility timeout is this many
	// times the compute timeout, as AWS recommends for event source mappings.
	VisibilityFactor = 6
	// DLQRetention is the DLQ's message retention (14 days, SQS's maximum).
	DLQRetention = 14 * 24 * time.Hour
	// DefaultChunkOps is the most ops of one chunk (Terraform's
	// split_chunk_ops).
	DefaultChunkOps = splitter.DefaultChunkOps
	// DefaultPackOps is the most ops of one ops-queue message
	// (Terraform's split_pack_ops).
	DefaultPackOps = splitter.DefaultPackOps
	// DefaultOpRules is what the splitter accepts as an op (Terraform's
	// split_op_rules).
	DefaultOpRules = batch.ExpressionRules
	// DefaultSendConcurrency is the splitter's send calls in flight
	// (Terraform's splitter_send_concurrency): the twin's splitter runs
	// with the domain's default.
	DefaultSendConcurrency = splitter.DefaultConcurrency
	// DefaultChunkBatchSize is the chunk queue mapping's batch size: one
	// chunk task per invocation, so that an invocation's work is one chunk.
	DefaultChunkBatchSize = 1
)

// Settings shape the twin's pipeline.
type Settings struct {
	Workspace       string
	BatchSize       int
	BatchingWindow  time.Duration
	MaxReceiveCount int
	ComputeTimeout  time.Duration
	SplitterTimeout time.Duration
	// VisibilityTimeout of the ops queue; zero derives it as
	// VisibilityFactor x ComputeTimeout (tests shorten it to see redrive
	// within seconds).
	VisibilityTimeout time.Duration
	// Pollers is the number of concurrent ops-queue pollers (the event
	// source mapping's concurrency).
	Pollers int
	// ChunkOps is the most ops of one chunk (memo local --split-chunk-ops).
	ChunkOps int
	// PackOps is the most ops of one ops-queue message (memo local
	// --split-pack-ops).
	PackOps int
	// OpRules is what the splitter accepts as an op (memo local
	// --op-rules; the zero value is DefaultOpRules).
	OpRules batch.Rules
	// ChunkVisibilityTimeout of the chunk queue; zero derives it as
	// VisibilityFactor x SplitterTimeout (tests shorten it to see a
	// crashed chunk retried within seconds).
	ChunkVisibilityTimeout time.Duration
	// ChunkPollers is the number of concurrent chunk-queue pollers.
	ChunkPollers int
}

func (s Settings) withDefaults() Settings {
	if s.Workspace == "" {
		s.Workspace = DefaultWorkspace
	}
	if s.BatchSize <= 0 {
		s.BatchSize = DefaultBatchSize
	}
	if s.BatchingWindow <= 0 {
		s.BatchingWindow = DefaultBatchingWindow
	}
	if s.MaxReceiveCount <= 0 {
		s.MaxReceiveCount = DefaultMaxReceiveCount
	}
	if s.ComputeTimeout <= 0 {
		s.ComputeTimeout = DefaultComputeTimeout
	}
	if s.SplitterTimeout <= 0 {
		s.SplitterTimeout = DefaultSplitterTimeout
	}
	if s.VisibilityTimeout <= 0 {
		s.VisibilityTimeout = VisibilityFactor * s.ComputeTimeout
	}
	if s.Pollers <= 0 {
		s.Pollers = 4
	}
	if s.ChunkOps <= 0 {
		s.ChunkOps = DefaultChunkOps
	}
	if s.PackOps <= 0 {
		s.PackOps = DefaultPackOps
	}
	if s.ChunkVisibilityTimeout <= 0 {
		s.ChunkVisibilityTimeout = VisibilityFactor * s.SplitterTimeout
	}
	if s.ChunkPollers <= 0 {
		s.ChunkPollers = 2
	}
	return s
}

// Provisioned is what Provision created.
type Provisioned struct {
	workspace.Resources
	Names     naming.Names
	Account   string
	QueueARN  string
	NotifyURL string // the twin's S3 notification queue
	// ChunkQueueARN is the chunk queue's (its URL, its DLQ's, and the
	// splitter's on-failure destination are in Resources).
	ChunkQueueARN string
}

// Provision creates the resources Terraform creates, by the same names, on
// the emulator cfg points at. It is idempotent.
func Provision(ctx context.Context, cfg aws.Config, s Settings) (_ Provisioned, errOut error) {
	s = s.withDefaults()
	if err := naming.ValidWorkspace(s.Workspace); err != nil {
		return Provisioned{}, err
	}
	// Only the bucket's name needs the account: the account is asked, and
	// the tables created, while the queues are (the twin keeps DynamoDB
	// and STS in a moto process of its own: see ddbServices).
	type account struct {
		id  string
		err error
	}
	acct := make(chan account, 1)
	go func() {
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			acct <- account{err: fmt.Errorf("emulator account: %w", err)}
			return
		}
		acct <- account{id: aws.ToString(id.Account)}
	}()
	p := Provisioned{Names: naming.For(s.Workspace, "")}
	p.Resources = workspace.Resources{
		Workspace: s.Workspace, Region: cfg.Region,
		Table: p.Names.Table, BatchesTable: p.Names.Batches, SplitterFunction: p.Names.Splitter,
	}
	if cfg.BaseEndpoint != nil {
		p.Endpoint = *cfg.BaseEndpoint
	}
	tableErr := make(chan error, 1)
	go func() { tableErr <- createTable(ctx, dynamodb.NewFromConfig(cfg), p.Names) }()
	gotAccount := false
	defer func() {
		if !gotAccount {
			<-acct
		}
		if err := <-tableErr; err != nil && errOut == nil {
			errOut = err
		}
	}()

	sq := sqs.NewFromConfig(cfg)
	dlqURL, dlqARN, err := createQueue(ctx, sq, p.Names.DLQ, map[string]string{
		"MessageRetentionPeriod": strconv.Itoa(int(DLQRetention.Seconds())),
	})
	if err != nil {
		return p, err
	}
	redrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqARN, "maxReceiveCount": s.MaxReceiveCount})
	p.QueueURL, p.QueueARN, err = createQueue(ctx, sq, p.Names.Queue, map[string]string{
		"VisibilityTimeout": strconv.Itoa(int(s.VisibilityTimeout.Seconds())),
		"RedrivePolicy":     string(redrive),
	})
	if err != nil {
		return p, err
	}
	p.DLQURL = dlqURL
	var chunkDLQARN string
	p.ChunkDLQURL, chunkDLQARN, err = createQueue(ctx, sq, p.Names.ChunkDLQ, map[string]string{
		"MessageRetentionPeriod": strconv.Itoa(int(DLQRetention.Seconds())),
	})
	if err != nil {
		return p, err
	}
	chunkRedrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": chunkDLQARN, "maxReceiveCount": s.MaxReceiveCount})
	p.ChunkQueueURL, p.ChunkQueueARN, err = createQueue(ctx, sq, p.Names.ChunkQueue, map[string]string{
		"VisibilityTimeout": strconv.Itoa(int(s.ChunkVisibilityTimeout.Seconds())),
		"RedrivePolicy":     string(chunkRedrive),
	})
	if err != nil {
		return p, err
	}
	p.SplitFailuresURL, _, err = createQueue(ctx, sq, p.Names.SplitFailures, map[string]string{
		"MessageRetentionPeriod": strconv.Itoa(int(DLQRetention.Seconds())),
	})
	if err != nil {
		return p, err
	}
	var notifyARN string
	p.NotifyURL, notifyARN, err = createQueue(ctx, sq, naming.Prefix+"-"+s.Workspace+"-notifications", nil)
	if err != nil {
		return p, err
	}

	a := <-acct
	gotAccount = true
	if a.err != nil {
		return p, a.err
	}
	p.Account = a.id
	p.Names = naming.For(s.Workspace, p.Account)
	p.Bucket = p.Names.Bucket
	s3c := awsconfig.S3(cfg)
	in := &s3.CreateBucketInput{Bucket: aws.String(p.Bucket)}
	if cfg.Region != "us-east-1" {
		// Outside us-east-1, CreateBucket names the region (S3 API
		// reference, CreateBucketConfiguration); us-east-1 takes none.
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(cfg.Region)}
	}
	if _, err := s3c.CreateBucket(ctx, in); err != nil && !isCode(err, "BucketAlreadyOwnedByYou") {
		return p, fmt.Errorf("create bucket %s: %w", p.Bucket, err)
	}
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(p.Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		return p, fmt.Errorf("versioning %s: %w", p.Bucket, err)
	}
	// The same filters as Terraform's aws_s3_bucket_notification: batches/
	// with the suffix of one of batch's formats. On AWS they target the
	// splitter function; here a queue that the twin delivers from.
	var qcs []s3types.QueueConfiguration
	for _, suffix := range batch.Suffixes() {
		qcs = append(qcs, s3types.QueueConfiguration{
			Id:       aws.String("batches" + suffix),
			QueueArn: aws.String(notifyARN),
			Events:   []s3types.Event{s3types.EventS3ObjectCreated},
			Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{
				{Name: s3types.FilterRuleNamePrefix, Value: aws.String(naming.BatchPrefix)},
				{Name: s3types.FilterRuleNameSuffix, Value: aws.String(suffix)},
			}}},
		})
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    aws.String(p.Bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: qcs},
	}); err != nil {
		return p, fmt.Errorf("notifications of %s: %w", p.Bucket, err)
	}
	return p, nil
}

func createQueue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	url = aws.ToString(out.QueueUrl)
	if len(attrs) > 0 {
		// CreateQueue of an existing queue keeps its old attributes.
		if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: out.QueueUrl, Attributes: attrs}); err != nil {
			return "", "", fmt.Errorf("queue %s attributes: %w", name, err)
		}
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", "", fmt.Errorf("queue %s: %w", name, err)
	}
	return url, a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

// createTable creates the results table and the batches table, as
// Terraform does (terraform/modules/pipeline/storage.tf): on demand, one
// hash key each, no index.
func createTable(ctx context.Context, c *dynamodb.Client, n naming.Names) error {
	str := dtypes.ScalarAttributeTypeS
	for _, t := range []struct{ name, key string }{{n.Table, results.AttrName}, {n.Batches, batches.AttrBatch}} {
		_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(t.name),
			BillingMode:          dtypes.BillingModePayPerRequest,
			AttributeDefinitions: []dtypes.AttributeDefinition{{AttributeName: aws.String(t.key), AttributeType: str}},
			KeySchema:            []dtypes.KeySchemaElement{{AttributeName: aws.String(t.key), KeyType: dtypes.KeyTypeHash}},
		})
		if err != nil && !isCode(err, "ResourceInUseException") {
			return fmt.Errorf("create table %s: %w", t.name, err)
		}
	}
	return nil
}

func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}
