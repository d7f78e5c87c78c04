package workspace

import (
	"context"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/record"
)

// ResultsByScan is Results read by a scan of the results table as plan
// says, whatever DescribeTable's figure (moto's counts items, no bytes).
func (c *Client) ResultsByScan(ctx context.Context, batch string, plan status.ReadPlan, fn func(record.Result) error) (bool, error) {
	rep, found, err := c.Report(ctx, batch)
	if err != nil || !found {
		return false, err
	}
	return c.scanResults(ctx, rep, plan, fn)
}
