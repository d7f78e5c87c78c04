// Package policy holds the policy tests of memo's Terraform: they parse
// terraform/ with hcl/v2, evaluate what they need with the variables'
// defaults (or chosen values), and assert the invariants the pipeline relies
// on. Each invariant has a name; every failure message starts with it, and
// for each invariant a test breaks a copy of the configuration in memory and
// asserts that the check reports it.
//
// Run: go test ./test/policy/... (make tf-check runs it with fmt, tflint and
// tfsec). go test ./test/policy -run TestReadme -update rewrites the input
// and output tables of terraform/README.md and the module's README.md.
package policy
