package splitter

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// Invoke is the splitter function's one handler: it takes either an S3
// event (an asynchronous invocation by S3 notifications: Handle) or an SQS
// event from the chunk queue's event source mapping (HandleChunks), told
// apart by the records' eventSource ("aws:s3" or "aws:sqs", "Event message
// structure", Amazon S3 User Guide; "Using Lambda with Amazon SQS", AWS
// Lambda Developer Guide). An SQS event gets a partial batch response.
func (s *Service) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("undecodable event: %w", err)
	}
	if len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("undecodable SQS event: %w", err)
		}
		return s.HandleChunks(ctx, ev)
	}
	var ev events.S3Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("undecodable S3 event: %w", err)
	}
	return nil, s.Handle(ctx, ev)
}
