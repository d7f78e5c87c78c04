package e2e

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/random"
	"github.com/gruntwork-io/terratest/modules/retry"

	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/ops/workspace"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
)

// upload is one batch on its way through the pipeline.
type upload struct {
	c       *batchCase
	id      string // batch id: key@ETag
	at      time.Time
	settled time.Time
	rec     status.Reconciliation
}

// validate drives a deployed pipeline from outside, as a user would, and
// checks everything it produces. It is the same code for the twin and for
// AWS: it knows the deployment only by its names and URLs and reaches it
// with cfg.
func validate(t *testing.T, d Deployment, cfg aws.Config) {
	deadline := time.Now().Add(3 * d.Patience)
	reserve := max(time.Minute, d.TeardownReserve)
	if dl, ok := t.Deadline(); ok && dl.Add(-reserve).Before(deadline) {
		// Fail in time for the teardown to run: a go test timeout panics
		// past deferred calls (golang/go#44929).
		deadline = dl.Add(-reserve)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	c := workspace.New(cfg, d.Resources)
	res := d.Resources
	// A fresh folder per run: every batch id is new, so that nothing an
	// earlier run left in a kept deployment can pass for this run's work.
	run := strings.ToLower(random.UniqueId())
	prefix := naming.BatchPrefix + "e2e-" + run + "/"
	dir := t.TempDir()
	cases := []*batchCase{
		seedBatch(t, localtest.RepoRoot(t), prefix),
		mixedBatch(t, dir, prefix),
		unicodeKeyBatch(t, dir, prefix),
		brokenBatch(t, dir, prefix),
		loadBatch(t, dir, prefix),
	}
	poll := max(d.Patience/240, time.Second)

	// The undecodable message goes first, so that its redelivery cycles
	// overlap the batches.
	poison := "memo e2e run " + run + ": not an op message {"
	sent, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(res.QueueURL), MessageBody: aws.String(poison)})
	if err != nil {
		t.Fatalf("sending to the ops queue %s: %v", res.QueueURL, err)
	}
	logger.Default.Logf(t, "sent an undecodable message (%s) to %s", aws.ToString(sent.MessageId), res.QueueURL)

	var ups []*upload
	for _, bc := range cases {
		up, err := c.Objects.UploadFile(ctx, res.Bucket, bc.key, bc.file)
		if err != nil {
			t.Fatalf("uploading %s to s3://%s/%s: %v", bc.file, res.Bucket, bc.key, err)
		}
		if up.Key != bc.key {
			t.Fatalf("uploaded %q, S3 answered for %q", bc.key, up.Key)
		}
		ups = append(ups, &upload{c: bc, id: naming.BatchID(up.Key, naming.UploadTag(up.VersionID, up.ETag)), at: time.Now()})
		logger.Default.Logf(t, "uploaded %s (%d ops) as s3://%s/%s", bc.label, bc.total(), res.Bucket, bc.key)
	}

	// Until every op of every batch is accounted for, by the reconciliation
	// memo status prints. Batches are reconciled one after another: each
	// reconciliation peeks at the DLQ, and two peeks at once hide messages
	// from each other. Ops still missing once every such batch is split and
	// the ops queue has stayed empty for two visibility timeouts are lost:
	// that fails at once rather than at the end of the patience.
	var idleSince time.Time
	_, err = retry.DoWithRetryContextE(t, ctx, "every op of every batch accounted for", int(d.Patience/poll), poll, func() (string, error) {
		var waiting []string
		split := true
		for _, u := range ups {
			if !u.settled.IsZero() {
				continue
			}
			r, err := status.Reconcile(ctx, c, u.id)
			if err != nil {
				return "", err
			}
			u.rec = r
			if r.Settled() {
				u.settled = time.Now()
				continue
			}
			waiting = append(waiting, u.c.label+": "+describe(r))
			split = split && r.Report != nil && r.Report.Status == record.ReportSplit
		}
		if len(waiting) == 0 {
			return "settled", nil
		}
		err := fmt.Errorf("%d of %d batches not settled: %s", len(waiting), len(ups), strings.Join(waiting, "; "))
		v, f, qerr := c.QueueDepth(ctx, res.QueueURL)
		switch {
		case qerr != nil || !split || v+f > 0:
			idleSince = time.Time{}
		case idleSince.IsZero():
			idleSince = time.Now()
		case time.Since(idleSince) > 2*d.VisibilityTimeout:
			return "", retry.FatalError{Underlying: fmt.Errorf("ops lost: the ops queue has been empty for %v; %w", time.Since(idleSince).Round(time.Second), err)}
		}
		return "", err
	})
	if err != nil {
		// A context of its own: ctx may be what ended the wait.
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		v, f, _ := c.QueueDepth(dctx, res.QueueURL)
		dv, df, _ := c.QueueDepth(dctx, res.DLQURL)
		t.Fatalf("%v\nops queue: %d visible, %d in flight; DLQ: %d visible, %d in flight%s", err, v, f, dv, df, missing(dctx, c, ups))
	}
	logThroughput(t, ups)

	for _, u := range ups {
		checkBatch(t, ctx, c, u)
	}
	checkDLQ(t, ctx, c, d, poison, ups)
	checkNothingEnqueued(t, ctx, c, d, ups)
}

