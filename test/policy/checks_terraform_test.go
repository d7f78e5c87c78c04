package policy

import "strings"

// checkTerraformPlans: Terraform itself, with the provider's schema,
// validates and plans the configuration with the defaults and with every
// optional part on. That catches what Terraform core checks: references to
// undeclared variables, locals, resources or module outputs, unknown
// functions, type errors, unknown or missing arguments, misplaced blocks,
// failing validations and preconditions. (It replaces the home-made
// evaluator's "every expression evaluates" check, which could not know the
// provider's schema.)
func checkTerraformPlans(_ *Config, ps plans) []string {
	var p problems
	for _, pl := range ps.ok(&p, "default", "features") {
		if !strings.HasPrefix(pl.Summary, "Plan: ") {
			p.add("plan %s printed no plan summary (%q)", pl.Name, pl.Summary)
		}
		if len(pl.After) == 0 {
			p.add("plan %s plans no resources", pl.Name)
		}
	}
	return p
}
