package policy

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// An invariant is one property of terraform/ that memo relies on. check
// returns what breaks it, one message per problem.
type invariant struct {
	name  string
	check func(c *Config) []string
}

// invariants is the policy. Each has a breakage case in policy_test.go.
var invariants = []invariant{
	{"expressions-evaluate", checkExpressionsEvaluate},
	{"visibility-derived", checkVisibilityDerived},
	{"redrive-policy", checkRedrivePolicy},
	{"report-batch-item-failures", checkReportBatchItemFailures},
	{"esm-config", checkESMConfig},
	{"notification-filter", checkNotificationFilter},
	{"iam-no-wildcards", checkIAMNoWildcards},
	{"iam-exact-grants", checkIAMExactGrants},
	{"names-from-workspace", checkNamesFromWorkspace},
	{"names-match-go", checkNamesMatchGo},
	{"workspace-validated", checkWorkspaceValidated},
	{"encryption-at-rest", checkEncryptionAtRest},
	{"bucket-public-access-blocked", checkPublicAccessBlocked},
	{"bucket-tls-only", checkBucketTLSOnly},
	{"retention", checkRetention},
	{"twin-defaults", checkTwinDefaults},
	{"root-passes-through", checkRootPassesThrough},
	{"variables-documented", checkVariablesDocumented},
	{"lambda-config", checkLambdaConfig},
	{"env-matches-go", checkEnvMatchesGo},
	{"results-table", checkResultsTable},
	{"outputs", checkOutputs},
	{"alarms", checkAlarms},
	{"dashboard", checkDashboard},
	{"env-tfvars", checkEnvTfvars},
	{"readme-tables", checkReadmeTables},
	{"backend-example", checkBackendExample},
	{"tfsec-ignores-reasoned", checkTfsecIgnores},
}

// problems collects messages.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// env returns an evaluation environment of m, or records why there is none.
func env(p *problems, m *Module, ws string, vars map[string]cty.Value) *Env {
	e, err := m.NewEnv(ws, vars)
	if err != nil {
		p.add("cannot evaluate terraform/%s: %v", m.Dir, err)
		return nil
	}
	return e
}
func num(f float64) cty.Value { return cty.NumberFloatVal(f) }

// resource returns the resource or records that it is missing.
func resource(p *problems, m *Module, typ, name string) *hclsyntax.Block {
	b := m.Resource(typ, name)
	if b == nil {
		p.add("terraform/%s has no resource %s.%s", m.Dir, typ, name)
	}
	return b
}

// ph is the placeholder the evaluator gives a resource attribute.
func ph(addr string) string { return "<" + addr + ">" }

// featureVars switches every optional part of the module on.
var featureVars = map[string]cty.Value{
	"xray_tracing":       cty.True,
	"create_alarm_topic": cty.True,
	"ttl_attribute":      cty.StringVal("expires_at"),
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// sortedProblems returns the distinct problems in order, for stable output
// (a check that evaluates several variable sets can find one problem twice).
func sortedProblems(ps []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
