package workspace

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Issue 18, point 14: redrive falls back to the receive-send-delete loop
// only where the service lacks StartMessageMoveTask, never on a refusal
// (no permission, a bad request), where the loop would be denied too or
// hide the cause. (A task already running is checked apart, with
// ListMessageMoveTasks, before any fallback: moveTaskRunning.)
func TestMoveTaskFallbackOnlyWhereUnsupported(t *testing.T) {
	status := func(code int) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: fmt.Errorf("status %d", code)}
	}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"moto's 500", status(500), true},
		{"unsupported operation", &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.UnsupportedOperation"}, true},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied"}, false},
		{"access denied with a 403", status(403), false},
		{"a bad request", &smithy.GenericAPIError{Code: "InvalidParameterValue"}, false},
	} {
		if got := moveTaskUnsupported(fmt.Errorf("start: %w", c.err)); got != c.want {
			t.Errorf("%s: fallback = %v, want %v", c.name, got, c.want)
		}
	}
}
