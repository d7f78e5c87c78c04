// Package walkthrough runs the deployment docs as written: the README's
// quick start and terraform/README.md's walkthrough, block after block in
// one shell from the repository's root, against the local twin.
//
// What stands in for AWS and Terraform, and nothing else:
//   - make deploy WORKSPACE=W starts the twin (memo local) in workspace W,
//     in $TF_VAR_region (Terraform's default eu-west-1 when unset), on a
//     moto this test started; make destroy stops it. Any other make target
//     fails, and make fails where there is no Makefile, as make does.
//   - bin/terraform answers `output` and `workspace show` with the twin's
//     names under the output names of terraform/outputs.tf (standin_test.go).
//   - AWS_ENDPOINT_URL points the AWS CLI and memo at moto (the twin's
//     proxy once deployed); the user's own region is another one
//     (AWS_DEFAULT_REGION=us-west-2), so a command that does not take the
//     pipeline's region misses its resources, as it would on AWS.
//
// The shell runs in a copy of the repository with neither memo nor
// terraform on PATH: a block that uses them must install or name them.
package walkthrough

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memohq/memo/internal/dev/local"
	"github.com/memohq/memo/internal/dev/local/localtest"
)

// userRegion is the region of the user's own AWS configuration in the
// test, deliberately not the pipeline's.
const userRegion = "us-west-2"

// prelude defines the stand-in make and stops a twin left running.
const prelude = `set -euo pipefail
make() {
  if [ ! -f Makefile ]; then
    echo "make: *** No targets specified and no makefile found.  Stop." >&2; return 2
  fi
  local target=${1:-} ws=
  shift || true
  for a in "$@"; do case $a in WORKSPACE=*) ws=${a#WORKSPACE=} ;; esac; done
  case $target in
  deploy)
    [ -n "$ws" ] || { echo "usage: make deploy WORKSPACE=<name>" >&2; return 2; }
    [ ! -f "$MEMO_WT_STATE/twin.pid" ] || { echo "stand-in make: a twin already runs" >&2; return 2; }
    local region=${TF_VAR_region:-eu-west-1}
    echo "$region" > "$MEMO_WT_STATE/region"
    "$MEMO_WT_MEMO" local --endpoint "$MEMO_WT_MOTO" --workspace "$ws" --region "$region" \
      > "$MEMO_WT_STATE/twin.out" 2> "$MEMO_WT_STATE/twin.err" &
    echo $! > "$MEMO_WT_STATE/twin.pid"
    local i=0
    until grep -q '^dlq:' "$MEMO_WT_STATE/twin.out"; do
      kill -0 "$(cat "$MEMO_WT_STATE/twin.pid")" 2>/dev/null || { cat "$MEMO_WT_STATE/twin.err" >&2; return 1; }
      i=$((i+1)); [ $i -lt 1200 ] || { echo "stand-in make: the twin did not start" >&2; return 1; }
      sleep 0.1
    done
    echo "$ws" > "$MEMO_WT_STATE/workspace"
    export AWS_ENDPOINT_URL=$(awk '/^endpoint:/ {print $2}' "$MEMO_WT_STATE/twin.out")
    echo "stand-in make deploy: the twin runs workspace $ws in $region"
    ;;
  destroy)
    [ "$ws" = "$(cat "$MEMO_WT_STATE/workspace" 2>/dev/null)" ] || { echo "stand-in make: workspace $ws is not deployed" >&2; return 1; }
    kill -INT "$(cat "$MEMO_WT_STATE/twin.pid")"; wait "$(cat "$MEMO_WT_STATE/twin.pid")" || true
    rm -f "$MEMO_WT_STATE/twin.pid" "$MEMO_WT_STATE/workspace"
    export AWS_ENDPOINT_URL=$MEMO_WT_MOTO
    echo "stand-in make destroy: workspace $ws destroyed"
    ;;
  *) echo "stand-in make: make $target is not stood in (the walkthrough test stands in deploy and destroy)" >&2; return 2 ;;
  esac
}
trap '[ ! -f "$MEMO_WT_STATE/twin.pid" ] || kill -INT "$(cat "$MEMO_WT_STATE/twin.pid")" 2>/dev/null || true' EXIT
`

