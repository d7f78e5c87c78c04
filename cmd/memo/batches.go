package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/memohq/memo/internal/pipeline/naming"
)

func init() {
	register(&command{
		name:    "batches",
		summary: "list the workspace's recent uploads, newest first, with their state and counts",
		usage:   "[--limit N] [--json] [target flags]",
		help: `One line per upload (one batch): its key, batch id, state (splitting,
split, rejected, failed, or counting: compute counted its ops before the
splitter's report came), its ops (total, rejected) and compute's counters
(ok, error, superseded), newest upload first. It reads the batches table
(one Scan of a small item per upload); memo status BATCH_ID accounts for
one batch in full. The state is the table's copy of the splitter's report,
written best effort: if a copy failed (the ReportMirrorFailures metric) it
can lag; memo status reads the report itself.

Examples:
  memo batches --workspace dev
  memo batches --endpoint http://127.0.0.1:PORT --limit 5 --json`,
		declare: declareBatches,
	})
}

func declareBatches(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	limit := fs.Int("limit", 20, "list at most this many uploads (0: all)")
	asJSON := fs.Bool("json", false, "print one JSON object per upload")
	return func(ctx context.Context, args []string) error {
		if len(args) != 0 {
			return usageErr("memo batches takes no arguments")
		}
		if *limit < 0 {
			return usageErr("--limit %d: want 0 (all) or more", *limit)
		}
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		items, err := c.Batches.List(ctx)
		if err != nil {
			return err
		}
		if *limit > 0 && len(items) > *limit {
			items = items[:*limit]
		}
		if *asJSON {
			enc := json.NewEncoder(env.stdout)
			for _, it := range items {
				if err := enc.Encode(it); err != nil {
					return err
				}
			}
			return nil
		}
		w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "UPLOADED\tKEY\tBATCH\tSTATE\tOPS\tREJECTED\tOK\tERROR\tSUPERSEDED")
		for _, it := range items {
			at, state := "-", string(it.State)
			if u := it.UploadedAt(); !u.IsZero() {
				at = u.UTC().Format(time.RFC3339)
			}
			if state == "" {
				state = "counting"
			}
			if it.Key == "" {
				it.Key = naming.KeyOfBatch(it.Batch)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", at, it.Key, it.Batch, state, it.Ops, it.Rejected, it.OK, it.Error, it.Superseded)
		}
		return w.Flush()
	}
}
