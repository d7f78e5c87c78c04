package main

// These tests run the real memo binary against the local twin, the way a
// person would: memo local serving, the stock AWS CLI where it is installed,
// and memo's own commands, including the progress bar on a terminal (tmux).

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memohq/memo/internal/dev/local/localtest"
)

// served is a `memo local` process serving the twin.
type served struct {
	bin                          string
	endpoint, bucket, table, dlq string
	cmd                          *exec.Cmd
}

func buildMemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "memo")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func serve(t *testing.T) *served {
	t.Helper()
	localtest.RequireMoto(t)
	s := &served{bin: buildMemo(t)}
	s.cmd = exec.Command(s.bin, "local")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// memo local stops moto on SIGINT; the process group is killed
		// after a grace period whatever happens.
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	lines := bufio.NewScanner(stdout)
	deadline := time.After(90 * time.Second)
	got := make(chan string)
	go func() {
		for lines.Scan() {
			got <- lines.Text()
		}
		close(got)
	}()
	for s.endpoint == "" || s.bucket == "" || s.table == "" || s.dlq == "" {
		select {
		case line, ok := <-got:
			if !ok {
				t.Fatal("memo local exited before it was ready")
			}
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "endpoint":
				s.endpoint = v
			case "bucket":
				s.bucket = v
			case "table":
				s.table = v
			case "dlq":
				s.dlq = v
			}
		case <-deadline:
			t.Fatal("memo local did not print its resources in 90s")
		}
	}
	go func() {
		for range got {
		}
	}()
	return s
}

// memo runs the binary against the served twin.
func (s *served) memo(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+s.endpoint)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

func awsCLI(t *testing.T, s *served, args ...string) string {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", s.endpoint}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func etag(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

const mixedFile = "../../examples/mixed.json"

var mixedResults = []string{
	`a -> 2`,
	`bool -> true`,
	`div -> error: not a finite number (+Inf): division by zero, or a result out of range`,
	`fn -> 4`,
	`str -> "abcd"`,
	`syntax -> error: syntax error: unexpected end of expression`,
	`var -> error: variables are not allowed (found "foo"): an op is a constant expression`,
}

var mixedRejections = []string{
	`rejected #1 "": name is empty`,
	`rejected #2 a: duplicate of op 0`,
	`rejected #6 "bad\u0001name": name contains control character U+0001 at byte 3`,
}

const mixedLine = "total=10 ok=4 error=3 rejected=3 superseded=0 dlq=0 lost=0"

// TestServedTwinWithAWSCLI is issue 2's acceptance: with memo local serving,
// aws s3 cp of a batch whose key has a space (and an accent) produces the
// results, errors and rejections the rules say, visible with aws dynamodb
// get-item and memo status, results and dlq.
func TestServedTwinWithAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	// The test is named for the AWS CLI: it uploads and reads with it,
	// and does not stand in memo submit when it is missing.
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but the AWS CLI is not installed (apt-get install awscli)")
		}
		t.Skip("the AWS CLI is not installed")
	}
	s := serve(t)
	key := "batches/my mixed é.json"
	awsCLI(t, s, "s3", "cp", mixedFile, "s3://"+s.bucket+"/"+key)
	// A batch is one upload, named by its version id; the key@ETag that
	// aws s3 cp shows names the newest upload with that content.
	var head struct{ VersionId string }
	if err := json.Unmarshal([]byte(awsCLI(t, s, "s3api", "head-object", "--bucket", s.bucket, "--key", key)), &head); err != nil || head.VersionId == "" {
		t.Fatalf("head-object: %v %+v", err, head)
	}
	id := key + "@" + head.VersionId
	byETag := key + "@" + etag(t, mixedFile)

	out, code := s.memo(t, "status", "--watch", "--interval", "300ms", byETag)
	if code != 0 || !strings.Contains(out, mixedLine) {
		t.Fatalf("memo status --watch: exit %d\n%s", code, out)
	}
	for _, r := range mixedRejections {
		if !strings.Contains(out, r) {
			t.Errorf("memo status lacks %q:\n%s", r, out)
		}
	}

	out, code = s.memo(t, "results", "--batch", byETag, "--format", "arrow")
	if code != 0 || strings.TrimSpace(out) != strings.Join(mixedResults, "\n") {
		t.Fatalf("memo results --batch: exit %d\n%s\nwant:\n%s", code, out, strings.Join(mixedResults, "\n"))
	}

	out, code = s.memo(t, "results", "--format", "json", "a", "div", "str")
	if code != 0 {
		t.Fatalf("memo results --format json: %d\n%s", code, out)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not one JSON object per line: %q", l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 || lines[0]["result"] != 2.0 || lines[1]["error"] != "not a finite number (+Inf): division by zero, or a result out of range" || lines[2]["result"] != "abcd" || lines[0]["batch"] != id {
		t.Fatalf("json results: %v", lines)
	}

	out, code = s.memo(t, "results", "--format", "csv", "bool")
	if code != 0 || !strings.HasPrefix(out, "name,status,result,type,error,op,batch,computed_at\nbool,ok,true,bool,,1 < 2,") {
		t.Fatalf("csv: %d\n%s", code, out)
	}
	out, code = s.memo(t, "results", "--format", "table", "fn", "missing")
	if code != 1 || !regexp.MustCompile(`NAME +STATUS +RESULT +OP\nfn +ok +4 +sqrt\(16\)`).MatchString(out) || !strings.Contains(out, "no result for missing") {
		t.Fatalf("table with a missing name: exit %d\n%s", code, out)
	}

	item := awsCLI(t, s, "dynamodb", "get-item", "--table-name", s.table, "--key", `{"name": {"S": "div"}}`)
	var got struct {
		Item map[string]map[string]any
	}
	if err := json.Unmarshal([]byte(item), &got); err != nil {
		t.Fatal(err)
	}
	if got.Item["status"]["S"] != "error" || got.Item["error"]["S"] != "not a finite number (+Inf): division by zero, or a result out of range" || got.Item["batch"]["S"] != id {
		t.Fatalf("aws dynamodb get-item: %s", item)
	}

	out, code = s.memo(t, "dlq", "list")
	if code != 0 || !strings.Contains(out, "0 messages") {
		t.Fatalf("memo dlq list: %d\n%s", code, out)
	}

	// A structurally broken file: rejected whole, exit code 4.
	broken := filepath.Join(t.TempDir(), "broken.json")
	os.WriteFile(broken, []byte(`{"ops": [{"name": "a", "op": "1"}`), 0o644)
	out, code = s.memo(t, "submit", "--wait", broken)
	if code != exitRejected || !strings.Contains(out, "batch rejected: byte 33:") || !strings.Contains(out, "total=0") {
		t.Fatalf("broken batch: exit %d\n%s", code, out)
	}
}