// missing names the ops of unsettled batches that have no result.
func missing(ctx context.Context, c *workspace.Client, ups []*upload) string {
	var b strings.Builder
	for _, u := range ups {
		if !u.settled.IsZero() || len(u.c.ops) == 0 {
			continue
		}
		got, err := c.Table.Get(ctx, u.c.names())
		if err != nil {
			fmt.Fprintf(&b, "\n%s: reading results: %v", u.c.label, err)
			continue
		}
		var absent []string
		for _, n := range u.c.names() {
			if r, ok := got[n]; !ok || r.Batch != u.id {
				absent = append(absent, n)
			}
		}
		slices.Sort(absent)
		if len(absent) > 10 {
			absent = append(absent[:10], fmt.Sprintf("... (%d in all)", len(absent)))
		}
		fmt.Fprintf(&b, "\n%s: no result for %s", u.c.label, strings.Join(absent, ", "))
	}
	return b.String()
}

func describe(r status.Reconciliation) string {
	if r.Report == nil {
		return "no report yet"
	}
	return fmt.Sprintf("report %s, %s", r.Report.Status, r.Line())
}

// logThroughput reports end-to-end throughput: from the upload of a batch
// to the poll that found its last op stored.
func logThroughput(t *testing.T, ups []*upload) {
	first, last, ops := ups[0].at, ups[0].settled, 0
	for _, u := range ups {
		ops += len(u.c.ops)
		if u.settled.After(last) {
			last = u.settled
		}
		el := u.settled.Sub(u.at)
		logger.Default.Logf(t, "%s: %s settled %v after its upload", u.c.label, u.rec.Line(), el.Round(time.Millisecond))
		if u.c.label == "load" {
			logger.Default.Logf(t, "throughput: %d ops of %s in %v: %.0f ops/s end to end (from the upload to the reconciliation that found every op stored)",
				len(u.c.ops), u.c.key, el.Round(time.Millisecond), float64(len(u.c.ops))/el.Seconds())
		}
	}
	el := last.Sub(first)
	logger.Default.Logf(t, "throughput: all %d batches, %d ops enqueued, in %v: %.0f ops/s", len(ups), ops, el.Round(time.Millisecond), float64(ops)/el.Seconds())
}

