// Package policy holds the policy tests of memo's Terraform. Each
// invariant has a name, every failure message starts with it, and for each
// invariant a test breaks a copy of the configuration in memory and
// asserts that the check reports it.
//
// Where a plan knows the value, a check reads `terraform show -json` of
// plans that the pinned Terraform makes of a copy of terraform/ with memo's
// offline stand-in for the AWS provider (plan_test.go; tools/tfcheck/offline
// and tools/tfprovider). The other checks parse terraform/ with hcl/v2 and
// evaluate what they need with the variables' defaults or chosen values
// (eval_test.go): IAM documents and redrive policies, which are built from
// ARNs a plan does not know, and what is about the text itself.
// terraform/README.md, "The invariants", says which check reads which.
//
// Run: go test ./test/policy/... (make tf-check runs it with fmt, tflint,
// tfsec and the offline validate and plans; it needs bin/terraform, or
// MEMO_TERRAFORM, and npm the first time). go test ./test/policy -run
// TestReadme -update rewrites the input and output tables of
// terraform/README.md and the module's README.md.
package policy
