package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/record"
)

func init() {
	register(&command{
		name:    "explain",
		summary: "one op's story: its stored result or error, the batch that won, copies in the DLQ, its log lines",
		usage:   "[--batch ID] [--log FILE] [target flags] NAME",
		help: `memo explain tells what happened to one op name: the result stored for it
(ok with its value, or error with the reason) and the batch (upload) it came
from; with --batch ID, whether that batch's result was stored or superseded
by a newer upload's; the messages naming it that wait in the ops DLQ (and
whether a newer upload's result already superseded them); and, with --log
FILE (the twin's memo local --log), the log lines that carry its name.

Examples:
  memo explain --endpoint http://127.0.0.1:PORT --log twin.log img_0001
  memo explain --workspace dev --batch 'batches/work.json@c3cd268ba3e4bc47df81415117b92055' 1_plus_1

On AWS, without --log, memo explain reads the compute function's log lines
from CloudWatch Logs Insights (its log group /aws/lambda/memo-<workspace>-compute;
every line about an op carries "name" and "batch"), at most 200, from an
hour before the earliest thing known of the op (and at least the last day)
to now, with the query
  fields @timestamp, @message | filter name = "img_0001" | sort @timestamp asc
(and batch = "ID" with --batch). It needs logs:StartQuery on the log group
and logs:GetQueryResults; without them, or without the log group, it says
so and tells the rest. Logs Insights bills the bytes it scans, and a line
logged seconds ago may not be searchable yet. The twin has no CloudWatch
Logs: give --log. Exit code 1 when nothing at all is known of the name.`,
		declare: declareExplain,
	})
}

func declareExplain(fs *flag.FlagSet, env *cli) func(context.Context, []string) error {
	t := targetFlags(fs, env)
	batch := fs.String("batch", "", "also say whether this batch's result for the name was stored or superseded")
	logFile := fs.String("log", "", "print the lines of this JSON log (memo local --log) that carry the name")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usageErr("give one op name")
		}
		name := args[0]
		c, err := t.connect(ctx)
		if err != nil {
			return err
		}
		var lines []string
		if *logFile != "" {
			if lines, err = logLines(*logFile, name); err != nil {
				return err
			}
		}
		story, err := explain(ctx, c, name, *batch)
		if err != nil {
			return err
		}
		story.Logs = lines
		switch {
		case *logFile != "":
			story.LogSource = *logFile
		case t.endpoint != "":
			story.LogProblem = "the twin has no CloudWatch Logs: give --log FILE (memo local --log FILE keeps its functions' lines)"
		default:
			group := computeLogGroup(c.Res.Workspace)
			now := time.Now()
			since := logWindow(story, now)
			story.LogSource = fmt.Sprintf("CloudWatch Logs Insights, %s, since %s", group, since.UTC().Format(time.RFC3339))
			lines, err := insightsLines(ctx, cloudwatchlogs.NewFromConfig(t.cfg), group, since, now, logQuery(name, *batch), time.Second)
			if err != nil {
				story.LogProblem = "cannot read the log lines: " + logsProblem(group, err)
			} else {
				story.Logs = append([]string{}, lines...)
			}
		}
		lines = story.Logs
		story.print(env.stdout)
		if story.Result == nil && len(story.DLQ) == 0 && len(lines) == 0 {
			return fmt.Errorf("nothing is known of %q: no result, no DLQ message, no log line", name)
		}
		return nil
	}
}

// opStory is what memo knows of one op name.
type opStory struct {
	Name   string
	Result *record.Result
	// Asked is the --batch batch and what became of its result: "stored",
	// "superseded" (a newer upload's result holds the name) or "pending".
	Asked, AskedFate string
	DLQ              []dlqCopy
	Logs             []string
	// LogSource says where Logs come from; LogProblem why there are none.
	LogSource, LogProblem string
}

type dlqCopy struct {
	Batch      string
	Receives   int
	SentAt     time.Time
	Superseded bool // the stored result is of a newer upload
	// Stored: the stored result is this copy's upload's; the message
	// (a pack of ops) waits for its other ops.
	Stored bool
}

func explain(ctx context.Context, c *workspace.Client, name, batch string) (opStory, error) {
	s := opStory{Name: name, Asked: batch}
	got, err := c.Stored(ctx, []string{name})
	if err != nil {
		return s, err
	}
	if r, ok := got[name]; ok {
		s.Result = &r
	}
	newer := func(b string, stamp record.Stamp) bool {
		return s.Result != nil && s.Result.Batch != b && stamp != "" && s.Result.Stamp > stamp
	}
	if batch != "" {
		rep, found, err := c.Report(ctx, batch)
		if err != nil {
			return s, err
		}
		switch {
		case s.Result != nil && s.Result.Batch == batch:
			s.AskedFate = "stored"
		case found && newer(batch, rep.Stamp):
			s.AskedFate = "superseded by " + s.Result.Batch
		default:
			s.AskedFate = "not stored (yet): see memo status " + batch
		}
	}
	msgs, err := c.PeekDLQ(ctx)
	if err != nil {
		return s, err
	}
	for _, m := range msgs {
		if m.Decoded == nil {
			continue
		}
		for _, op := range m.Decoded.Ops {
			if op.Name == name {
				s.DLQ = append(s.DLQ, dlqCopy{Batch: m.Decoded.Batch, Receives: m.ReceiveCount, SentAt: m.SentAt,
					Superseded: newer(m.Decoded.Batch, m.Decoded.Stamp),
					Stored:     s.Result != nil && s.Result.Batch == m.Decoded.Batch && s.Result.Stamp == m.Decoded.Stamp})
			}
		}
	}
	return s, nil
}

func (s opStory) print(w io.Writer) {
	fmt.Fprintf(w, "op %s\n", quoteName(s.Name))
	switch r := s.Result; {
	case r == nil:
		fmt.Fprintln(w, "result: none stored")
	case r.Status == record.StatusOK && r.Value != nil:
		fmt.Fprintf(w, "result: ok %s\n  batch %s (computed %s)\n", r.Value, r.Batch, r.ComputedAt.Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "result: error: %s\n  batch %s (computed %s)\n", r.Error, r.Batch, r.ComputedAt.Format(time.RFC3339))
	}
	if s.Asked != "" {
		fmt.Fprintf(w, "batch %s: %s\n", s.Asked, s.AskedFate)
	}
	if len(s.DLQ) == 0 {
		fmt.Fprintln(w, "dlq: no message names it")
	}
	for _, d := range s.DLQ {
		note := "waits for a redrive (memo dlq redrive)"
		switch {
		case d.Superseded:
			note = "superseded: a newer upload's result is stored"
		case d.Stored:
			note = "its result is stored; the message carries other ops of the batch, which wait for a redrive"
		}
		fmt.Fprintf(w, "dlq: batch %s, received %d times, sent %s: %s\n", d.Batch, d.Receives, d.SentAt.Format(time.RFC3339), note)
	}
	if s.LogProblem != "" {
		fmt.Fprintf(w, "log: %s\n", s.LogProblem)
	}
	if s.Logs != nil {
		fmt.Fprintf(w, "log: %d lines (%s)\n", len(s.Logs), s.LogSource)
		for _, l := range s.Logs {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

// logLines returns the JSON log lines whose "name" is name.
func logLines(path, name string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--log: %v", err)
	}
	defer f.Close()
	out := []string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		var l struct {
			Name *string `json:"name"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Name != nil && *l.Name == name {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}
