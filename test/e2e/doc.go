// Package e2e is memo's end-to-end test (Terratest): one validation that
// runs against two targets.
//
//   - twin (the default, in every go test ./... and CI run): the Makefile
//     builds the two Lambda binaries for linux/amd64 with the same rule as
//     the deployed arm64 zips (make build-twin), each runs under
//     aws-lambda-rie, and the local twin runs on moto with those functions
//     invoked over the emulator's invoke API. It skips only where
//     moto_server is missing and CI is unset.
//   - aws (MEMO_E2E_TARGET=aws, make e2e): make build, then terraform/
//     copied to a temporary folder and applied in a new workspace
//     e2e-<random>, in the account and region of the SDK's default chain
//     (printed before anything happens); without credentials it skips.
//
// Stages: deploy, validate, teardown; SKIP_<stage>=1 skips one. When any is
// set the deployment is saved under .test-data/, so that the stages can run
// in separate invocations:
//
//	SKIP_validate=1 SKIP_teardown=1 go test -v ./test/e2e   # deploy and keep
//	SKIP_deploy=1 SKIP_teardown=1 go test -v ./test/e2e     # validate again
//	SKIP_deploy=1 SKIP_validate=1 go test -v ./test/e2e     # tear down
//
// The validate stage uploads the seed example, a mixed batch (values of
// each type, evaluation errors, rejected ops), a .jsonl batch of 1,200 ops,
// a structurally broken file and a batch whose key has spaces and non-ASCII
// characters; it waits until the reconciliation memo status uses accounts
// for every op, asserts every value, error, rejection and report, sends an
// undecodable message to the ops queue and waits for it in the DLQ, and
// logs the end-to-end throughput.
package e2e
