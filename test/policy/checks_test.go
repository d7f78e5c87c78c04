package policy

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// An invariant is one property of terraform/ that memo relies on. check
// reads the HCL; planCheck reads Terraform's plans of the configuration
// (plan_test.go), the ones named in plans. Either returns what breaks the
// invariant, one message per problem.
type invariant struct {
	name      string
	check     func(c *Config) []string
	plans     []string
	planCheck func(c *Config, ps plans) []string
	// breakPlans are the plans a breakage case makes of its broken copy
	// (default: all of plans): the ones that show the breakages of
	// policy_test.go, each plan of a copy taking seconds.
	breakPlans []string
}

// invariants is the policy. Each has a breakage case in policy_test.go.
// The ones with plans read the values Terraform resolved; the others read
// the HCL, for what a plan with a schema-only provider cannot show (IAM
// documents and redrive policies are built from ARNs, unknown until apply)
// or what is about the text itself (references, comments, README tables).
var invariants = []invariant{
	{name: "terraform-plans", plans: []string{"default", "features"}, breakPlans: []string{"features"}, planCheck: checkTerraformPlans},
	{name: "visibility-derived", plans: []string{"default", "policy"}, breakPlans: []string{"policy"}, planCheck: checkVisibilityDerived},
	{name: "redrive-policy", check: checkRedrivePolicy},
	{name: "report-batch-item-failures", plans: []string{"default"}, planCheck: checkReportBatchItemFailures},
	{name: "esm-config", check: checkESMWiring, plans: []string{"policy", "esm-100-no-window", "esm-10-no-window"}, breakPlans: []string{"policy", "esm-100-no-window"}, planCheck: checkESMConfig},
	{name: "notification-filter", check: checkNotificationWiring, plans: []string{"default"}, planCheck: checkNotificationFilter},
	{name: "iam-no-wildcards", check: checkIAMNoWildcards},
	{name: "user-function", plans: []string{"no-function", "user-function", "user-function-wildcard", "user-function-wildcard-allowed", "op-rules-unknown"}, breakPlans: []string{"user-function-wildcard"}, planCheck: checkUserFunction},
	{name: "iam-exact-grants", check: checkIAMExactGrants},
	{name: "names-from-workspace", check: checkNamesBuiltFromPrefix, plans: []string{"default", "dev", "prod", "policy"}, planCheck: checkNamesFromWorkspace, breakPlans: []string{"policy"}},
	{name: "names-match-go", check: checkPrefixesMatchGo, plans: []string{"dev", "prod", "policy"}, planCheck: checkNamesMatchGo, breakPlans: []string{"policy"}},
	{name: "workspace-validated", check: checkWorkspaceValidated},
	{name: "encryption-at-rest", plans: []string{"default", "features"}, planCheck: checkEncryptionAtRest},
	{name: "bucket-public-access-blocked", check: checkPublicAccessBlocked},
	{name: "bucket-tls-only", check: checkBucketTLSOnly},
	{name: "retention", check: checkLogGroupsWired, plans: []string{"default", "policy"}, planCheck: checkRetention, breakPlans: []string{"policy"}},
	{name: "twin-defaults", check: checkTwinDefaults},
	{name: "root-passes-through", check: checkRootPassesThrough},
	{name: "variables-documented", check: checkVariablesDocumented},
	{name: "lambda-config", check: checkLambdaConfig},
	{name: "env-matches-go", check: checkEnvMatchesGo},
	{name: "results-table", plans: []string{"default", "features", "prod-defaults", "dev-protected", "prod-unprotected"}, planCheck: checkResultsTable, breakPlans: []string{"default", "prod-defaults"}},
	{name: "warm-throughput", plans: []string{"default", "features", "warm-too-low"}, planCheck: checkWarmThroughput, breakPlans: []string{"default", "features", "warm-too-low"}},
	{name: "outputs", check: checkOutputs},
	{name: "alarms", plans: []string{"policy"}, planCheck: checkAlarms},
	{name: "alarm-actions-bounded", plans: []string{"alarm-actions-5", "alarm-actions-6", "alarm-actions-4-and-topic", "alarm-actions-5-and-topic"}, planCheck: checkAlarmActionsBounded, breakPlans: []string{"alarm-actions-5-and-topic"}},
	{name: "dashboard", check: checkDashboard},
	{name: "env-tfvars", check: checkEnvTfvars},
	{name: "readme-tables", check: checkReadmeTables},
	{name: "backend-example", check: checkBackendExample},
	{name: "tfsec-ignores-reasoned", check: checkTfsecIgnores},
	{name: "provider-versions", check: checkProviderVersions},
}

// run checks c (and, for an invariant with plans, ps).
func (inv invariant) run(c *Config, ps plans) []string {
	var out []string
	if inv.check != nil {
		out = append(out, inv.check(c)...)
	}
	if inv.planCheck != nil {
		out = append(out, inv.planCheck(c, ps)...)
	}
	return out
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
	"table_encryption":   cty.StringVal("aws-managed"),
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
