// Package emf publishes memo's metrics in CloudWatch Embedded Metric Format:
// one JSON line per invocation on stdout, which Lambda's log pipeline turns
// into metrics in namespace "memo" with the dimension "workspace".
package emf

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/memohq/memo/internal/pipeline/record"
)

// Namespace is the CloudWatch namespace of memo's metrics.
const Namespace = "memo"

// Metric names (Terraform's dashboard and alarms use the same names).
const (
	OpsEnqueued       = "OpsEnqueued"
	OpsRejected       = "OpsRejected"
	OpsOK             = "OpsOk"
	OpsError          = "OpsError"
	BatchItemFailures = "BatchItemFailures"
	Retries           = "Retries"
	Calls             = "Calls"
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
	doc["workspace"] = r.workspace
	doc["function"] = r.function
	doc["_aws"] = map[string]any{
		"Timestamp": r.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"workspace"}},
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

// Split implements splitter.Metrics.
func (r *Recorder) Split(rep record.Report, sendCalls, retries int) {
	_ = r.Emit(map[string]int{OpsEnqueued: rep.Totals.Enqueued, OpsRejected: rep.Totals.Rejected, Calls: sendCalls, Retries: retries})
}

// Computed implements compute.Metrics.
func (r *Recorder) Computed(ok, failed, itemFailures, writeCalls, retries int) {
	_ = r.Emit(map[string]int{OpsOK: ok, OpsError: failed, BatchItemFailures: itemFailures, Calls: writeCalls, Retries: retries})
}
