package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Account is the AWS account id the stand-in reports (aws_caller_identity):
// the one AWS's documentation uses in examples.
const Account = "123456789012"

// dataSourceValues is the data source's state: its arguments, with the
// computed attributes the stand-in knows filled in, the others null.
func dataSourceValues(typeName string, cfg tftypes.Value, region string) (tftypes.Value, error) {
	var attrs map[string]tftypes.Value
	if err := cfg.As(&attrs); err != nil {
		return tftypes.Value{}, err
	}
	set := func(name string, v any) {
		old, ok := attrs[name]
		if !ok || !old.IsNull() {
			return
		}
		attrs[name] = tftypes.NewValue(old.Type(), v)
	}
	switch typeName {
	case "aws_caller_identity":
		set("account_id", Account)
		set("arn", "arn:aws:iam::"+Account+":user/memo-offline")
		set("user_id", "AIDAMEMOOFFLINE")
		set("id", Account)
	case "aws_region":
		r := region
		if v, ok := attrs["region"]; ok && !v.IsNull() {
			_ = v.As(&r)
		}
		set("region", r)
		set("name", r)
		set("id", r)
		set("endpoint", "ec2."+r+".amazonaws.com")
		set("description", r)
	case "aws_partition":
		set("partition", "aws")
		set("dns_suffix", "amazonaws.com")
		set("reverse_dns_prefix", "com.amazonaws")
		set("id", "aws")
	case "aws_iam_policy_document":
		doc, err := policyDocument(cfg)
		if err != nil {
			return tftypes.Value{}, err
		}
		pretty, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return tftypes.Value{}, err
		}
		minified, err := json.Marshal(doc)
		if err != nil {
			return tftypes.Value{}, err
		}
		set("json", string(pretty))
		set("minified_json", string(minified))
		set("id", fmt.Sprint(len(minified)))
	}
	set("id", "offline")
	return tftypes.NewValue(cfg.Type(), attrs), nil
}

// policyDocument renders aws_iam_policy_document's statements the way the
// provider does in the common cases: a one-element list becomes a string,
// sets are sorted, principals and conditions become maps. Source and
// override documents are not merged (memo uses neither); a document using
// them is refused rather than rendered wrong.
func policyDocument(cfg tftypes.Value) (map[string]any, error) {
	v, err := plain(cfg)
	if err != nil {
		return nil, err
	}
	args := v.(map[string]any)
	for _, k := range []string{"source_policy_documents", "override_policy_documents"} {
		if l, _ := args[k].([]any); len(l) > 0 {
			return nil, fmt.Errorf("%s is not rendered offline", k)
		}
	}
	doc := map[string]any{"Version": "2012-10-17"}
	if s, ok := args["version"].(string); ok {
		doc["Version"] = s
	}
	if s, ok := args["policy_id"].(string); ok {
		doc["Id"] = s
	}
	var stmts []any
	list, _ := args["statement"].([]any)
	for _, raw := range list {
		st := raw.(map[string]any)
		out := map[string]any{"Effect": "Allow"}
		if s, ok := st["sid"].(string); ok && s != "" {
			out["Sid"] = s
		}
		if s, ok := st["effect"].(string); ok {
			out["Effect"] = s
		}
		for tf, key := range map[string]string{"actions": "Action", "not_actions": "NotAction", "resources": "Resource", "not_resources": "NotResource"} {
			if l, _ := st[tf].([]any); len(l) > 0 {
				out[key] = oneOrList(l)
			}
		}
		for tf, key := range map[string]string{"principals": "Principal", "not_principals": "NotPrincipal"} {
			l, _ := st[tf].([]any)
			if len(l) == 0 {
				continue
			}
			m := map[string]any{}
			for _, p := range l {
				p := p.(map[string]any)
				ids, _ := p["identifiers"].([]any)
				if p["type"] == "*" {
					out[key] = "*"
					break
				}
				m[p["type"].(string)] = oneOrList(ids)
			}
			if _, star := out[key]; !star {
				out[key] = m
			}
		}
		if l, _ := st["condition"].([]any); len(l) > 0 {
			conds := map[string]map[string]any{}
			for _, c := range l {
				c := c.(map[string]any)
				test, variable := c["test"].(string), c["variable"].(string)
				if conds[test] == nil {
					conds[test] = map[string]any{}
				}
				vals, _ := c["values"].([]any)
				conds[test][variable] = oneOrList(vals)
			}
			out["Condition"] = conds
		}
		stmts = append(stmts, out)
	}
	doc["Statement"] = stmts
	return doc, nil
}

func oneOrList(l []any) any {
	if len(l) == 1 {
		return l[0]
	}
	return l
}

// plain converts a wholly known value to Go values: map[string]any, []any
// (sets sorted by their JSON form), string, json.Number, bool or nil.
func plain(v tftypes.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsKnown() {
		return nil, fmt.Errorf("unknown value")
	}
	t := v.Type()
	switch {
	case t.Is(tftypes.String):
		var s string
		err := v.As(&s)
		return s, err
	case t.Is(tftypes.Bool):
		var b bool
		err := v.As(&b)
		return b, err
	case t.Is(tftypes.Number):
		f := new(big.Float)
		err := v.As(&f)
		return json.Number(f.Text('g', -1)), err
	case t.Is(tftypes.Object{}), t.Is(tftypes.Map{}):
		var m map[string]tftypes.Value
		if err := v.As(&m); err != nil {
			return nil, err
		}
		out := map[string]any{}
		for k, e := range m {
			pe, err := plain(e)
			if err != nil {
				return nil, err
			}
			out[k] = pe
		}
		return out, nil
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}), t.Is(tftypes.Tuple{}):
		var l []tftypes.Value
		if err := v.As(&l); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(l))
		for _, e := range l {
			pe, err := plain(e)
			if err != nil {
				return nil, err
			}
			out = append(out, pe)
		}
		if t.Is(tftypes.Set{}) {
			sort.Slice(out, func(i, j int) bool {
				a, _ := json.Marshal(out[i])
				b, _ := json.Marshal(out[j])
				return string(a) < string(b)
			})
		}
		return out, nil
	}
	return nil, fmt.Errorf("type %s", t)
}
