// Package e2e is memo's end-to-end test (Terratest): one validation that
// runs against two targets.
//
//   - twin (the default, in every go test ./... and CI run): the Makefile
//     builds the two Lambda binaries for linux/amd64 with the same rule as
//     the deployed arm64 zips (make build-twin), each runs under
//     aws-lambda-rie, and the local twin runs on moto with those functions
//     invoked over the emulator's invoke API. It skips only where
//     moto_server is missing and CI is unset.
//   - aws (MEMO_E2E_TARGET=aws, make e2e): terraform/ copied to the run's
//     folder .test-data/runs/e2e-<random>/ with the run's own make build,
//     its record written there before apply, and applied in a new workspace
//     e2e-<random>, in the account and region of the SDK's default chain
//     (printed before anything happens); without credentials it skips. The
//     validate stage ends in time to leave 20 minutes for the teardown; a
//     run killed before its teardown leaves its folder for make e2e-clean,
//     which destroys it and lists resources still tagged memo-e2e.
//     TestDocumentedPathOnAWS takes the README's path instead: make deploy,
//     memo submit --from-terraform terraform --wait, make destroy.
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
