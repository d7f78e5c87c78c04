package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
)

// printBatch prints a batch's results sorted by name, its rejections and its
// reconciliation line.
func printBatch(ctx context.Context, env *cli, c *workspace.Client, rec status.Reconciliation, format string) error {
	var list []record.Result
	if _, err := c.Results(ctx, rec.Batch, func(r record.Result) error {
		list = append(list, r)
		return nil
	}); err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if err := printResults(env.stdout, list, format); err != nil {
		return err
	}
	if rec.Report != nil {
		printRejections(env.stdout, *rec.Report)
	}
	fmt.Fprintln(env.stdout, rec.Line())
	return nil
}

func printRejections(w io.Writer, rep record.Report) {
	if rep.Status == record.ReportRejected {
		fmt.Fprintf(w, "batch rejected: %s (nothing was enqueued)\n", rep.Error)
	}
	if rep.Status == record.ReportFailed {
		fmt.Fprintf(w, "batch failed while splitting: %s\n", rep.Error)
	}
	for _, r := range rep.Rejections {
		fmt.Fprintf(w, "rejected #%d %s: %s\n", r.Index, quoteName(r.Name), r.Reason)
	}
	if rep.RejectionsTruncated {
		fmt.Fprintf(w, "... and %d more rejected ops (the report lists the first %d)\n",
			rep.Totals.Rejected-len(rep.Rejections), len(rep.Rejections))
	}
}

// quoteName prints a name as is unless it could confuse a line-based reader.
func quoteName(n string) string {
	if n == "" || strings.ContainsAny(n, " \t\r\n\"") || !isPrintable(n) {
		b, _ := json.Marshal(n)
		return string(b)
	}
	return n
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// batchExit maps a finished batch to memo's exit codes.
func batchExit(rec status.Reconciliation) error {
	switch {
	case rec.Report != nil && rec.Report.Status == record.ReportRejected:
		return &exitError{code: exitRejected, err: fmt.Errorf("batch %s was rejected: %s", rec.Batch, rec.Report.Error)}
	case rec.Report == nil || rec.Lost > 0:
		return &exitError{code: exitLost, err: fmt.Errorf("batch %s: %d ops not accounted for", rec.Batch, rec.Lost)}
	}
	return nil
}

// Output formats of results.
var formats = []string{"table", "arrow", "json", "csv"}

func validFormat(f string) bool {
	for _, x := range formats {
		if x == f {
			return true
		}
	}
	return false
}

func printResults(w io.Writer, rs []record.Result, format string) error {
	switch format {
	case "arrow":
		for _, r := range rs {
			if r.Status == record.StatusOK && r.Value != nil {
				fmt.Fprintf(w, "%s -> %s\n", quoteName(r.Name), r.Value)
			} else {
				fmt.Fprintf(w, "%s -> error: %s\n", quoteName(r.Name), r.Error)
			}
		}
	case "json":
		enc := json.NewEncoder(w)
		for _, r := range rs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"name", "status", "result", "type", "error", "op", "batch", "computed_at"})
		for _, r := range rs {
			val, kind := "", ""
			if r.Value != nil {
				kind = string(r.Value.Kind)
				val = r.Value.String()
				if r.Value.Kind == record.KindString {
					val = r.Value.Str
				}
			}
			_ = cw.Write([]string{r.Name, string(r.Status), val, kind, r.Error, r.Op, r.Batch, r.ComputedAt.Format("2006-01-02T15:04:05.000Z07:00")})
		}
		cw.Flush()
		return cw.Error()
	default: // table
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tRESULT\tOP")
		for _, r := range rs {
			val := r.Error
			if r.Value != nil {
				val = r.Value.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", quoteName(r.Name), r.Status, oneLine(val, 60), oneLine(r.Op, 40))
		}
		return tw.Flush()
	}
	return nil
}

func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if len([]rune(s)) > max {
		return string([]rune(s)[:max-1]) + "…"
	}
	return s
}
