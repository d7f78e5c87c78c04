// Command tfguard holds make deploy's and make destroy's checks, each run
// by one line of terraform.mk before Terraform plans anything:
//
//	tfguard destroy   -terraform BIN -dir terraform -workspace W [-allow W]
//	tfguard preflight -dir terraform -workspace W [-var-file F] [-args "$TF_ARGS"]
//
// destroy refuses a workspace that must not be destroyed: prod, or one
// whose state holds a results table with deletion protection or a batch
// bucket Terraform may not empty (force_destroy = false). Terraform
// destroys the dependents first and fails only at those two, leaving the
// pipeline down and its bucket unprotected; so the guard stops before the
// plan. -allow W (ALLOW_DESTROY=W) names the one workspace to let through.
//
// preflight reads the account's Lambda concurrency in the pipeline's region
// (aws lambda get-account-settings) and refuses settings whose mappings
// can run more invocations at once than the account has: throttled SQS
// invocations still count receives toward the DLQ.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: tfguard destroy|preflight [flags]")
		return 2
	}
	fs := flag.NewFlagSet("tfguard "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	tf := fs.String("terraform", "terraform", "the Terraform CLI")
	dir := fs.String("dir", "terraform", "the root module")
	ws := fs.String("workspace", "", "the workspace")
	allow := fs.String("allow", "", "destroy: the workspace to destroy even though it is protected (ALLOW_DESTROY)")
	varFile := fs.String("var-file", "", "preflight: the workspace's tfvars, relative to -dir (env/<ws>.tfvars)")
	tfArgs := fs.String("args", "", "preflight: TF_ARGS as make passes them (-var k=v, -var-file=f)")
	aws := fs.String("aws", "aws", "preflight: the AWS CLI")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *ws == "" {
		fmt.Fprintln(stderr, "tfguard: -workspace is required")
		return 2
	}
	switch args[0] {
	case "destroy":
		return guardDestroy(*tf, *dir, *ws, *allow, stdout, stderr)
	case "preflight":
		return preflight(*aws, *dir, *ws, *varFile, *tfArgs, os.Getenv, stdout, stderr)
	}
	fmt.Fprintf(stderr, "tfguard: unknown command %q\n", args[0])
	return 2
}