// TestSubmitProgressOnATerminal runs memo submit --wait in tmux and reads
// the progress bar off the screen; without a terminal it prints plain lines.
func TestSubmitProgressOnATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but tmux is not installed (apt-get install tmux)")
		}
		t.Skip("tmux not installed")
	}
	s := serve(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "progress.jsonl")
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, `{"name": "p%d", "op": "%d + 1"}`+"\n", i, i)
	}
	os.WriteFile(file, []byte(b.String()), 0o644)

	session := fmt.Sprintf("memo-test-%d", os.Getpid())
	done := filepath.Join(dir, "done")
	script := fmt.Sprintf("AWS_ENDPOINT_URL=%s %s submit --wait %s; echo exit=$? > %s; sleep 60", s.endpoint, s.bin, file, done)
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "20", script).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(done); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("memo submit --wait did not finish in 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	screen, err := exec.Command("tmux", "capture-pane", "-p", "-t", session).Output()
	if err != nil {
		t.Fatal(err)
	}
	exit, _ := os.ReadFile(done)
	if strings.TrimSpace(string(exit)) != "exit=0" {
		t.Fatalf("memo submit --wait: %s\n%s", exit, screen)
	}
	if !regexp.MustCompile(`█{30} 500/500 ops +\d+ ops/s +ETA 0s`).Match(screen) || !strings.Contains(string(screen), "lost=0") {
		t.Fatalf("no finished progress bar on the screen:\n%s", screen)
	}

	// Not a terminal: plain lines, no escape codes.
	out, code := s.memo(t, "submit", "--key", "batches/plain.jsonl", "--wait", file)
	if code != 0 || strings.Contains(out, "\033[") || strings.Contains(out, "█") || !strings.Contains(out, "progress: 500/500 ops") {
		t.Fatalf("plain progress: exit %d\n%s", code, out)
	}
}

// TestLocalBatch is make run: memo local --batch on the seed example prints
// both results and lost=0, then stops everything it started.
func TestLocalBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	localtest.RequireMoto(t)
	bin := buildMemo(t)
	cmd := exec.Command(bin, "local", "--batch", "../../examples/work.json")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("memo local --batch: %v\n%s", err, out)
	}
	want := regexp.MustCompile(`(?m)^1_plus_1 -> 2\n2_by_2 -> 4\nbatch batches/work\.json@[0-9A-Za-z._-]+: total=2 ok=2 error=0 rejected=0 superseded=0 dlq=0 lost=0( \(reconciled by names: [a-z ,]+\))?\n$`)
	if !want.Match(out) {
		t.Fatalf("output:\n%s", out)
	}
	// Its moto is gone: the endpoint it printed no longer answers.
	endpoint := regexp.MustCompile(`(?m)^endpoint: (\S+)$`).FindSubmatch(out)
	if endpoint == nil {
		t.Fatal("no endpoint line")
	}
	if resp, err := http.Get(string(endpoint[1]) + "/moto-api/"); err == nil {
		resp.Body.Close()
		t.Fatalf("%s still answers after memo local exited", endpoint[1])
	}
}
