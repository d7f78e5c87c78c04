package local

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A python3 that cannot import moto exits with motopatch.py's NO_MOTO at
// once, and StartMoto then starts moto_server as it is installed; a
// python3 that fails otherwise is reported, not retried.
func TestStartMotoFallsBackWithoutPythonMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip("moto_server not on PATH; integration test skipped")
	}
	if !strings.Contains(motoPatch, "NO_MOTO = 97") {
		t.Fatal("motopatch.py's NO_MOTO is not motoPatchNoMoto (97)")
	}
	// motopatch.py itself, under a python3 that sees no site-packages.
	if py, err := exec.LookPath("python3"); err == nil {
		err := exec.Command(py, "-S", "-c", motoPatch, "-p", "1").Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != motoPatchNoMoto {
			t.Errorf("motopatch.py without moto: %v, want exit status %d", err, motoPatchNoMoto)
		}
	}
	fake := func(status string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "python3"), []byte("#!/bin/sh\nexit "+status+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	fake("97")
	m, err := StartMoto(ctx, nil)
	if err != nil {
		t.Fatalf("no fallback to moto_server: %v", err)
	}
	m.Stop()

	fake("1")
	if m, err := StartMoto(ctx, nil); err == nil {
		m.Stop()
		t.Fatal("a python3 that failed was taken for one without moto")
	} else if !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("error %q does not say that moto exited", err)
	}
}
