// Command tfcheck is make tf-check's Terraform step: with the pinned
// Terraform and the offline stand-in for hashicorp/aws (package offline),
// it runs init -backend=false, validate, and plan for each workspace of
// offline.Plans in a throw-away copy of terraform/, printing Terraform's
// own verdicts, and fails on any error.
//
//	go run ./tools/tfcheck [-terraform bin/terraform]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/memohq/memo/tools/tfcheck/offline"
)

func main() {
	tf := flag.String("terraform", "", "terraform binary (default bin/terraform)")
	flag.Parse()
	if err := run(*tf); err != nil {
		fmt.Fprintln(os.Stderr, "tf-check:", err)
		os.Exit(1)
	}
}

func run(tf string) error {
	start := time.Now()
	env, err := offline.Setup(".", tf, os.Stdout)
	if err != nil {
		return err
	}
	files, err := offline.ReadTerraform("terraform")
	if err != nil {
		return err
	}
	w, err := env.Copy("", files)
	if err != nil {
		return err
	}
	defer w.Remove()
	if _, err := w.Init(); err != nil {
		return err
	}
	out, err := w.Run("validate", "-no-color")
	if err != nil {
		return err
	}
	fmt.Printf("terraform validate: %s\n", strings.TrimSpace(out))
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
			return fmt.Errorf("plan %s (workspace %s): %w", p.Name, p.Workspace, errs[i])
		}
		fmt.Printf("terraform plan %-20s workspace %-8s %s\n", p.Name, p.Workspace, summaries[i])
	}
	fmt.Printf("tf-check: validate and %d plans in %s\n", len(plans), time.Since(start).Round(100*time.Millisecond))
	return nil
}