// checkBatch asserts a settled batch's report, reconciliation and every
// result.
func checkBatch(t *testing.T, ctx context.Context, c *workspace.Client, u *upload) {
	t.Helper()
	bc, r := u.c, u.rec
	rep := r.Report
	errs := &capped{t: t, label: bc.label}
	if rep.Batch != u.id || rep.Bucket != c.Res.Bucket || rep.Key != bc.key {
		errs.add("report names batch %q, s3://%s/%q; want %q, s3://%s/%q", rep.Batch, rep.Bucket, rep.Key, u.id, c.Res.Bucket, bc.key)
	}
	if rep.StartedAt.IsZero() || rep.FinishedAt.Before(rep.StartedAt) {
		errs.add("report times: started %v, finished %v", rep.StartedAt, rep.FinishedAt)
	}
	if bc.brokenAt != nil {
		if rep.Status != record.ReportRejected || rep.Offset == nil || *rep.Offset != *bc.brokenAt {
			errs.add("report: status %s, offset %v (error %q); want rejected at byte %d", rep.Status, deref(rep.Offset), rep.Error, *bc.brokenAt)
		}
		if rep.Totals != (record.Totals{}) || len(rep.Rejections) != 0 || r.OK+r.Error+r.DLQ+r.Lost != 0 {
			errs.add("a rejected file enqueued or counted ops: totals %+v, %s", rep.Totals, r.Line())
		}
		errs.done()
		return
	}
	wantOK, wantErr := 0, 0
	for _, o := range bc.ops {
		if o.want.value != nil {
			wantOK++
		} else {
			wantErr++
		}
	}
	if rep.Status != record.ReportSplit || rep.Error != "" {
		errs.add("report status %s (%q), want split", rep.Status, rep.Error)
	}
	if want := (record.Totals{Ops: bc.total(), Enqueued: len(bc.ops), Rejected: len(bc.rejections)}); rep.Totals != want {
		errs.add("report totals %+v, want %+v", rep.Totals, want)
	}
	if rep.RejectionsTruncated || !reflect.DeepEqual(nonNil(rep.Rejections), nonNil(bc.rejections)) {
		errs.add("report rejections (truncated %v):\n%s\nwant:\n%s", rep.RejectionsTruncated, rejectionLines(rep.Rejections), rejectionLines(bc.rejections))
	}
	if r.Total != bc.total() || r.OK != wantOK || r.Error != wantErr || r.Rejected != len(bc.rejections) || r.Superseded != 0 || r.DLQ != 0 || r.Lost != 0 {
		errs.add("reconciliation %s; want total=%d ok=%d error=%d rejected=%d superseded=0 dlq=0 lost=0", r.Line(), bc.total(), wantOK, wantErr, len(bc.rejections))
	}

	got, err := c.Table.Get(ctx, bc.names())
	if err != nil {
		t.Fatalf("%s: reading results: %v", bc.label, err)
	}
	for name, w := range bc.ops {
		res, found := got[name]
		switch {
		case !found:
			errs.add("%q: no result", name)
		case res.Name != name || res.Op != w.op || res.Batch != u.id || res.ComputedAt.IsZero():
			errs.add("%q: result %+v; want op %q of batch %q", name, res, w.op, u.id)
		case w.want.value != nil && (res.Status != record.StatusOK || res.Value == nil || !res.Value.Equal(*w.want.value)):
			errs.add("%q = %s: status %s, value %s, error %q; want %s", name, w.op, res.Status, valueText(res.Value), res.Error, w.want.value)
		case w.want.value == nil && (res.Status != record.StatusError || res.Value != nil || !strings.Contains(res.Error, w.want.errHas)):
			errs.add("%q = %s: status %s, value %s, error %q; want an error containing %q", name, w.op, res.Status, valueText(res.Value), res.Error, w.want.errHas)
		}
	}
	errs.done()
	if !t.Failed() {
		logger.Default.Logf(t, "%s: report, %d results and %d rejections as expected", bc.label, len(bc.ops), len(bc.rejections))
	}
}

