// Command tfcheck is make tf-check's Terraform step: with each pinned CLI
// (Terraform v1.5.7, the floor versions.tf allows; the newest Terraform;
// OpenTofu) and the offline stand-in for hashicorp/aws (package offline),
// it prints the CLI's version line, runs init -backend=false, validate, and
// plan for each workspace of offline.Plans in a throw-away copy of
// terraform/, printing the CLI's own verdicts, then validates a copy with
// a misspelled argument, which must fail. Any error fails the command.
//
//	go run ./tools/tfcheck [-terraform bin/terraform] [-terraform bin/tofu-1.10.6 ...]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/memohq/memo/tools/tfcheck/offline"
)

// clis collects the repeated -terraform flag.
type clis []string

func (c *clis) String() string     { return strings.Join(*c, ",") }
func (c *clis) Set(v string) error { *c = append(*c, v); return nil }

func main() {
	var tfs clis
	flag.Var(&tfs, "terraform", "a terraform or tofu binary to check with (repeatable; default bin/terraform)")
	flag.Parse()
	if err := run(tfs); err != nil {
		fmt.Fprintln(os.Stderr, "tf-check:", err)
		os.Exit(1)
	}
}

func run(tfs []string) error {
	start := time.Now()
	if len(tfs) == 0 {
		tfs = []string{""}
	}
	base, err := offline.Setup(".", tfs[0], os.Stdout)
	if err != nil {
		return err
	}
	files, err := offline.ReadTerraform("terraform")
	if err != nil {
		return err
	}
	var versions []string
	for _, tf := range tfs {
		env := base
		if tf != tfs[0] {
			if _, err := os.Stat(tf); err != nil {
				return fmt.Errorf("no CLI at %s: %w", tf, err)
			}
			env = base.For(tf)
		}
		v, err := check(env, files)
		if err != nil {
			return fmt.Errorf("%s: %w", env.Terraform, err)
		}
		versions = append(versions, v)
	}
	fmt.Printf("tf-check: validate, %d plans and the misspelled-argument check with each of %s in %s\n",
		len(offline.Plans(base)), strings.Join(versions, ", "), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// check validates and plans terraform/ with env's CLI and returns its
// version line.
func check(env *offline.Env, files map[string][]byte) (string, error) {
	version, err := env.Version()
	if err != nil {
		return "", err
	}
	name := filepath.Base(env.Terraform)
	fmt.Printf("== %s (%s)\n", version, env.Terraform)
	w, err := env.Copy("", files)
	if err != nil {
		return "", err
	}
	defer w.Remove()
	if _, err := w.Init(); err != nil {
		return "", err
	}
	out, err := w.Run("validate", "-no-color")
	if err != nil {
		return "", err
	}
	fmt.Printf("%s validate: %s\n", name, strings.TrimSpace(out))
	plans := offline.Plans(env)
	summaries := make([]string, len(plans))
	errs := make([]error, len(plans))
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Go(func() { summaries[i], _, errs[i] = w.Plan(p) })
	}
	wg.Wait()
	for i, p := range plans {
		if errs[i] != nil {
			return "", fmt.Errorf("plan %s (workspace %s): %w", p.Name, p.Workspace, errs[i])
		}
		fmt.Printf("%s plan %-20s workspace %-8s %s\n", name, p.Name, p.Workspace, summaries[i])
	}
	msg, err := misspelled(env, files, w)
	if err != nil {
		return "", err
	}
	fmt.Printf("%s validate with a misspelled argument: refused (%s)\n", name, msg)
	return version, nil
}

// A resource with one argument misspelled (visibility_timeout_seconds): a
// check that passed it would check nothing.
const (
	misspelledArg  = "visiblity_timeout_seconds"
	misspelledFile = "zz_tfcheck_misspelled.tf"
	misspelledHCL  = `resource "aws_sqs_queue" "tfcheck_misspelled" {
  name                      = "tfcheck-misspelled"
  ` + misspelledArg + ` = 30
}
`
)

// misspelled validates a copy of files plus a resource with a misspelled
// argument: the CLI must refuse it as an unsupported argument, naming it.
// It returns the CLI's diagnostic summary. The copy shares inited's
// providers instead of running init again.
func misspelled(env *offline.Env, files map[string][]byte, inited *offline.Workdir) (string, error) {
	broken := make(map[string][]byte, len(files)+1)
	for k, v := range files {
		broken[k] = v
	}
	broken[misspelledFile] = []byte(misspelledHCL)
	w, err := env.Copy("", broken)
	if err != nil {
		return "", err
	}
	defer w.Remove()
	if err := w.ShareInit(inited); err != nil {
		return "", err
	}
	out, err := w.Run("validate", "-no-color")
	if err == nil {
		return "", fmt.Errorf("validate accepted %s in %s:\n%s", misspelledArg, misspelledFile, out)
	}
	if !strings.Contains(out, "Unsupported argument") || !strings.Contains(out, misspelledArg) {
		return "", fmt.Errorf("validate failed, but not on the misspelled argument %s:\n%s", misspelledArg, out)
	}
	return fmt.Sprintf(`Error: Unsupported argument %q`, misspelledArg), nil
}
