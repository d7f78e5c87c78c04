package measure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// ChunksInFlight are the chunk counts BenchmarkChunksInFlight runs.
var ChunksInFlight = []int{1, 4, 16, 64}

// RunChunkScaling runs internal/pipeline/splitter's BenchmarkChunksInFlight
// (64 chunks of 1,000 ops against an in-memory queue whose every call takes
// 20 ms, as SQS does) on every core, once, and returns the split rate in
// ops/s by chunks in flight.
func RunChunkScaling(ctx context.Context, goCmd, dir string, log io.Writer) (map[int]float64, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkChunksInFlight$", "-benchtime", "1x", "./internal/pipeline/splitter"}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	w := io.Writer(&out)
	if log != nil {
		w = io.MultiWriter(&out, log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	res := ParseBench(&out)
	rates := map[int]float64{}
	for _, n := range ChunksInFlight {
		r, ok := res[fmt.Sprintf("ChunksInFlight/chunks=%d", n)]
		if !ok {
			return nil, fmt.Errorf("BenchmarkChunksInFlight/chunks=%d did not run:\n%s", n, out.String())
		}
		rates[n] = r.Metrics["ops/s"]
	}
	return rates, nil
}
