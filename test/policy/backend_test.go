package policy

// backend.tf.example as terraform/README.md's step 1 uses it, against
// moto's S3 and DynamoDB: with OpenTofu (MEMO_TOFU) the example as it is
// locks with a lock file next to the state; with Terraform 1.5.7
// (MEMO_TERRAFORM) the example is refused and the README's switch to the
// DynamoDB table locks instead. A lock someone else holds must stop an
// apply, and the same apply must pass once the lock is gone.
//
// A lock file is written with PutObject If-None-Match: * (S3 conditional
// writes: 412 Precondition Failed when the key exists); moto 5.2.1
// implements that condition, which is all this test relies on.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
)

// The names backend.tf.example uses, and the key of workspace dev's state.
const (
	backendBucket    = "memo-tfstate-123456789012"
	backendLockTable = "memo-tfstate-lock"
	backendRegion    = "eu-west-1"
	devStateKey      = "memo/dev/memo.tfstate"
)

// toDynamoDBLock is the README's sed command for Terraform 1.5 to 1.9:
// comment out use_lockfile, uncomment dynamodb_table.
var toDynamoDBLock = strings.NewReplacer(
	"\n    use_lockfile = true", "\n    # use_lockfile = true",
	"\n    # dynamodb_table", "\n    dynamodb_table",
)

func TestBackendExampleLocks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (moto)")
	}
	localtest.RequireMoto(t)
	example := string(readTerraform(t)["backend.tf.example"])
	for _, want := range []string{backendBucket, backendLockTable, backendRegion, `workspace_key_prefix = "memo"`} {
		if !strings.Contains(example, want) {
			t.Fatalf("backend.tf.example no longer names %s: update this test", want)
		}
	}
	readme, err := os.ReadFile(filepath.Join(terraformDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const sed = `sed -i 's/^    use_lockfile = true/    # use_lockfile = true/; s/^    # dynamodb_table/    dynamodb_table/' terraform/backend.tf`
	if !strings.Contains(string(readme), sed) {
		t.Fatalf("terraform/README.md no longer switches backend.tf with %q: update toDynamoDBLock", sed)
	}

	ctx := context.Background()
	m, err := local.StartMoto(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Endpoint: m.URL, Region: backendRegion, StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ddb := dynamodb.NewFromConfig(cfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(backendBucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: backendRegion}}); err != nil {
		t.Fatal(err)
	}
	// As the README creates it.
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(backendLockTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("LockID"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("LockID"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("OpenTofu_locks_with_a_lock_file", func(t *testing.T) {
		tofu := cliFromEnv(t, "MEMO_TOFU", "bin/tofu-1.10.6")
		// Each run uses its own workspace's key: state from one CLI is
		// not the other's business here.
		b := newBackendRun(t, tofu, example, fmt.Sprintf(`endpoints = { s3 = %q }
use_path_style              = true
skip_credentials_validation = true
skip_region_validation      = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
access_key                  = "test"
secret_key                  = "test"
`, m.URL))
		b.mustRun("init")
		b.mustRun("workspace", "new", "dev")
		b.mustRun("apply")
		if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(backendBucket), Key: aws.String(devStateKey)}); err != nil {
			t.Fatalf("no state at s3://%s/%s after apply: %v", backendBucket, devStateKey, err)
		}
		lockKey := devStateKey + ".tflock"
		if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(backendBucket), Key: aws.String(lockKey)}); err == nil {
			t.Fatalf("the lock file %s outlived the apply", lockKey)
		}
		// Someone else's lock.
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(backendBucket), Key: aws.String(lockKey),
			Body: strings.NewReader(`{"ID":"someone-else","Operation":"OperationTypeApply","Who":"colleague@host"}`)}); err != nil {
			t.Fatal(err)
		}
		b.mustFailLocked("apply")
		if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(backendBucket), Key: aws.String(lockKey)}); err != nil {
			t.Fatal(err)
		}
		b.mustRun("apply")
	})

	t.Run("Terraform_1.5_refuses_use_lockfile", func(t *testing.T) {
		tf := cliFromEnv(t, "MEMO_TERRAFORM", "bin/terraform")
		// As make deploy runs init: no -backend-config. Terraform refuses
		// the block before it calls S3.
		b := newBackendRun(t, tf, example, "")
		out, err := b.run("init")
		if err == nil || !strings.Contains(out, "Unsupported argument") || !strings.Contains(out, "use_lockfile") {
			t.Fatalf("terraform 1.5 init with use_lockfile: want an unsupported-argument error naming use_lockfile, got err=%v:\n%s", err, out)
		}
	})

	// The hazard the README warns of: given a -backend-config file,
	// Terraform 1.5.7 does not check the backend block's argument names, so
	// it takes the example, ignores use_lockfile and locks nothing.
	t.Run("Terraform_1.5_with_a_backend_config_file_ignores_use_lockfile", func(t *testing.T) {
		tf := cliFromEnv(t, "MEMO_TERRAFORM", "bin/terraform")
		b := newBackendRun(t, tf, example, terraform15Overrides(m.URL))
		b.mustRun("init")
		b.mustRun("workspace", "new", "unlocked15")
		lockKey := "memo/unlocked15/memo.tfstate.tflock"
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(backendBucket), Key: aws.String(lockKey),
			Body: strings.NewReader(`{"ID":"someone-else"}`)}); err != nil {
			t.Fatal(err)
		}
		b.mustRun("apply")
	})

	t.Run("Terraform_1.5_locks_with_the_DynamoDB_table", func(t *testing.T) {
		tf := cliFromEnv(t, "MEMO_TERRAFORM", "bin/terraform")
		switched := toDynamoDBLock.Replace(example)
		if !strings.Contains(switched, "\n    dynamodb_table = ") || strings.Contains(switched, "\n    use_lockfile") {
			t.Fatalf("the README's switch did not produce a DynamoDB lock:\n%s", switched)
		}
		b := newBackendRun(t, tf, switched, terraform15Overrides(m.URL))
		b.mustRun("init")
		b.mustRun("workspace", "new", "dev15")
		b.mustRun("apply")
		lockID := backendBucket + "/memo/dev15/memo.tfstate"
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(backendLockTable), Item: map[string]ddbtypes.AttributeValue{
			"LockID": &ddbtypes.AttributeValueMemberS{Value: lockID},
			"Info":   &ddbtypes.AttributeValueMemberS{Value: `{"ID":"someone-else","Operation":"OperationTypeApply","Who":"colleague@host"}`},
		}}); err != nil {
			t.Fatal(err)
		}
		b.mustFailLocked("apply")
		if _, err := ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(backendLockTable),
			Key: map[string]ddbtypes.AttributeValue{"LockID": &ddbtypes.AttributeValueMemberS{Value: lockID}}}); err != nil {
			t.Fatal(err)
		}
		b.mustRun("apply")
	})
}