func TestReadmeQuickStart(t *testing.T) {
	root := localtest.RepoRoot(t)
	file, block, err := quickStart(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the quick start of %s", file)
	out := runWalkthrough(t, root, []string{block})
	for _, want := range []string{
		"bucket = ", "total=2 ok=2 error=0 rejected=0", "lost=0", `"S": "1_plus_1"`,
		"stand-in make destroy: workspace dev destroyed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the quick start's output lacks %q", want)
		}
	}
}

func TestTerraformWalkthrough(t *testing.T) {
	root := localtest.RepoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "terraform", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := section(string(md), "## Walkthrough")
	if err != nil {
		t.Fatalf("terraform/README.md: %v", err)
	}
	blocks := shellBlocks(sec)
	if len(blocks) < 7 {
		t.Fatalf("terraform/README.md's walkthrough has %d shell blocks; want one or more per step", len(blocks))
	}
	out := runWalkthrough(t, root, blocks)
	for _, want := range []string{
		"dev\n", "total=2 ok=2 error=0 rejected=0", "lost=0",
		"  split  2 ", // memo batches: the upload, split, 2 ops
		"stand-in make destroy: workspace dev destroyed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough's output lacks %q", want)
		}
	}
}

// runWalkthrough runs blocks in one bash, from the root of a copy of the
// repository, and returns what it printed; a failing command fails the
// test with the output.
func runWalkthrough(t *testing.T, root string, blocks []string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the docs against the twin (-short)")
	}
	localtest.RequireMoto(t)
	aws, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but the AWS CLI is not installed: the walkthrough needs it")
		}
		t.Skip("the AWS CLI is not installed")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	sandbox := copyRepo(t, root)
	state := t.TempDir()
	tools := t.TempDir()
	memo := filepath.Join(tools, "memo")
	build := exec.Command(goBin, "build", "-o", memo, "./cmd/memo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building memo for the stand-in make: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(sandbox, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(sandbox, "bin", "terraform")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var motoLog bytes.Buffer
	moto, err := local.StartMoto(ctx, &motoLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moto.Stop)

	script := prelude + strings.Join(blocks, "\n")
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = sandbox
	cmd.Env = walkthroughEnv(t, filepath.Dir(aws), filepath.Dir(goBin),
		envRoot+"="+sandbox, envState+"="+state, "MEMO_WT_MEMO="+memo, "MEMO_WT_MOTO="+moto.URL,
		"AWS_ENDPOINT_URL="+moto.URL, "AWS_DEFAULT_REGION="+userRegion,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = fmt.Errorf("timed out: %w", <-done)
	}
	if err != nil {
		twinErr, _ := os.ReadFile(filepath.Join(state, "twin.err"))
		t.Fatalf("the walkthrough failed: %v\n--- script ---\n%s\n--- output ---\n%s\n--- twin's stderr ---\n%s", err, strings.Join(blocks, "\n"), out.String(), twinErr)
	}
	if _, err := os.Stat(filepath.Join(state, "twin.pid")); err == nil {
		t.Errorf("the walkthrough ends with its workspace still deployed (no make destroy)")
	}
	t.Logf("output:\n%s", out.String())
	return out.String()
}

// walkthroughEnv is the test's environment without AWS and Terraform
// settings of the machine, with a PATH that holds no memo, terraform or
// tofu (the docs must install or name them), plus extra.
func walkthroughEnv(t *testing.T, keepDirs ...string) []string {
	t.Helper()
	var env []string
	extra := []string{}
	for _, d := range keepDirs {
		if strings.Contains(d, "=") {
			extra = append(extra, d)
		}
	}
	var path []string
	for _, d := range keepDirs {
		if !strings.Contains(d, "=") {
			path = append(path, d)
		}
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if hasAny(d, "memo", "terraform", "tofu") {
			continue
		}
		path = append(path, d)
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "TF_") || k == "TF" || strings.HasPrefix(k, "MEMO_") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "PATH="+strings.Join(path, string(os.PathListSeparator))), extra...)
}

func hasAny(dir string, names ...string) bool {
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && !fi.IsDir() {
			return true
		}
	}
	return false
}

// copyRepo copies the repository's files (tracked, and untracked but not
// ignored: what a clone with these changes holds) into a new folder.
func copyRepo(t *testing.T, root string) string {
	t.Helper()
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	list, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink (bin/, .cache/)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, fi.Mode().Perm()|fs.FileMode(0o200)); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
