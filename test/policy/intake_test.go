package policy

// Invariants of durable intake (terraform/modules/pipeline/intake.tf): an
// S3 event whose split keeps failing is recorded, not dropped.

import (
	"strings"
	"testing"

	"github.com/memohq/memo/internal/pipeline/naming"
)

func checkIntake(c *Config) []string {
	var p problems
	m := c.Pipeline
	q := resource(&p, m, "aws_sqs_queue", "split_failures")
	ic := resource(&p, m, "aws_lambda_function_event_invoke_config", "splitter")
	e := env(&p, m, testWorkspace, nil)
	if q == nil || ic == nil || e == nil {
		return p
	}
	if name, err := e.EvalString(attr(q, "name"), nil); err != nil || name != naming.Prefix+"-"+testWorkspace+"-split-failures" {
		p.add("aws_sqs_queue.split_failures is named %q (%v)", name, err)
	}
	// A record waits as long as a DLQ's messages: 14 days.
	if r, err := e.EvalNumber(attr(q, "message_retention_seconds"), nil); err != nil || r != 1209600 {
		p.add("the split-failures queue keeps records %v s, want 1209600 (14 days) (%v)", r, err)
	}
	if !refersTo(attr(ic, "function_name"), "aws_lambda_function.splitter") {
		p.add("the event invoke config is not the splitter's (%s)", m.text(attr(ic, "function_name")))
	}
	dest := ""
	for _, dc := range nested(ic, "destination_config") {
		for _, of := range nested(dc, "on_failure") {
			dest, _ = e.EvalString(attr(of, "destination"), nil)
		}
	}
	if dest != ph("aws_sqs_queue.split_failures.arn") {
		p.add("the splitter's asynchronous invocations have no on-failure destination on the split-failures queue (is %q): a failed split would be dropped", dest)
	}
	if !hasDepthAlarm(e, m, "aws_sqs_queue.split_failures") {
		p.add("no alarm on ApproximateNumberOfMessagesVisible of aws_sqs_queue.split_failures")
	}
	return p
}

func TestIntakeInvariants(t *testing.T) {
	for _, msg := range sortedProblems(checkIntake(mustConfig(t))) {
		t.Error(msg)
	}
}

func TestIntakeInvariantsCatchBreakage(t *testing.T) {
	files := readTerraform(t)
	const file = "modules/pipeline/intake.tf"
	for why, edit := range map[string][2]string{
		"no destination":         {"destination = aws_sqs_queue.split_failures.arn", "destination = aws_sqs_queue.dlq.arn"},
		"short retention":        {"message_retention_seconds = local.dlq_retention_seconds", "message_retention_seconds = 3600"},
		"alarm on another queue": {"dimensions          = { QueueName = aws_sqs_queue.split_failures.name }", "dimensions          = { QueueName = aws_sqs_queue.ops.name }"},
		"config of compute":      {"function_name                = aws_lambda_function.splitter.function_name", "function_name                = aws_lambda_function.compute.function_name"},
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
		if len(checkIntake(c)) == 0 {
			t.Errorf("checkIntake did not notice: %s", why)
		}
	}
}
