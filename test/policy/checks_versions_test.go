package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/memohq/memo/tools/tfcheck/offline"
)

// Provider releases the constraints must allow and refuse:
// terraform/README.md, "Provider versions".
var (
	// The release make tf-check validates against, and the ones from
	// 6.29.0 whose plan failed on the batch index (a GSI with a hash key
	// and no range key: hashicorp/terraform-provider-aws issues #46606,
	// #46285, #46755), which memo no longer has (issue 22).
	providerKnownGood = []string{offline.AWSVersion, "6.29.0", "6.30.0", "6.36.0"}
	// 7.0 is the next major, expected to drop hash_key (deprecated in
	// later 6.x).
	providerKnownBad = []string{"7.0.0"}
)

// checkProviderVersions: both modules' hashicorp/aws constraints allow the
// release make tf-check validates against and refuse the known bad ones.
func checkProviderVersions(c *Config) []string {
	var p problems
	for _, m := range []*Module{c.Root, c.Pipeline} {
		constraint := ""
		for _, tb := range m.Blocks("terraform") {
			for _, rp := range nested(tb, "required_providers") {
				x := attr(rp, "aws")
				if x == nil {
					continue
				}
				v, diags := x.Value(nil)
				if diags.HasErrors() || !v.Type().IsObjectType() || !v.Type().HasAttribute("version") {
					p.add("terraform/%s: required_providers.aws has no version (%s)", m.Dir, diags.Error())
					continue
				}
				constraint = v.GetAttr("version").AsString()
			}
		}
		if constraint == "" {
			p.add("terraform/%s does not constrain the hashicorp/aws version", m.Dir)
			continue
		}
		for _, v := range providerKnownGood {
			if ok, err := allows(constraint, v); err != nil || !ok {
				p.add("terraform/%s: hashicorp/aws %q refuses %s, the release make tf-check validates against (%v)", m.Dir, constraint, v, err)
			}
		}
		for _, v := range providerKnownBad {
			if ok, err := allows(constraint, v); err != nil || ok {
				p.add("terraform/%s: hashicorp/aws %q allows %s, known bad (%v)", m.Dir, constraint, v, err)
			}
		}
	}
	return p
}

// allows evaluates a Terraform version constraint ("comma-separated
// operator version" terms, all of which must hold) for version v, for the
// plain numeric versions used here.
func allows(constraint, v string) (bool, error) {
	have, err := parseVersion(v)
	if err != nil {
		return false, err
	}
	for _, term := range strings.Split(constraint, ",") {
		term = strings.TrimSpace(term)
		op := strings.TrimRight(term, "0123456789. ")
		want, err := parseVersion(strings.TrimSpace(strings.TrimPrefix(term, op)))
		if err != nil {
			return false, fmt.Errorf("%q: %w", term, err)
		}
		cmp := compareVersions(have, want)
		var ok bool
		switch strings.TrimSpace(op) {
		case "", "=":
			ok = cmp == 0
		case "!=":
			ok = cmp != 0
		case ">":
			ok = cmp > 0
		case ">=":
			ok = cmp >= 0
		case "<":
			ok = cmp < 0
		case "<=":
			ok = cmp <= 0
		case "~>":
			// ~> 6.25.0 allows 6.25.x; ~> 6.0 allows 6.x: the last given
			// part may grow, the ones before it are fixed.
			upper := append([]int(nil), want[:len(want)-1]...)
			if len(upper) == 0 {
				return false, fmt.Errorf("%q: ~> needs two parts", term)
			}
			upper[len(upper)-1]++
			ok = cmp >= 0 && compareVersions(have, upper) < 0
		default:
			return false, fmt.Errorf("%q: operator %q", term, op)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func parseVersion(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("version %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// compareVersions compares part by part, missing parts being 0.
func compareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
