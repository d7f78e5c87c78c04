package policy

// Invariants of the chunk path (terraform/modules/pipeline/chunks.tf): the
// chunk queue, its DLQ and alarm, and the mapping that feeds the splitter.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/pipeline/naming"
)

func checkChunks(c *Config) []string {
	var p problems
	m := c.Pipeline
	q := resource(&p, m, "aws_sqs_queue", "chunks")
	resource(&p, m, "aws_sqs_queue", "chunks_dlq")
	esm := resource(&p, m, "aws_lambda_event_source_mapping", "chunks")
	if q == nil || esm == nil {
		return p
	}
	for _, n := range []float64{5, 7} {
		e := env(&p, m, testWorkspace, map[string]cty.Value{"max_receive_count": num(n), "splitter_timeout_seconds": num(n * 100)})
		if e == nil {
			return p
		}
		// A chunk task that keeps failing ends in the chunk DLQ.
		s, err := e.EvalString(attr(q, "redrive_policy"), nil)
		var pol struct {
			DeadLetterTargetArn string
			MaxReceiveCount     json.Number
		}
		if err != nil || json.Unmarshal([]byte(s), &pol) != nil || pol.DeadLetterTargetArn != ph("aws_sqs_queue.chunks_dlq.arn") || pol.MaxReceiveCount.String() != valueString(num(n)) {
			p.add("the chunk queue's redrive_policy must send to aws_sqs_queue.chunks_dlq after var.max_receive_count receives (is %s, %v)", s, err)
		}
		// Its visibility timeout is derived from the splitter's timeout, as
		// the ops queue's is from compute's.
		if v, err := e.EvalNumber(attr(q, "visibility_timeout_seconds"), nil); err != nil || v != float64(local.VisibilityFactor)*n*100 {
			p.add("with splitter_timeout_seconds = %v the chunk queue's visibility timeout is %v: want %d x the splitter timeout (%v)", n*100, v, local.VisibilityFactor, err)
		}
	}
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	// Named by internal/pipeline/naming, as the twin names them.
	want := naming.For(testWorkspace, testAccount)
	for name, w := range map[string]string{"chunks": want.ChunkQueue, "chunks_dlq": want.ChunkDLQ} {
		if b := resource(&p, m, "aws_sqs_queue", name); b != nil {
			if got, err := e.EvalString(attr(b, "name"), nil); err != nil || got != w {
				p.add("aws_sqs_queue.%s is named %q, internal/pipeline/naming says %q (%v)", name, got, w, err)
			}
		}
	}
	if !refersTo(attr(esm, "event_source_arn"), "aws_sqs_queue.chunks") || !refersTo(attr(esm, "function_name"), "aws_lambda_function.splitter") {
		p.add("aws_lambda_event_source_mapping.chunks must feed the chunk queue to the splitter (is %s -> %s)", m.text(attr(esm, "event_source_arn")), m.text(attr(esm, "function_name")))
	}
	if bs, err := e.EvalNumber(attr(esm, "batch_size"), nil); err != nil || bs != local.DefaultChunkBatchSize {
		p.add("the chunk mapping's batch_size is %v, want %d (one chunk per invocation, as the twin) (%v)", bs, local.DefaultChunkBatchSize, err)
	}
	if types, err := e.EvalStrings(attr(esm, "function_response_types"), nil); err != nil || len(types) != 1 || types[0] != "ReportBatchItemFailures" {
		p.add("the chunk mapping must set function_response_types = [\"ReportBatchItemFailures\"] (is %v, %v)", types, err)
	}
	// The function gets the queue and the chunk size.
	if f := resource(&p, m, "aws_lambda_function", "splitter"); f != nil {
		vars := map[string]string{}
		for _, env := range nested(f, "environment") {
			v, err := e.Eval(attr(env, "variables"), nil)
			if err == nil && v.Type().IsObjectType() {
				for k, x := range v.AsValueMap() {
					vars[k] = valueString(x)
				}
			}
		}
		if !strings.Contains(vars["MEMO_CHUNK_QUEUE_URL"], "aws_sqs_queue.chunks.url") {
			p.add("the splitter's MEMO_CHUNK_QUEUE_URL is %q, want aws_sqs_queue.chunks.url", vars["MEMO_CHUNK_QUEUE_URL"])
		}
	}
	// An alarm watches the chunk DLQ.
	if !hasDepthAlarm(e, m, "aws_sqs_queue.chunks_dlq") {
		p.add("no alarm on ApproximateNumberOfMessagesVisible of aws_sqs_queue.chunks_dlq")
	}
	return p
}

// hasDepthAlarm reports whether an alarm of m watches the visible messages
// of the queue (a resource address such as aws_sqs_queue.chunks_dlq).
func hasDepthAlarm(e *Env, m *Module, queue string) bool {
	for _, b := range m.Blocks("resource", "aws_cloudwatch_metric_alarm") {
		dims, err := e.Eval(attr(b, "dimensions"), nil)
		metric, _ := e.EvalString(attr(b, "metric_name"), nil)
		if err == nil && metric == "ApproximateNumberOfMessagesVisible" && strings.Contains(valueString(dims), ph(queue+".name")) {
			return true
		}
	}
	return false
}

func TestChunkInvariants(t *testing.T) {
	for _, msg := range sortedProblems(checkChunks(mustConfig(t))) {
		t.Error(msg)
	}
}

// Each part of checkChunks can fail.
func TestChunkInvariantsCatchBreakage(t *testing.T) {
	files := readTerraform(t)
	const file = "modules/pipeline/chunks.tf"
	for why, edit := range map[string][2]string{
		"redrive to the ops DLQ":     {"aws_sqs_queue.chunks_dlq.arn", "aws_sqs_queue.dlq.arn"},
		"visibility typed":           {"6 * var.splitter_timeout_seconds", "1800"},
		"ten chunks per invocation":  {"batch_size              = 1", "batch_size              = 10"},
		"no partial batch responses": {`function_response_types = ["ReportBatchItemFailures"]`, ``},
		"mapping to compute":         {"function_name           = aws_lambda_function.splitter.arn", "function_name           = aws_lambda_function.compute.arn"},
		"queue misnamed":             {`name                       = "${local.prefix}-chunks"`, `name                       = "${local.prefix}-chunk"`},
		"alarm on the wrong queue":   {"dimensions          = { QueueName = aws_sqs_queue.chunks_dlq.name }", "dimensions          = { QueueName = aws_sqs_queue.chunks.name }"},
	} {
		src := string(files[file])
		if !strings.Contains(src, edit[0]) {
			t.Fatalf("%s: terraform/%s no longer contains %q", why, file, edit[0])
		}
		broken := map[string][]byte{}
		for k, v := range files {
			broken[k] = v
		}
		broken[file] = []byte(strings.Replace(src, edit[0], edit[1], 1))
		c, err := parseConfig(broken)
		if err != nil {
			t.Fatalf("%s: %v", why, err)
		}
		if len(checkChunks(c)) == 0 {
			t.Errorf("checkChunks did not notice: %s", why)
		}
	}
}
