package policy

import (
	"strings"
	"testing"
)

// schemaMistakes are the mistakes the home-made evaluator could not see
// and Terraform, with the provider's schema, refuses: each changes one file
// of a copy of terraform/ (old -> new, old must occur in it), and terraform
// validate must fail with Terraform's own messages.
var schemaMistakes = []struct {
	why      string
	file     string
	old, new string
	want     []string
}{
	{"misspelled argument", "modules/pipeline/queues.tf",
		"visibility_timeout_seconds = local.visibility_timeout_seconds",
		"visibility_timeout_second = local.visibility_timeout_seconds",
		[]string{"Error: Unsupported argument", `An argument named "visibility_timeout_second" is not expected here. Did you mean "visibility_timeout_seconds"?`}},
	{"missing required argument", "modules/pipeline/functions.tf",
		`  principal      = "s3.amazonaws.com"
`, "",
		[]string{"Error: Missing required argument", `The argument "principal" is required, but no definition was found.`}},
	{"argument in the wrong block", "modules/pipeline/functions.tf",
		`  batch_size                         = var.compute_batch_size
  maximum_batching_window_in_seconds = var.compute_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
`, `  maximum_batching_window_in_seconds = var.compute_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    batch_size = var.compute_batch_size
`,
		[]string{"Error: Unsupported argument", `An argument named "batch_size" is not expected here.`}},
	{"block where an argument belongs", "modules/pipeline/storage.tf",
		`server_side_encryption {
    enabled     = var.table_encryption != "aws-owned"`, `server_side_encryption {
    enabled {}`,
		[]string{"Error: Unsupported block type", `Blocks of type "enabled" are not expected here.`}},
}

// TestTerraformRefusesSchemaMistakes proves that make tf-check's validate
// and plan see the provider's schema: each mistake makes terraform
// validate fail with Terraform's message.
func TestTerraformRefusesSchemaMistakes(t *testing.T) {
	files := readTerraform(t)
	if err := setupPlanner(); err != nil {
		t.Fatalf("offline Terraform: %v", err)
	}
	for _, m := range schemaMistakes {
		t.Run(strings.ReplaceAll(m.why, " ", "_"), func(t *testing.T) {
			t.Parallel()
			src := string(files[m.file])
			if !strings.Contains(src, m.old) {
				t.Fatalf("terraform/%s no longer contains %q: update this case", m.file, m.old)
			}
			broken := map[string][]byte{}
			for k, v := range files {
				broken[k] = v
			}
			broken[m.file] = []byte(strings.Replace(src, m.old, m.new, 1))
			w, err := planner.env.Copy(planner.tmp, broken)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Remove()
			if err := w.ShareInit(planner.base); err != nil {
				t.Fatal(err)
			}
			if err := w.Trim(broken); err != nil {
				t.Fatal(err)
			}
			out, err := w.Run("validate", "-no-color")
			if err == nil {
				t.Fatalf("terraform validate accepts the %s:\n%s", m.why, out)
			}
			flat := errText(err)
			for _, want := range m.want {
				if !strings.Contains(flat, want) {
					t.Errorf("terraform validate fails, but without %q:\n%s", want, out)
				}
			}
			t.Logf("terraform validate: %s", firstLines(out, 8))
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
