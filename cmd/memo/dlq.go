package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"
)

func init() {
	register(&command{
		name:    "dlq",
		summary: "list the dead-letter queue, or redrive its messages to the ops queue",
		usage:   "list|redrive [--json] [--loop] [target flags]",
		help: `memo dlq list shows each message in the DLQ: its id, receive count, send time,
and the op it carries (or why its body cannot be decoded).
memo dlq redrive moves the messages back to the ops queue, with SQS's
StartMessageMoveTask where the endpoint supports it and otherwise (or with
--loop) by receiving, sending and then deleting each message, so that none is
lost; a message whose deletion fails after its copy was sent is counted as
duplicated (its op is computed twice, to the same result). It says how many
of the redriven messages are superseded: their op name holds a result of a
newer upload, so compute leaves that result alone (of two uploads that
contain the same op name, the one S3 accepted later wins), and memo status
counts those ops of their batch as superseded.

Examples:
  memo dlq list --workspace dev
  memo dlq redrive --endpoint http://127.0.0.1:PORT`,
		declare: declareDLQ,
	})
}

func declareDLQ(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	asJSON := fs.Bool("json", false, "list: one JSON object per message")
	loop := fs.Bool("loop", false, "redrive: use the receive-send-delete loop even where StartMessageMoveTask exists")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 || (args[0] != "list" && args[0] != "redrive") {
			return usageErr("want 'list' or 'redrive'")
		}
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		if args[0] == "redrive" {
			res, err := c.Redrive(ctx, *loop)
			if res.Found > 0 || err == nil {
				fmt.Fprintf(env.stdout, "%d messages in the DLQ, %d superseded (their names hold a result of a newer upload, which stays)\n", res.Found, res.Superseded)
			}
			if res.Method == "StartMessageMoveTask" {
				fmt.Fprintf(env.stdout, "started move task %s (SQS moves the messages in the background)\n", res.TaskHandle)
			} else {
				if res.Fallback != "" {
					fmt.Fprintf(env.stderr, "StartMessageMoveTask unavailable (%s); moving messages one by one\n", oneLine(res.Fallback, 120))
				}
				fmt.Fprintf(env.stdout, "redrive (%s): moved=%d duplicated=%d\n", res.Method, res.Moved, res.Duplicated)
			}
			return err
		}
		msgs, err := c.PeekDLQ(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(env.stdout)
			for _, m := range msgs {
				if err := enc.Encode(m); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRECEIVES\tSENT\tBATCH\tNAME\tOP")
		for _, m := range msgs {
			if m.Decoded != nil {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", m.ID, m.ReceiveCount, m.SentAt.Format(time.RFC3339), m.Decoded.Batch, quoteName(m.Decoded.Name), oneLine(m.Decoded.Op, 40))
			} else {
				fmt.Fprintf(tw, "%s\t%d\t%s\t-\t-\tundecodable: %s\n", m.ID, m.ReceiveCount, m.SentAt.Format(time.RFC3339), oneLine(m.Body, 40))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%d messages\n", len(msgs))
		return nil
	}
}