// terraform15Overrides points Terraform 1.5's S3 backend (AWS SDK for Go
// v1 arguments) at moto.
func terraform15Overrides(url string) string {
	return fmt.Sprintf(`endpoint                    = %q
dynamodb_endpoint           = %q
force_path_style            = true
skip_credentials_validation = true
skip_region_validation      = true
skip_metadata_api_check     = true
access_key                  = "test"
secret_key                  = "test"
`, url, url)
}

// cliFromEnv is the CLI binary named by env (make tf-policy sets it), or
// the repository's def when it exists. Without either the test skips,
// except under CI.
func cliFromEnv(t *testing.T, env, def string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", def))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s is unset and %s does not exist (make tf-policy builds it)", env, def)
	}
	t.Skipf("%s is unset and %s does not exist: run make tf-policy", env, def)
	return ""
}

// backendRun is a folder with backend.tf, a configuration that needs no
// provider (one terraform_data resource), and the -backend-config file that
// points the backend at moto.
type backendRun struct {
	t         *testing.T
	cli       string
	dir       string
	overrides bool // init with -backend-config=moto.s3.tfbackend
}

func newBackendRun(t *testing.T, cli, backend, overrides string) *backendRun {
	dir := t.TempDir()
	files := map[string]string{
		"backend.tf":        backend,
		"main.tf":           "resource \"terraform_data\" \"stamp\" {\n  input = \"memo\"\n}\n",
		"moto.s3.tfbackend": overrides,
		"empty.tfrc":        "",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &backendRun{t: t, cli: cli, dir: dir, overrides: overrides != ""}
}

// run runs the CLI in the folder with a clean environment: no TF_*,
// TOFU_* or AWS_* variable of the caller's, no CLI configuration.
func (b *backendRun) run(args ...string) (string, error) {
	switch args[0] {
	case "init":
		args = append(args, "-input=false")
		if b.overrides {
			args = append(args, "-backend-config=moto.s3.tfbackend")
		}
	case "apply":
		args = append(args, "-input=false", "-auto-approve", "-lock-timeout=0s")
	}
	args = append(args, "-no-color")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.cli, append([]string{"-chdir=" + b.dir}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "TOFU_") && !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "AWS_EC2_METADATA_DISABLED=true",
		"TF_CLI_CONFIG_FILE="+filepath.Join(b.dir, "empty.tfrc"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (b *backendRun) mustRun(args ...string) {
	b.t.Helper()
	if out, err := b.run(args...); err != nil {
		b.t.Fatalf("%s %s: %v\n%s", filepath.Base(b.cli), strings.Join(args, " "), err, out)
	}
}

// mustFailLocked runs args, which must fail on the state lock.
func (b *backendRun) mustFailLocked(args ...string) {
	b.t.Helper()
	out, err := b.run(args...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "Error acquiring the state lock") {
		b.t.Fatalf("%s %s with the state locked by someone else: want \"Error acquiring the state lock\", got err=%v:\n%s",
			filepath.Base(b.cli), strings.Join(args, " "), err, out)
	}
	b.t.Logf("%s %s, state locked: %s", filepath.Base(b.cli), strings.Join(args, " "), firstLines(out, 3))
}
