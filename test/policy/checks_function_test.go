package policy

import (
	"encoding/json"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// checkUserFunction: a user's function gets its environment and its own
// statements in a policy of their own, memo's compute policy and settings
// are unchanged, a wildcard action plans only with allow_wildcard_actions,
// and its splitter takes any JSON value as an op (split_op_rules = "json",
// a word of two).
func checkUserFunction(_ *Config, ps plans) []string {
	var p problems
	base := ps.ok(&p, "no-function")
	user := ps.ok(&p, "user-function")
	if len(base) == 1 && len(user) == 1 {
		b, u := base[0], user[0]
		if d := cmp.Diff(b.After["aws_iam_role_policy.compute"], u.After["aws_iam_role_policy.compute"]); d != "" {
			p.add("a user's statements changed memo's compute policy (-no-function +user-function):\n%s", d)
		}
		if _, ok := b.After["aws_iam_role_policy.compute_function[0]"]; ok {
			p.add("without user statements there must be no compute_function policy")
		}
		if pol := u.resource(&p, "aws_iam_role_policy.compute_function[0]"); pol != nil {
			var doc struct {
				Statement []struct {
					Sid      string
					Effect   string
					Action   any
					Resource any
				}
			}
			text, _ := pol["policy"].(string)
			if err := json.Unmarshal([]byte(text), &doc); err != nil {
				p.add("compute_function policy: %v (%s)", err, text)
			} else if len(doc.Statement) != 1 || doc.Statement[0].Sid != "ReadPhotos" || doc.Statement[0].Effect != "Allow" ||
				!strings.Contains(text, `"s3:GetObject"`) || !strings.Contains(text, `"arn:aws:s3:::photos/*"`) {
				p.add("compute_function policy is %s, want the one ReadPhotos statement", text)
			}
		}
		if fn := u.resource(&p, "aws_lambda_function.splitter"); fn != nil {
			if vars, _ := get(fn, "environment", 0, "variables").(map[string]any); vars["MEMO_OP_RULES"] != "json" {
				p.add("the splitter's environment is %v, want MEMO_OP_RULES=json (split_op_rules)", vars)
			}
		}
		if fn := u.resource(&p, "aws_lambda_function.compute"); fn != nil {
			vars, _ := get(fn, "environment", 0, "variables").(map[string]any)
			if vars["OBJECTS_BUCKET"] != "photos" || vars["MEMO_WORKSPACE"] != testWorkspace {
				p.add("the compute function's environment is %v, want OBJECTS_BUCKET=photos besides memo's own", vars)
			}
		}
	}
	if err, present := ps.failed(&p, "user-function-wildcard"); present {
		switch {
		case err == nil:
			p.add("a wildcard action (s3:Get*) in compute_policy_statements plans without allow_wildcard_actions")
		case !strings.Contains(errText(err), "allow_wildcard_actions = true"):
			p.add("the wildcard plan fails for another reason: %v", err)
		}
	}
	ps.ok(&p, "user-function-wildcard-allowed")
	if err, present := ps.failed(&p, "op-rules-unknown"); present {
		switch {
		case err == nil:
			p.add(`split_op_rules = "JSON" plans: only "expression" and "json" are op rules`)
		case !strings.Contains(errText(err), "split_op_rules must be"):
			p.add("the unknown op rules plan fails for another reason: %v", err)
		}
	}
	return p
}
