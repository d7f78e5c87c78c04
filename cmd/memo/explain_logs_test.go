package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/memohq/memo/internal/pipeline/record"
)

// fakeInsights answers a query with statuses, one a GetQueryResults call,
// then the rows; it records what it was asked.
type fakeInsights struct {
	startErr error
	statuses []types.QueryStatus
	rows     [][]types.ResultField
	started  *cloudwatchlogs.StartQueryInput
	polls    int
	stopped  bool
}

func (f *fakeInsights) StartQuery(_ context.Context, in *cloudwatchlogs.StartQueryInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	f.started = in
	if f.startErr != nil {
		return nil, f.startErr
	}
	return &cloudwatchlogs.StartQueryOutput{QueryId: aws.String("q-1")}, nil
}

func (f *fakeInsights) GetQueryResults(_ context.Context, in *cloudwatchlogs.GetQueryResultsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	if aws.ToString(in.QueryId) != "q-1" {
		return nil, errors.New("unknown query")
	}
	st := f.statuses[min(f.polls, len(f.statuses)-1)]
	f.polls++
	out := &cloudwatchlogs.GetQueryResultsOutput{Status: st}
	if st == types.QueryStatusComplete {
		out.Results = f.rows
	}
	return out, nil
}

func (f *fakeInsights) StopQuery(context.Context, *cloudwatchlogs.StopQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error) {
	f.stopped = true
	return &cloudwatchlogs.StopQueryOutput{}, nil
}

func row(ts, msg string) []types.ResultField {
	return []types.ResultField{{Field: aws.String("@timestamp"), Value: aws.String(ts)}, {Field: aws.String("@message"), Value: aws.String(msg)}, {Field: aws.String("@ptr"), Value: aws.String("p")}}
}

// memo explain's Logs Insights query: the op's name (and batch) as quoted
// strings, oldest first, bounded; the lines are the rows' @message once
// the query is complete.
func TestInsightsLines(t *testing.T) {
	f := &fakeInsights{
		statuses: []types.QueryStatus{types.QueryStatusScheduled, types.QueryStatusRunning, types.QueryStatusComplete},
		rows:     [][]types.ResultField{row("t1", `{"msg":"op failed","name":"a \"q\" \\ b"}`+"\n"), row("t2", `{"msg":"stored"}`)},
	}
	start, end := time.Unix(1000, 0), time.Unix(5000, 0)
	got, err := insightsLines(context.Background(), f, "/aws/lambda/memo-dev-compute", start, end, logQuery(`a "q" \ b`, "batches/x.json@v1"), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"msg":"op failed","name":"a \"q\" \\ b"}`, `{"msg":"stored"}`}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	wantQuery := `fields @timestamp, @message | filter name = "a \"q\" \\ b" and batch = "batches/x.json@v1" | sort @timestamp asc | limit 200`
	if diff := cmp.Diff(wantQuery, aws.ToString(f.started.QueryString)); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if g, s, e, l := aws.ToString(f.started.LogGroupName), aws.ToInt64(f.started.StartTime), aws.ToInt64(f.started.EndTime), aws.ToInt32(f.started.Limit); g != "/aws/lambda/memo-dev-compute" || s != 1000 || e != 5000 || l != 200 {
		t.Errorf("StartQuery(%s, %d..%d, limit %d)", g, s, e, l)
	}
	if f.polls != 3 {
		t.Errorf("%d polls, want 3", f.polls)
	}
	if q := logQuery("x", ""); q != `fields @timestamp, @message | filter name = "x" | sort @timestamp asc | limit 200` {
		t.Errorf("without a batch: %s", q)
	}
}

// A query that fails is an error; one the caller gives up on is stopped.
func TestInsightsLinesFailures(t *testing.T) {
	for _, st := range []types.QueryStatus{types.QueryStatusFailed, types.QueryStatusCancelled, types.QueryStatusTimeout} {
		f := &fakeInsights{statuses: []types.QueryStatus{types.QueryStatusRunning, st}}
		if _, err := insightsLines(context.Background(), f, "g", time.Now(), time.Now(), "q", time.Millisecond); err == nil || !strings.Contains(err.Error(), string(st)) {
			t.Errorf("%s: %v", st, err)
		}
	}
	f := &fakeInsights{statuses: []types.QueryStatus{types.QueryStatusRunning}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := insightsLines(ctx, f, "g", time.Now(), time.Now(), "q", time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || !f.stopped {
		t.Errorf("gave up: %v, stopped %v", err, f.stopped)
	}
}

// What memo explain says when it cannot read the lines: the permission it
// needs, or that the log group does not exist.
func TestLogsProblem(t *testing.T) {
	const group = "/aws/lambda/memo-dev-compute"
	for _, c := range []struct {
		err  error
		want string
	}{
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: x is not authorized"},
			"not allowed to query CloudWatch Logs: memo explain needs logs:StartQuery on " + group + " and logs:GetQueryResults (User: x is not authorized)"},
		{&types.ResourceNotFoundException{Message: aws.String("The specified log group does not exist.")},
			"no log group " + group + ": the compute function has not run in this workspace and region (or its logs go elsewhere)"},
		{errors.New("dial tcp: timeout"), "dial tcp: timeout"},
	} {
		f := &fakeInsights{startErr: c.err}
		_, err := insightsLines(context.Background(), f, group, time.Now(), time.Now(), "q", time.Millisecond)
		if got := logsProblem(group, err); got != c.want {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
	if g := computeLogGroup("dev"); g != group {
		t.Errorf("computeLogGroup(dev) = %s", g)
	}
}

// The window starts an hour before the earliest thing known of the op, and
// covers at least the last day.
func TestLogWindow(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		s    opStory
		want time.Time
	}{
		{opStory{}, now.Add(-24 * time.Hour)},
		{opStory{Result: &record.Result{ComputedAt: now.Add(-time.Hour)}}, now.Add(-24 * time.Hour)},
		{opStory{Result: &record.Result{ComputedAt: now.Add(-72 * time.Hour)}}, now.Add(-73 * time.Hour)},
		{opStory{Result: &record.Result{ComputedAt: now.Add(-30 * time.Hour)}, DLQ: []dlqCopy{{SentAt: now.Add(-50 * time.Hour)}}}, now.Add(-51 * time.Hour)},
	} {
		if got := logWindow(c.s, now); !got.Equal(c.want) {
			t.Errorf("%+v: %v, want %v", c.s, got, c.want)
		}
	}
}
