// Package opsqueue is memo's SQS adapter for the ops queue: the splitter's
// sender.
package opsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Sender sends ops to one queue.
type Sender struct {
	client   *sqs.Client
	queueURL string
}

var _ splitter.Queue = (*Sender)(nil)

// NewSender returns a Sender for the queue at queueURL.
func NewSender(client *sqs.Client, queueURL string) *Sender {
	return &Sender{client: client, queueURL: queueURL}
}

// SendBatch sends up to 10 messages (packs of ops) of at most 1 MiB in all
// with one SendMessageBatch call (sendBodies); the splitter retries its
// failures (retry.Batch). A call over either limit is refused here, before
// SQS would refuse it (TooManyEntriesInBatchRequest, BatchRequestTooLong).
func (s *Sender) SendBatch(ctx context.Context, msgs []record.Message) ([]splitter.SendFailure, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	if len(msgs) > splitter.MaxSendBatch {
		return nil, retry.Permanent(fmt.Errorf("SendBatch: %d messages, the limit is %d", len(msgs), splitter.MaxSendBatch))
	}
	bodies := make([]string, len(msgs))
	total := 0
	for i, m := range msgs {
		body, err := m.Encode()
		if err != nil {
			return nil, retry.Permanent(err)
		}
		bodies[i] = body
		total += len(body)
	}
	if total > splitter.MaxCallBytes {
		return nil, retry.Permanent(fmt.Errorf("SendBatch: %d bytes of messages, the limit is %d", total, splitter.MaxCallBytes))
	}
	return sendBodies(ctx, s.client, s.queueURL, bodies)
}

// sendBodies makes one SendMessageBatch call, entry i carrying bodies[i].
// The call can succeed while entries fail: those come back as failures,
// SenderFault marking the ones that retrying cannot fix.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
func sendBodies(ctx context.Context, client *sqs.Client, queueURL string, bodies []string) ([]retry.Failure, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)}
	}
	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		return nil, Classify(fmt.Errorf("send to %s: %w", queueURL, err))
	}
	failures := make([]retry.Failure, 0, len(out.Failed))
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(bodies) {
			return nil, retry.Permanent(fmt.Errorf("SQS reported a failure for unknown entry %q", aws.ToString(f.Id)))
		}
		failures = append(failures, retry.Failure{
			Index:     i,
			Reason:    aws.ToString(f.Code) + ": " + aws.ToString(f.Message),
			Permanent: f.SenderFault,
		})
	}
	return failures, nil
}

// Classify marks SQS errors that retrying cannot fix. SQS's JSON protocol
// answers with the x-amzn-query-error header, and the SDK reports that
// query-compatible code ("AWS.SimpleQueueService.BatchRequestTooLong")
// rather than the JSON one ("BatchRequestTooLong"): both are matched, by
// the name after the prefix ("Amazon SQS APIs in the AWS JSON protocol",
// Amazon SQS Developer Guide; the error lists of the SQS API Reference).
func Classify(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && permanentCodes[strings.TrimPrefix(api.ErrorCode(), "AWS.SimpleQueueService.")] {
		return retry.Permanent(err)
	}
	return err
}

// permanentCodes are the SQS error codes, without the query prefix, that
// no retry can fix: a missing queue, no permission, a malformed request.
var permanentCodes = map[string]bool{
	"NonExistentQueue": true, "QueueDoesNotExist": true,
	"AccessDenied": true, "AccessDeniedException": true, "InvalidSecurity": true,
	"KmsAccessDenied": true, "KMS.AccessDeniedException": true, "KmsDisabled": true, "KMS.DisabledException": true,
	"KmsNotFound": true, "KMS.NotFoundException": true, "KmsInvalidState": true, "KMS.KMSInvalidStateException": true,
	"InvalidAddress": true, "InvalidParameterValue": true, "MissingParameter": true, "InvalidMessageContents": true,
	"BatchRequestTooLong": true, "TooManyEntriesInBatchRequest": true, "BatchEntryIdsNotDistinct": true,
	"EmptyBatchRequest": true, "InvalidBatchEntryId": true, "UnsupportedOperation": true,
	"InvalidAttributeName": true, "InvalidAttributeValue": true,
}
