package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// protectedWorkspaces are refused by name, whatever their state says.
var protectedWorkspaces = map[string]bool{"prod": true}

// stateModule is the part of `terraform show -json` the guard reads.
type stateModule struct {
	Resources []struct {
		Address string         `json:"address"`
		Mode    string         `json:"mode"`
		Type    string         `json:"type"`
		Values  map[string]any `json:"values"`
	} `json:"resources"`
	ChildModules []stateModule `json:"child_modules"`
}

type stateShow struct {
	Values *struct {
		RootModule stateModule `json:"root_module"`
	} `json:"values"`
}

// protections lists why the state must not be destroyed: a table with
// deletion protection, a bucket Terraform may not empty.
func protections(show []byte) ([]string, error) {
	var s stateShow
	if err := json.Unmarshal(show, &s); err != nil {
		return nil, fmt.Errorf("reading terraform show -json: %w", err)
	}
	if s.Values == nil {
		return nil, nil // an empty state
	}
	var why []string
	var walk func(m stateModule)
	walk = func(m stateModule) {
		for _, r := range m.Resources {
			if r.Mode != "managed" {
				continue
			}
			switch r.Type {
			case "aws_dynamodb_table":
				if v, _ := r.Values["deletion_protection_enabled"].(bool); v {
					why = append(why, fmt.Sprintf("%s (%v) has deletion protection: Terraform would destroy everything else, then fail on it", r.Address, r.Values["name"]))
				}
			case "aws_s3_bucket":
				if v, ok := r.Values["force_destroy"].(bool); ok && !v {
					why = append(why, fmt.Sprintf("%s (%v) has force_destroy = false: if it holds any object version, Terraform would destroy everything else, then fail on it", r.Address, r.Values["bucket"]))
				}
			}
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(s.Values.RootModule)
	return why, nil
}

// guardDestroy exits 0 when the selected workspace of dir may be destroyed.
// It runs `terraform show -json`, which reads the state and changes
// nothing (no refresh, no plan).
func guardDestroy(tf, dir, ws, allow string, stdout, stderr io.Writer) int {
	var why []string
	if protectedWorkspaces[ws] {
		why = append(why, fmt.Sprintf("the workspace %s is protected by name", ws))
	}
	cmd := exec.Command(tf, "-chdir="+dir, "show", "-json")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(stderr, "make destroy: refused: cannot read the state of workspace %s (%s -chdir=%s show -json: %v)\n%s", ws, tf, dir, err, errb.String())
		return 1
	}
	p, err := protections(out)
	if err != nil {
		fmt.Fprintf(stderr, "make destroy: refused: %v\n", err)
		return 1
	}
	why = append(why, p...)
	if len(why) == 0 {
		return 0
	}
	if allow == ws {
		fmt.Fprintf(stdout, "make destroy: ALLOW_DESTROY=%s: destroying the protected workspace %s:\n  %s\n", ws, ws, strings.Join(why, "\n  "))
		return 0
	}
	fmt.Fprintf(stderr, `make destroy: refused before Terraform planned anything: workspace %s must not be destroyed as it stands:
  %s
A destroy removes the functions, their event source mappings and log groups, every queue with
the messages in it (the DLQs too), the IAM roles, alarms, dashboard and alarm topic, the bucket's
policy, public access block, encryption, versioning and lifecycle, then the bucket and the table.
To destroy it anyway, first lift the protection, then name the workspace:
  make deploy  WORKSPACE=%s TF_ARGS='-var deletion_protection=false -var force_destroy=true'
  make destroy WORKSPACE=%s ALLOW_DESTROY=%s
`, ws, strings.Join(why, "\n  "), ws, ws, ws)
	return 1
}
