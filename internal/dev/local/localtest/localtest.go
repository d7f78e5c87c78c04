// Package localtest helps tests run against the local twin.
package localtest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/memohq/memo/internal/dev/local"
)

// RequireMoto skips the test when moto_server is not installed, unless CI
// is set: in CI a missing emulator is a failure, never a silent skip.
func RequireMoto(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but moto_server is not on PATH: %v", local.ErrNoMoto)
		}
		t.Skip("moto_server not on PATH (pip install \"moto[server]\"); integration test skipped")
	}
}

// StartTwin starts a twin for the test and stops it when the test ends.
func StartTwin(t testing.TB, o local.Options) *local.Twin {
	t.Helper()
	RequireMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	twin, err := local.Start(ctx, o)
	if err != nil {
		t.Fatalf("starting the twin: %v", err)
	}
	t.Cleanup(twin.Stop)
	return twin
}
