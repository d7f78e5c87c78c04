package main

// memo explain on AWS: the compute function's log lines about one op, from
// CloudWatch Logs Insights. Every line the compute service logs about an
// op carries its "name" and "batch" fields (compute/run.go); Lambda sends
// the function's stdout to its log group, /aws/lambda/memo-<ws>-compute
// (terraform/modules/pipeline/functions.tf).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// insightsAPI is the part of CloudWatch Logs memo explain uses.
type insightsAPI interface {
	StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error)
	GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error)
	StopQuery(ctx context.Context, in *cloudwatchlogs.StopQueryInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error)
}

var _ insightsAPI = (*cloudwatchlogs.Client)(nil)

// maxLogLines is the most lines memo explain asks Logs Insights for.
const maxLogLines = 200

// computeLogGroup is the compute function's log group in workspace ws.
func computeLogGroup(ws string) string { return "/aws/lambda/" + naming.For(ws, "").Compute }

// logQuery is the Logs Insights query of the lines about the op name, of
// the batch if batch is set, oldest first. The query syntax's
// documentation does not spell out a string literal's escapes: memo puts a
// backslash before a quote and a backslash (names hold no control
// characters: the splitter rejects them), unverified against AWS.
func logQuery(name, batch string) string {
	q := `fields @timestamp, @message | filter name = ` + insightsString(name)
	if batch != "" {
		q += ` and batch = ` + insightsString(batch)
	}
	return q + fmt.Sprintf(" | sort @timestamp asc | limit %d", maxLogLines)
}

func insightsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// insightsLines runs query over group's events from start to end and
// returns each row's @message, in the query's order. It polls every poll
// until the query is Complete; a query that fails, is cancelled or times
// out is an error, and one this call gives up on (ctx) is stopped.
// Logs Insights reads what has been ingested when it runs: a line logged
// seconds ago may be missing ("Analyzing log data with CloudWatch Logs
// Insights", CloudWatch Logs User Guide).
func insightsLines(ctx context.Context, api insightsAPI, group string, start, end time.Time, query string, poll time.Duration) ([]string, error) {
	started, err := api.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String(group),
		StartTime:    aws.Int64(start.Unix()),
		EndTime:      aws.Int64(end.Unix()),
		QueryString:  aws.String(query),
		Limit:        aws.Int32(maxLogLines),
	})
	if err != nil {
		return nil, err
	}
	for {
		out, err := api.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: started.QueryId})
		if err != nil {
			return nil, err
		}
		switch out.Status {
		case types.QueryStatusComplete:
			var lines []string
			for _, row := range out.Results {
				for _, f := range row {
					if aws.ToString(f.Field) == "@message" {
						lines = append(lines, strings.TrimRight(aws.ToString(f.Value), "\n"))
					}
				}
			}
			return lines, nil
		case types.QueryStatusScheduled, types.QueryStatusRunning:
		default:
			return nil, fmt.Errorf("the Logs Insights query ended %s", out.Status)
		}
		select {
		case <-ctx.Done():
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			api.StopQuery(stopCtx, &cloudwatchlogs.StopQueryInput{QueryId: started.QueryId})
			cancel()
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// logsProblem says why the log lines could not be read, and what to do.
func logsProblem(group string, err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDeniedException":
			return fmt.Sprintf("not allowed to query CloudWatch Logs: memo explain needs logs:StartQuery on %s and logs:GetQueryResults (%s)", group, api.ErrorMessage())
		case "ResourceNotFoundException":
			return fmt.Sprintf("no log group %s: the compute function has not run in this workspace and region (or its logs go elsewhere)", group)
		}
	}
	return err.Error()
}

// logWindow is the time Logs Insights searches: from an hour before the
// earliest thing memo knows of the op (its result, its DLQ messages), and
// at least the last day, to now. A narrow window is a cheap query: Logs
// Insights charges by the bytes it scans.
func logWindow(s opStory, now time.Time) time.Time {
	start := now.Add(-24 * time.Hour)
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Add(-time.Hour).Before(start) {
			start = t.Add(-time.Hour)
		}
	}
	if s.Result != nil {
		earlier(s.Result.ComputedAt)
	}
	for _, d := range s.DLQ {
		earlier(d.SentAt)
	}
	return start
}
