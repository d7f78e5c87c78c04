// Package emf publishes memo's metrics in CloudWatch Embedded Metric Format:
// one JSON line per invocation on stdout, which Lambda's log pipeline turns
// into metrics in namespace "memo" with the dimensions "workspace" and
// "function" (one dimension set: CloudWatch keys a metric by its name and
// all its dimensions, so the splitter's Calls and Retries and compute's
// stay apart; "Specification: Embedded metric format", Amazon CloudWatch
// User Guide).
package emf

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/memohq/memo/internal/pipeline/compute"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Namespace is the CloudWatch namespace of memo's metrics.
const Namespace = "memo"

// Dimension names and the values of "function" (Terraform's dashboard and
// alarms use the same).
const (
	DimWorkspace     = "workspace"
	DimFunction      = "function"
	FunctionSplitter = "splitter"
	FunctionCompute  = "compute"
)

// Metric names (Terraform's dashboard and alarms use the same names).
const (
	OpsEnqueued = "OpsEnqueued"
	OpsRejected = "OpsRejected"
	OpsOK       = "OpsOk"
	OpsError    = "OpsError"
	// OpsTransient counts ops whose function failed transiently (their
	// messages are among BatchItemFailures).
	OpsTransient      = "OpsTransient"
	BatchItemFailures = "BatchItemFailures"
	Superseded        = "Superseded"
	Retries           = "Retries"
	Calls             = "Calls"
	// AlreadyStored counts writes refused because the name held this
	// upload's result, OpsSkipped the ops of redelivered messages not
	// computed again (compute.Counts), TallyFailures the invocations whose
	// counts did not reach the batches' counters.
	AlreadyStored = "AlreadyStored"
	OpsSkipped    = "OpsSkipped"
	TallyFailures = "TallyFailures"
	// ReportMirrorFailures counts the splitter's reports whose copy in the
	// batches table failed (batches.Reports: the report object stands).
	ReportMirrorFailures = "ReportMirrorFailures"
)

// Recorder writes EMF records to w.
type Recorder struct {
	mu        sync.Mutex
	w         io.Writer
	workspace string
	function  string
	now       func() time.Time
}

// New returns a Recorder for one function of one workspace.
func New(w io.Writer, workspace, function string) *Recorder {
	return &Recorder{w: w, workspace: workspace, function: function, now: time.Now}
}

// Emit writes one record with the given counts.
func (r *Recorder) Emit(counts map[string]int) error {
	if r == nil || r.w == nil {
		return nil
	}
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := map[string]any{}
	var ms []metric
	for name, v := range counts {
		ms = append(ms, metric{Name: name, Unit: "Count"})
		doc[name] = v
	}
	doc[DimWorkspace] = r.workspace
	doc[DimFunction] = r.function
	doc["_aws"] = map[string]any{
		"Timestamp": r.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{DimWorkspace, DimFunction}},
			"Metrics":    ms,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err = r.w.Write(append(b, '\n'))
	return err
}

var (
	_ splitter.Metrics = (*Recorder)(nil)
	_ compute.Metrics  = (*Recorder)(nil)
)

// Split implements splitter.Metrics.
func (r *Recorder) Split(c splitter.Counts) {
	_ = r.Emit(map[string]int{OpsEnqueued: c.Enqueued, OpsRejected: c.Rejected, Calls: c.SendCalls, Retries: c.Retries})
}

// Computed implements compute.Metrics.
func (r *Recorder) Computed(c compute.Counts) {
	_ = r.Emit(map[string]int{OpsOK: c.OK, OpsError: c.Error, OpsTransient: c.Transient, Superseded: c.Superseded,
		BatchItemFailures: c.ItemFailures, Calls: c.WriteCalls, Retries: c.Retries,
		AlreadyStored: c.AlreadyStored, OpsSkipped: c.Skipped, TallyFailures: c.TallyFailures})
}
