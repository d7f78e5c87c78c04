package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memohq/memo/internal/ops/workspace"
)

func init() {
	register(&command{
		name:    "dlq",
		summary: "list the dead-letter queues, or redrive their messages to their queues",
		usage:   "list|redrive [--queue ops|chunks|split-failures] [--json] [--loop] [target flags]",
		help: `memo dlq list shows each message of a queue where failed work waits
(--queue, default ops):
  ops             memo-<ws>-ops-dlq: messages of ops packed several to a
                  message, one line per op with its batch, name and op;
  chunks          memo-<ws>-chunks-dlq: chunk tasks, with their batch, chunk
                  index, ops and byte range (read from the batch's plan);
  split-failures  memo-<ws>-split-failures: Lambda's records of splits that
                  failed after its retries, with the batch (key@ETag of the
                  S3 event), the error, the time and the invoke count.
Each line has the message id, receive count and send time; a body that
cannot be decoded is shown as such.

memo dlq redrive moves the messages back to the ops queue (--queue ops) or
the chunk queue (--queue chunks), with SQS's StartMessageMoveTask where the
endpoint supports it and otherwise (or with --loop) by receiving, sending and
then deleting each message, so that none is lost; a message whose deletion
fails after its copy was sent is counted as duplicated (its ops or chunk are
run twice, to the same result). For the ops DLQ it counts the ops of the
redriven messages and says how many are superseded: their name holds a result of a newer
upload, so compute leaves that result alone (of two uploads that contain
the same op name, the one S3 accepted later wins), and memo status counts
those ops of their batch as superseded. The split-failures records are
resumed with memo resume, which invokes the splitter again.

Examples:
  memo dlq list --workspace dev
  memo dlq list --queue split-failures --workspace dev
  memo dlq redrive --endpoint http://127.0.0.1:PORT
  memo dlq redrive --queue chunks --workspace dev`,
		declare: declareDLQ,
	})
}

func declareDLQ(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	queue := fs.String("queue", string(workspace.QueueOps), "the queue: ops (the ops DLQ), chunks (the chunk DLQ) or split-failures")
	asJSON := fs.Bool("json", false, "list: one JSON object per message")
	loop := fs.Bool("loop", false, "redrive: use the receive-send-delete loop even where StartMessageMoveTask exists")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 || (args[0] != "list" && args[0] != "redrive") {
			return usageErr("want 'list' or 'redrive'")
		}
		q, err := workspace.ParseQueue(*queue)
		if err != nil {
			return usageErr("--queue: %v", err)
		}
		if args[0] == "redrive" && q == workspace.QueueSplitFailures {
			return usageErr("--queue split-failures: its records are not redriven to a queue; resume them with memo resume BATCH_ID (or --all)")
		}
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		if args[0] == "redrive" {
			return redrive(ctx, env, c, q, *loop)
		}
		msgs, err := c.Peek(ctx, q)
		var partial *workspace.PartialPeekError
		if err != nil && !errors.As(err, &partial) {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(env.stdout)
			for _, m := range msgs {
				if err := enc.Encode(m); err != nil {
					return err
				}
			}
		} else if err := printQueue(env.stdout, q, msgs); err != nil {
			return err
		}
		if partial != nil {
			fmt.Fprintf(env.stderr, "memo: only part of the queue was listed: %v\n", partial)
		}
		return nil
	}
}

func redrive(ctx context.Context, env *cli, c *workspace.Client, q workspace.Queue, loop bool) error {
	res, err := c.RedriveQueue(ctx, q, loop)
	if res.Found > 0 || err == nil {
		if q == workspace.QueueOps {
			fmt.Fprintf(env.stdout, "%d ops in the DLQ, %d superseded (their names hold a result of a newer upload, which stays)\n", res.Found, res.Superseded)
		} else {
			fmt.Fprintf(env.stdout, "%d chunk tasks in the chunk DLQ\n", res.Found)
		}
	}
	if res.Method == "StartMessageMoveTask" {
		fmt.Fprintf(env.stdout, "started move task %s (SQS moves the messages in the background)\n", res.TaskHandle)
	} else {
		if res.Fallback != "" {
			fmt.Fprintf(env.stderr, "StartMessageMoveTask unavailable (%s); moving messages one by one\n", oneLine(res.Fallback, 120))
		}
		fmt.Fprintf(env.stdout, "redrive (%s): moved=%d duplicated=%d messages\n", res.Method, res.Moved, res.Duplicated)
	}
	return err
}

// printQueue prints the messages of queue q as a table, then their count:
// the ops DLQ one line per op (a message carries a pack of ops).
func printQueue(w io.Writer, q workspace.Queue, msgs []workspace.DLQMessage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch q {
	case workspace.QueueChunks:
		fmt.Fprintln(tw, "ID\tRECEIVES\tSENT\tBATCH\tCHUNK\tOPS\tBYTES")
	case workspace.QueueSplitFailures:
		fmt.Fprintln(tw, "ID\tRECEIVES\tSENT\tBATCH\tFAILED\tINVOKES\tERROR")
	default:
		fmt.Fprintln(tw, "ID\tRECEIVES\tSENT\tBATCH\tNAME\tOP")
	}
	for _, m := range msgs {
		head := fmt.Sprintf("%s\t%d\t%s", m.ID, m.ReceiveCount, m.SentAt.Format(time.RFC3339))
		switch {
		case m.Decoded != nil:
			for _, op := range m.Decoded.Ops {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", head, m.Decoded.Batch, quoteName(op.Name), oneLine(op.Op, 40))
			}
		case m.Chunk != nil:
			ops, bytes := "?", "plan unreadable: "+oneLine(m.Chunk.PlanError, 60)
			if m.Chunk.PlanError == "" {
				ops, bytes = fmt.Sprint(m.Chunk.Ops), fmt.Sprintf("%d-%d", m.Chunk.Offset, m.Chunk.Offset+m.Chunk.Length-1)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", head, m.Chunk.Batch, m.Chunk.Chunk, ops, bytes)
		case m.SplitFailure != nil:
			f := m.SplitFailure
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", head, strings.Join(f.Batches, ","), f.Timestamp.Format(time.RFC3339), f.InvokeCount,
				oneLine(strings.TrimPrefix(f.ErrorType+": "+f.ErrorMessage, ": "), 120))
		default:
			dashes := "-\t-"
			if q != workspace.QueueOps {
				dashes = "-\t-\t-"
			}
			fmt.Fprintf(tw, "%s\t%s\tundecodable: %s\n", head, dashes, oneLine(m.Body, 40))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if q == workspace.QueueOps {
		ops := 0
		for _, m := range msgs {
			ops += m.OpCount()
		}
		fmt.Fprintf(w, "%d ops in %d messages\n", ops, len(msgs))
		return nil
	}
	fmt.Fprintf(w, "%d messages\n", len(msgs))
	return nil
}
