package app

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/memohq/memo/internal/pipeline/batch"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSplitterFromEnv(t *testing.T) {
	e, err := SplitterFromEnv(env(map[string]string{EnvQueueURL: "https://q", EnvSendConcurrency: "16", EnvLogLevel: "debug", EnvWorkspace: "dev"}))
	if err != nil || e.QueueURL != "https://q" || e.Concurrency != 16 || e.LogLevel != slog.LevelDebug || e.Workspace != "dev" {
		t.Fatalf("%+v, %v", e, err)
	}
	if e.ChunkOps != 50000 || e.ChunkQueueURL != "" || e.PackOps != 10 || e.OpRules != batch.ExpressionRules {
		t.Fatalf("chunk, pack and op rules defaults: %+v", e)
	}
	e, err = SplitterFromEnv(env(map[string]string{EnvQueueURL: "q", EnvChunkQueueURL: "https://c", EnvChunkOps: "500", EnvPackOps: "1000", EnvOpRules: "json"}))
	if err != nil || e.ChunkQueueURL != "https://c" || e.ChunkOps != 500 || e.PackOps != 1000 || e.OpRules != batch.JSONRules {
		t.Fatalf("%+v, %v", e, err)
	}
	for _, bad := range []map[string]string{
		{},
		{EnvQueueURL: "q", EnvChunkOps: "0"},
		{EnvQueueURL: "q", EnvChunkOps: "2000001"},
		{EnvQueueURL: "q", EnvPackOps: "0"},
		{EnvQueueURL: "q", EnvPackOps: "1001"},
		{EnvQueueURL: "q", EnvPackOps: "ten"},
		{EnvQueueURL: "q", EnvOpRules: "JSON"},
		{EnvQueueURL: "q", EnvOpRules: "any"},
		{EnvQueueURL: "q", EnvSendConcurrency: "0"},
		{EnvQueueURL: "q", EnvSendConcurrency: "many"},
		{EnvQueueURL: "q", EnvLogLevel: "loud"},
	} {
		if _, err := SplitterFromEnv(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestComputeFromEnv(t *testing.T) {
	if _, err := ComputeFromEnv(env(nil)); err == nil || !strings.Contains(err.Error(), EnvTable) {
		t.Fatalf("missing table: %v", err)
	}
	e, err := ComputeFromEnv(env(map[string]string{EnvTable: "t"}))
	if err != nil || e.Table != "t" || e.LogLevel != slog.LevelInfo {
		t.Fatalf("%+v, %v", e, err)
	}
}
