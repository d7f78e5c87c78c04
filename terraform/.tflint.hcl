# tflint configuration for terraform/ and every module under it
# (make tf-lint runs: tflint --chdir=terraform --recursive
# --config=$(abspath terraform/.tflint.hcl)).
#
# Only the terraform ruleset bundled with tflint is used, so no plugin is
# downloaded and tflint --init is never needed. The preset is "all", stricter
# than "recommended": it adds naming conventions, documented variables and
# outputs, typed variables and the standard module structure.

config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
