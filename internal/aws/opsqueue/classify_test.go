package opsqueue

import (
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/memohq/memo/internal/pipeline/retry"
)

// Issue 18, point 7: the SDK reports SQS's query-compatible codes; a
// permanent error is permanent under either name, a throttle under neither.
func TestClassifyQueryCompatibleCodes(t *testing.T) {
	for code, permanent := range map[string]bool{
		"AWS.SimpleQueueService.BatchRequestTooLong":          true,
		"BatchRequestTooLong":                                 true,
		"AWS.SimpleQueueService.NonExistentQueue":             true,
		"QueueDoesNotExist":                                   true,
		"AWS.SimpleQueueService.TooManyEntriesInBatchRequest": true,
		"AWS.SimpleQueueService.BatchEntryIdsNotDistinct":     true,
		"AWS.SimpleQueueService.EmptyBatchRequest":            true,
		"AWS.SimpleQueueService.UnsupportedOperation":         true,
		"InvalidParameterValue":                               true,
		"KMS.AccessDeniedException":                           true,
		"AccessDenied":                                        true,
		"RequestThrottled":                                    false,
		"AWS.SimpleQueueService.RequestThrottled":             false,
		"ThrottlingException":                                 false,
		"InternalFailure":                                     false,
		"ServiceUnavailable":                                  false,
	} {
		err := Classify(fmt.Errorf("send: %w", &smithy.GenericAPIError{Code: code}))
		if retry.IsPermanent(err) != permanent {
			t.Errorf("%s: permanent = %v, want %v", code, retry.IsPermanent(err), permanent)
		}
	}
}
