package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/memohq/memo/internal/pipeline/naming"
)

// checkAlarms: the plan with the alarm topic and an alarm action on
// (features-on.tfvars) alarms on the DLQ's depth, the ops queue's oldest
// message, and both functions' errors and throttles, and every alarm
// notifies the given action and the topic (an ARN known after apply) on
// ALARM and OK.
func checkAlarms(_ *Config, ps plans) []string {
	var p problems
	const pager = "arn:aws:sns:eu-west-1:123456789012:ops-pager" // features-on.tfvars
	for _, pl := range ps.ok(&p, "policy") {
		got := map[string]bool{}
		for _, addr := range pl.addresses("aws_cloudwatch_metric_alarm") {
			a := pl.After[addr]
			var dims []string
			for _, k := range sortedKeys(asMap(get(a, "dimensions"))) {
				dims = append(dims, k+"="+getStr(a, "dimensions", k))
			}
			got[getStr(a, "namespace")+" "+getStr(a, "metric_name")+" "+strings.Join(dims, ",")] = true
			for _, key := range []string{"alarm_actions", "ok_actions"} {
				unknown := getList(pl.Unknown[addr], key)
				if !contains(getStrs(a, key), pager) || !contains(unknownFlags(unknown), "true") {
					p.add("plan %s: %s %s is %v (unknown: %v): want the alarm action and the alarm topic", pl.Name, addr, key, get(a, key), unknown)
				}
			}
		}
		n := naming.For(pl.Workspace, testAccount)
		for _, want := range []string{
			"AWS/SQS ApproximateNumberOfMessagesVisible QueueName=" + n.DLQ,
			"AWS/SQS ApproximateAgeOfOldestMessage QueueName=" + n.Queue,
			"AWS/Lambda Errors FunctionName=" + n.Splitter,
			"AWS/Lambda Errors FunctionName=" + n.Compute,
			"AWS/Lambda Throttles FunctionName=" + n.Splitter,
			"AWS/Lambda Throttles FunctionName=" + n.Compute,
			// The on-failure destination itself failing (issue 18, point 13).
			"AWS/Lambda AsyncEventsDropped FunctionName=" + n.Splitter,
			"AWS/Lambda DestinationDeliveryFailures FunctionName=" + n.Splitter,
			// compute's own metric, read with both dimensions it is published with.
			"memo BatchItemFailures function=compute,workspace=" + pl.Workspace,
		} {
			if !got[want] {
				p.add("plan %s: no alarm on %s", pl.Name, want)
			}
		}
	}
	return p
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// unknownFlags renders after_unknown's per-element flags.
func unknownFlags(l []any) []string {
	var out []string
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// checkAlarmActionsBounded: CloudWatch accepts at most 5 alarm actions
// and 5 OK actions per alarm (PutMetricAlarm: AlarmActions and OKActions,
// "Maximum number of 5 items"), and every alarm gets alarm_actions plus
// the topic when create_alarm_topic is set: a sixth must fail the plan,
// not the apply.
func checkAlarmActionsBounded(_ *Config, ps plans) []string {
	var p problems
	ps.ok(&p, "alarm-actions-5", "alarm-actions-4-and-topic")
	for _, n := range []string{"alarm-actions-6", "alarm-actions-5-and-topic"} {
		err, present := ps.failed(&p, n)
		switch {
		case !present:
		case err == nil:
			p.add("plan %s succeeds: more than 5 alarm actions per alarm must fail the plan (CloudWatch refuses them at apply)", n)
		case !strings.Contains(errText(err), "at most 5 alarm actions"):
			p.add("plan %s fails for another reason than the bound of 5 actions: %v", n, err)
		}
	}
	return p
}

// memoMetrics are the EMF metrics the functions publish (namespace memo,
// dimensions workspace and function), as "function metric".
var memoMetrics = []string{"splitter OpsEnqueued", "splitter OpsRejected", "splitter Retries",
	"compute OpsOk", "compute OpsError", "compute Superseded", "compute BatchItemFailures", "compute Retries"}

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
	for _, fm := range memoMetrics {
		fn, mt, _ := strings.Cut(fm, " ")
		want = append(want, "memo "+mt+" workspace "+testWorkspace+" function "+fn)
	}
	for _, w := range want {
		if !shown[w] {
			keys := sortedKeys(shown)
			p.add("the dashboard does not show %q (it shows %q)", w, keys)
		}
	}
	return p
}