// checkDLQ waits for the undecodable message to be redriven to the DLQ,
// and checks that no op of this run is there.
func checkDLQ(t *testing.T, ctx context.Context, c *workspace.Client, d Deployment, poison string, ups []*upload) {
	t.Helper()
	ids := map[string]string{}
	for _, u := range ups {
		ids[u.id] = u.c.label
	}
	// Each receive hides the message for a visibility timeout; after
	// MaxReceiveCount receives the next one moves it.
	patience := time.Duration(d.MaxReceiveCount+2)*d.VisibilityTimeout + 2*time.Minute
	poll := 2 * time.Second
	var found workspace.DLQMessage
	_, err := retry.DoWithRetryContextE(t, ctx, "the undecodable message in the DLQ", int(patience/poll), poll, func() (string, error) {
		msgs, err := c.PeekDLQ(ctx)
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			if m.Decoded != nil && ids[m.Decoded.Batch] != "" {
				return "", retry.FatalError{Underlying: fmt.Errorf("op %q of batch %s is in the DLQ", m.Decoded.Ops[0].Name, ids[m.Decoded.Batch])}
			}
			if m.Body == poison {
				found = m
			}
		}
		if found.ID == "" {
			return "", fmt.Errorf("not in the DLQ yet (%d other messages there)", len(msgs))
		}
		return "found", nil
	})
	if err != nil {
		t.Fatalf("DLQ: %v", err)
	}
	if found.Decoded != nil || found.DecodeError == "" || found.ReceiveCount < d.MaxReceiveCount {
		t.Errorf("DLQ message %+v: want an undecodable message received at least %d times", found, d.MaxReceiveCount)
	} else {
		logger.Default.Logf(t, "the undecodable message reached the DLQ after %d receives (%s)", found.ReceiveCount, found.DecodeError)
	}
}

// checkNothingEnqueued waits until the ops queue is empty, then checks that
// no op of the broken file was ever computed.
func checkNothingEnqueued(t *testing.T, ctx context.Context, c *workspace.Client, d Deployment, ups []*upload) {
	t.Helper()
	poll := max(d.Patience/240, time.Second)
	_, err := retry.DoWithRetryContextE(t, ctx, "the ops queue empty", int(d.Patience/poll), poll, func() (string, error) {
		v, f, err := c.QueueDepth(ctx, c.Res.QueueURL)
		if err != nil {
			return "", err
		}
		if v+f > 0 {
			return "", fmt.Errorf("%d visible, %d in flight", v, f)
		}
		return "empty", nil
	})
	if err != nil {
		t.Fatalf("ops queue: %v", err)
	}
	for _, u := range ups {
		if len(u.c.absentNames) == 0 {
			continue
		}
		got, err := c.Table.Get(ctx, u.c.absentNames)
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range got {
			if r.Batch == u.id {
				t.Errorf("%s: %q of a rejected file was computed: %+v", u.c.label, name, r)
			}
		}
	}
}

// capped collects a case's mismatches and reports the first few (a broken
// evaluator would otherwise print one line per op of the load batch).
type capped struct {
	t     *testing.T
	label string
	n     int
}

const maxReported = 15

func (e *capped) add(format string, args ...any) {
	e.t.Helper()
	e.n++
	if e.n <= maxReported {
		e.t.Errorf("%s: "+format, append([]any{e.label}, args...)...)
	}
}

func (e *capped) done() {
	e.t.Helper()
	if e.n > maxReported {
		e.t.Errorf("%s: %d more mismatches not shown (%d in all)", e.label, e.n-maxReported, e.n)
	}
}

func nonNil(r []record.Rejection) []record.Rejection {
	if r == nil {
		return []record.Rejection{}
	}
	return r
}

func rejectionLines(rs []record.Rejection) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  #%d %q: %s\n", r.Index, r.Name, r.Reason)
	}
	return b.String()
}

func valueText(v *record.Value) string {
	if v == nil {
		return "none"
	}
	return v.String()
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
