package policy

import (
	"encoding/json"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

func checkAlarms(c *Config) []string {
	var p problems
	m := c.Pipeline
	e := env(&p, m, testWorkspace, map[string]cty.Value{"create_alarm_topic": cty.True})
	if e == nil {
		return p
	}
	got := map[string]bool{}
	for _, b := range m.Blocks("resource", "aws_cloudwatch_metric_alarm") {
		insts, err := e.Instances(b)
		if err != nil {
			p.add("%v", err)
			continue
		}
		for _, in := range insts {
			ns, _ := e.EvalString(in.Attr("namespace"), in.Vars)
			metric, _ := e.EvalString(in.Attr("metric_name"), in.Vars)
			dims, _ := e.Eval(in.Attr("dimensions"), in.Vars)
			got[ns+" "+metric+" "+valueString(dims)] = true
			actions, err := e.EvalStrings(in.Attr("alarm_actions"), in.Vars)
			if err != nil || !contains(actions, ph("aws_sns_topic.alarms.arn")) {
				p.add("alarm %s %s does not notify the alarm topic when create_alarm_topic is set (%v)", ns, metric, actions)
			}
		}
	}
	for _, want := range []string{
		`AWS/SQS ApproximateNumberOfMessagesVisible [QueueName="<aws_sqs_queue.dlq.name>"]`,
		`AWS/SQS ApproximateAgeOfOldestMessage [QueueName="<aws_sqs_queue.ops.name>"]`,
		`AWS/Lambda Errors [FunctionName="<aws_lambda_function.splitter.function_name>"]`,
		`AWS/Lambda Errors [FunctionName="<aws_lambda_function.compute.function_name>"]`,
		`AWS/Lambda Throttles [FunctionName="<aws_lambda_function.splitter.function_name>"]`,
		`AWS/Lambda Throttles [FunctionName="<aws_lambda_function.compute.function_name>"]`,
	} {
		if !got[want] {
			p.add("no alarm on %s", want)
		}
	}
	return p
}

// memoMetrics are the EMF metrics the functions publish (namespace memo,
// dimension workspace).
var memoMetrics = []string{"OpsEnqueued", "OpsRejected", "OpsOk", "OpsError", "BatchItemFailures", "Retries"}

func checkDashboard(c *Config) []string {
	var p problems
	m := c.Pipeline
	ds := m.Blocks("resource", "aws_cloudwatch_dashboard")
	if len(ds) != 1 {
		p.add("want one aws_cloudwatch_dashboard, have %d", len(ds))
		return p
	}
	e := env(&p, m, testWorkspace, nil)
	if e == nil {
		return p
	}
	body, err := e.EvalString(attr(ds[0], "dashboard_body"), nil)
	if err != nil {
		p.add("dashboard_body: %v", err)
		return p
	}
	var d struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		p.add("dashboard_body is not dashboard JSON: %v", err)
		return p
	}
	shown := map[string]bool{}
	for _, w := range d.Widgets {
		for _, mt := range w.Properties.Metrics {
			var parts []string
			for _, x := range mt {
				if s, ok := x.(string); ok {
					parts = append(parts, s)
				}
			}
			shown[strings.Join(parts, " ")] = true
		}
	}
	want := []string{
		"AWS/SQS ApproximateNumberOfMessagesVisible QueueName " + ph("aws_sqs_queue.ops.name"),
		"AWS/SQS ApproximateNumberOfMessagesVisible QueueName " + ph("aws_sqs_queue.dlq.name"),
	}
	for _, mt := range memoMetrics {
		want = append(want, "memo "+mt+" workspace "+testWorkspace)
	}
	for _, w := range want {
		if !shown[w] {
			keys := sortedKeys(shown)
			p.add("the dashboard does not show %q (it shows %q)", w, keys)
		}
	}
	return p
}
