package measure

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// MicroPackages hold the microbenchmarks `make bench` runs.
var MicroPackages = []string{"./internal/pipeline/batch", "./internal/pipeline/eval", "./internal/pipeline/splitter", "./internal/pipeline/compute", "./fn"}

// MicroBenchmarks are the benchmarks run, by name, with their package:
// memo's code beside its bare baseline.
var MicroBenchmarks = []string{
	// internal/pipeline/batch: decode+validate (Scan), both splitter passes
	// (CheckScan), and bare encoding/json of the same 100k-op file.
	"ScanJSON", "ScanJSONL", "CheckScanJSON", "CheckScanJSONL", "BareDecodeJSON", "BareDecodeJSONL",
	// The other formats: CSV beside encoding/csv alone, .jsonl.gz and
	// .csv.gz beside compress/gzip in front of the JSON Lines reader and of
	// encoding/csv, the same for zstd, and decompressing alone (a
	// compressed batch's chunk task skips to its run that way).
	"ScanCSV", "BareDecodeCSV", "ScanJSONLGzip", "BareGzipJSONL", "ScanCSVGzip", "BareGzipCSV", "InflateJSONLGzip",
	"ScanJSONLZstd", "BareZstdJSONL", "ScanCSVZstd", "BareZstdCSV", "DecompressJSONLZstd",
	// internal/pipeline/eval: Evaluate and bare govaluate on 1,000 plain
	// arithmetic expressions (the fast path), on 1,000 the fast path
	// declines (the slow path: govaluate behind memo's checks), and on the
	// mix of three to one.
	"Evaluate", "BareGovaluate", "EvaluateSlowExprs", "BareGovaluateSlowExprs", "EvaluateMix", "BareGovaluateMix",
	// internal/pipeline/splitter: the service against an in-memory queue,
	// and its plan pass alone over 1M ops.
	"Split", "SplitBareDecode", "Plan",
	// internal/pipeline/compute: the handler against an in-memory table.
	"Compute", "ComputeBareGovaluate",
	// fn: the plumbing around a user's function that returns at once.
	"FnNoop",
}

// Result is one benchmark's best run: its metrics by unit ("ns/op",
// "ops/s", "B/op", "allocs/op", ...).
type Result struct {
	Name    string
	Runs    int
	Metrics map[string]float64
	// LowOpsPerS is the slowest run's ops/s (0 without that metric): with
	// the best run's, the spread of the runs.
	LowOpsPerS float64
}

// MicroOptions tune RunMicro.
type MicroOptions struct {
	Go        string // the go command (default "go")
	Dir       string // the module's root (default ".")
	Count     int    // runs of each benchmark; the best is kept (default 3)
	Benchtime string // go test -benchtime (default "1s")
	Log       io.Writer
}

// RunMicro runs the microbenchmarks on one core (-cpu 1, with -benchmem)
// and returns the best run of each (the highest ops/s: on a shared machine
// other processes only ever slow a run down).
func RunMicro(ctx context.Context, o MicroOptions) (map[string]Result, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Count <= 0 {
		o.Count = 3
	}
	if o.Benchtime == "" {
		o.Benchtime = "1s"
	}
	args := []string{"test", "-run", "^$", "-bench", "^Benchmark(" + strings.Join(MicroBenchmarks, "|") + ")$",
		"-benchmem", "-cpu", "1", "-count", strconv.Itoa(o.Count), "-benchtime", o.Benchtime}
	args = append(args, MicroPackages...)
	cmd := exec.CommandContext(ctx, o.Go, args...)
	cmd.Dir = o.Dir
	var out bytes.Buffer
	w := io.Writer(&out)
	if o.Log != nil {
		w = io.MultiWriter(&out, o.Log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	res := ParseBench(&out)
	for _, name := range MicroBenchmarks {
		if _, ok := res[name]; !ok {
			return nil, fmt.Errorf("benchmark %s did not run:\n%s", name, out.String())
		}
	}
	return res, nil
}

// ParseBench reads `go test -bench` output and keeps, for each benchmark,
// the run with the highest ops/s (or the lowest ns/op without ops/s).
func ParseBench(r io.Reader) map[string]Result {
	best := map[string]Result{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the -cpu suffix
			}
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[f[i+1]] = v
		}
		prev, seen := best[name]
		runs, low := prev.Runs+1, prev.LowOpsPerS
		if x, ok := m["ops/s"]; ok && (!seen || x < low) {
			low = x
		}
		if !seen || better(m, prev.Metrics) {
			best[name] = Result{Name: name, Metrics: m}
		}
		r := best[name]
		r.Runs, r.LowOpsPerS = runs, low
		best[name] = r
	}
	return best
}

func better(a, b map[string]float64) bool {
	if x, ok := a["ops/s"]; ok {
		return x > b["ops/s"]
	}
	return a["ns/op"] < b["ns/op"]
}
