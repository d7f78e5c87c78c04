package workspace_test

// The workspace client against moto: what the adapters' own tests do not
// cover.

import (
	"context"
	"testing"
	"time"

	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/workspace"
)

// The report of a batch that was never split is not found, without error.
func TestReportOfAnUnknownBatch(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "workspace")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := workspace.New(cfg, res)
	if _, found, err := c.Report(ctx, "batches/none.json@x"); found || err != nil {
		t.Fatalf("report of an unknown batch: found=%v err=%v", found, err)
	}
}
