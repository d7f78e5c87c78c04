package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/memohq/memo/tools/bench/measure/splitmem"
)

// SplitMemoryProgram is the small program that measures the splitter's
// memory in a process of its own (it links no AWS SDK).
const SplitMemoryProgram = "./tools/bench/splitmem"

// MeasureSplitMemory builds SplitMemoryProgram once and runs it once per
// size, each in a fresh process, returning what each printed.
func MeasureSplitMemory(ctx context.Context, goCmd, root string, sizes ...int) (map[int]splitmem.Memory, error) {
	dir, err := os.MkdirTemp("", "memo-bench-splitmem-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	exe := filepath.Join(dir, "splitmem")
	build := exec.CommandContext(ctx, goCmd, "build", "-o", exe, SplitMemoryProgram)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", SplitMemoryProgram, err, out)
	}
	res := map[int]splitmem.Memory{}
	for _, n := range sizes {
		cmd := exec.CommandContext(ctx, exe, strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("splitmem %d: %w", n, err)
		}
		var m splitmem.Memory
		if err := json.Unmarshal(out, &m); err != nil {
			return nil, fmt.Errorf("splitmem %d printed %q: %w", n, out, err)
		}
		res[n] = m
	}
	return res, nil
}
