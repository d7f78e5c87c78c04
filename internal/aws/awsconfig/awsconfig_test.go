package awsconfig

import (
	"context"
	"testing"

	"github.com/memohq/memo/internal/pipeline/retry"
)

// Every client built from Load retries as internal/pipeline/retry says, not
// with the SDK's own defaults.
func TestLoadUsesTheSDKRetryPolicy(t *testing.T) {
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	cfg, err := Load(context.Background(), Options{Endpoint: "http://127.0.0.1:1", StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retryer()
	if got := r.MaxAttempts(); got != retry.SDK.Attempts {
		t.Errorf("MaxAttempts() = %d, want retry.SDK.Attempts = %d", got, retry.SDK.Attempts)
	}
	for n := 1; n <= 10; n++ {
		d, err := r.RetryDelay(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d > retry.SDK.MaxBackoff {
			t.Fatalf("RetryDelay(%d) = %v, above retry.SDK.MaxBackoff %v", n, d, retry.SDK.MaxBackoff)
		}
	}
}
