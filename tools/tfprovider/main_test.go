package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/memohq/memo/tools/tfprovider/schema"
)

// testServer serves a small schema: a resource with an argument, a
// computed attribute and a block with a computed attribute; the data
// sources the stand-in answers.
func testServer(t *testing.T) *server {
	t.Helper()
	str := json.RawMessage(`"string"`)
	strSet := json.RawMessage(`["set","string"]`)
	p := &schema.Provider{
		Version:  "6.25.0",
		Provider: &schema.Block{Attributes: map[string]*schema.Attribute{"region": {Type: str, Optional: true, Computed: true}}},
		Resources: map[string]*schema.Block{
			"aws_sqs_queue": {
				Attributes: map[string]*schema.Attribute{
					"id":   {Type: str, Optional: true, Computed: true},
					"name": {Type: str, Optional: true, Computed: true},
					"arn":  {Type: str, Computed: true},
				},
				Blocks: map[string]*schema.Nested{"rule": {Nesting: "list", Block: &schema.Block{Attributes: map[string]*schema.Attribute{
					"prefix": {Type: str, Required: true},
					"etag":   {Type: str, Computed: true},
				}}}},
			},
		},
		DataSources: map[string]*schema.Block{
			"aws_caller_identity": {Attributes: map[string]*schema.Attribute{"account_id": {Type: str, Computed: true}, "id": {Type: str, Optional: true, Computed: true}}},
			"aws_iam_policy_document": {
				Attributes: map[string]*schema.Attribute{"json": {Type: str, Computed: true}, "id": {Type: str, Optional: true, Computed: true}},
				Blocks: map[string]*schema.Nested{"statement": {Nesting: "list", Block: &schema.Block{Attributes: map[string]*schema.Attribute{
					"effect": {Type: str, Optional: true, Computed: true}, "actions": {Type: strSet, Optional: true, Computed: true}, "resources": {Type: strSet, Optional: true, Computed: true},
				}}}},
			},
		},
	}
	path := filepath.Join(t.TempDir(), "schema.json")
	if err := schema.Write(p, path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MEMO_TFPROVIDER_SCHEMA", path)
	s := &server{}
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	return s
}

func dynamic(t *testing.T, typ tftypes.Type, v tftypes.Value) *tfprotov5.DynamicValue {
	t.Helper()
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return &dv
}

func TestPlanLeavesComputedUnknown(t *testing.T) {
	s := testServer(t)
	typ := s.types["resource.aws_sqs_queue"].(tftypes.Object)
	ruleType := typ.AttributeTypes["rule"].(tftypes.List).ElementType
	proposed := tftypes.NewValue(typ, map[string]tftypes.Value{
		"id":   tftypes.NewValue(tftypes.String, nil),
		"name": tftypes.NewValue(tftypes.String, "memo-dev-ops"),
		"arn":  tftypes.NewValue(tftypes.String, nil),
		"rule": tftypes.NewValue(typ.AttributeTypes["rule"], []tftypes.Value{tftypes.NewValue(ruleType, map[string]tftypes.Value{
			"prefix": tftypes.NewValue(tftypes.String, "batches/"),
			"etag":   tftypes.NewValue(tftypes.String, nil),
		})}),
	})
	resp, err := s.PlanResourceChange(context.Background(), &tfprotov5.PlanResourceChangeRequest{TypeName: "aws_sqs_queue", ProposedNewState: dynamic(t, typ, proposed)})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("plan: %v %v", err, resp.Diagnostics)
	}
	planned, err := resp.PlannedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]tftypes.Value
	_ = planned.As(&m)
	if m["arn"].IsKnown() || m["id"].IsKnown() {
		t.Errorf("arn %v, id %v: want unknown (known after apply)", m["arn"], m["id"])
	}
	var name string
	if err := m["name"].As(&name); err != nil || name != "memo-dev-ops" {
		t.Errorf("name %v: want the configured value", m["name"])
	}
	var rules []tftypes.Value
	_ = m["rule"].As(&rules)
	var rule map[string]tftypes.Value
	_ = rules[0].As(&rule)
	if rule["etag"].IsKnown() || !rule["prefix"].IsKnown() {
		t.Errorf("rule: %v, want etag unknown and prefix known", rule)
	}
}

func TestApplyIsRefused(t *testing.T) {
	s := testServer(t)
	resp, err := s.ApplyResourceChange(context.Background(), &tfprotov5.ApplyResourceChangeRequest{TypeName: "aws_sqs_queue"})
	if err != nil || len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Severity != tfprotov5.DiagnosticSeverityError ||
		!strings.Contains(resp.Diagnostics[0].Summary, "cannot apply") || !strings.Contains(resp.Diagnostics[0].Detail, "schema-only stand-in") {
		t.Fatalf("apply: %v %+v, want one error saying the stand-in cannot apply", err, resp.Diagnostics)
	}
}

func readData(t *testing.T, s *server, name string, cfg tftypes.Value) map[string]tftypes.Value {
	t.Helper()
	typ := s.types["data."+name]
	resp, err := s.ReadDataSource(context.Background(), &tfprotov5.ReadDataSourceRequest{TypeName: name, Config: dynamic(t, typ, cfg)})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("read %s: %v %v", name, err, resp.Diagnostics)
	}
	v, err := resp.State.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	if !v.IsFullyKnown() {
		t.Errorf("%s: %v is not wholly known (Terraform refuses that)", name, v)
	}
	var m map[string]tftypes.Value
	_ = v.As(&m)
	return m
}

func TestDataSources(t *testing.T) {
	s := testServer(t)
	typ := s.types["data.aws_caller_identity"].(tftypes.Object)
	m := readData(t, s, "aws_caller_identity", tftypes.NewValue(typ, map[string]tftypes.Value{
		"account_id": tftypes.NewValue(tftypes.String, nil), "id": tftypes.NewValue(tftypes.String, nil),
	}))
	var acct string
	if _ = m["account_id"].As(&acct); acct != Account {
		t.Errorf("account_id %q, want %q", acct, Account)
	}

	dt := s.types["data.aws_iam_policy_document"].(tftypes.Object)
	st := dt.AttributeTypes["statement"].(tftypes.List).ElementType
	set := func(ss ...string) tftypes.Value {
		var vs []tftypes.Value
		for _, x := range ss {
			vs = append(vs, tftypes.NewValue(tftypes.String, x))
		}
		return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, vs)
	}
	m = readData(t, s, "aws_iam_policy_document", tftypes.NewValue(dt, map[string]tftypes.Value{
		"json": tftypes.NewValue(tftypes.String, nil), "id": tftypes.NewValue(tftypes.String, nil),
		"statement": tftypes.NewValue(dt.AttributeTypes["statement"], []tftypes.Value{tftypes.NewValue(st, map[string]tftypes.Value{
			"effect":    tftypes.NewValue(tftypes.String, nil),
			"actions":   set("sqs:SendMessage"),
			"resources": set("arn:b", "arn:a"),
		})}),
	}))
	var doc string
	_ = m["json"].As(&doc)
	var got struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   any
			Resource any
		}
	}
	if err := json.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatalf("json %q: %v", doc, err)
	}
	if got.Version != "2012-10-17" || len(got.Statement) != 1 || got.Statement[0].Effect != "Allow" ||
		got.Statement[0].Action != "sqs:SendMessage" || len(got.Statement[0].Resource.([]any)) != 2 {
		t.Errorf("policy document %s: want one Allow statement, a single Action as a string, two Resources", doc)
	}
}
