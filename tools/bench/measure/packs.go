package measure

import (
	"context"
	"io"

	"github.com/memohq/memo/internal/pipeline/splitter"
)

// PackRun is a twin run of memo's handlers with the splitter packing
// PackOps ops a message: the SQS and DynamoDB calls per op it made.
type PackRun struct {
	PackOps int
	Run     TwinRun
	Per     PerOp
}

// MeasurePacks runs an n-op batch through a fresh twin at each pack size
// (0 is the default, splitter.DefaultPackOps). The counts do not depend on
// the machine; the twin's event source mapping takes up to
// compute_batch_size messages an invocation, as Lambda's does.
func MeasurePacks(ctx context.Context, n int, sizes []int, log io.Writer) ([]PackRun, error) {
	var out []PackRun
	for _, k := range sizes {
		run, err := runTwin(ctx, Memo, n, log, k)
		if err != nil {
			return out, err
		}
		if k == 0 {
			k = splitter.DefaultPackOps
		}
		out = append(out, PackRun{PackOps: k, Run: run, Per: run.Per()})
	}
	return out, nil
}
