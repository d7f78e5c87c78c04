package policy

// Plans of terraform/: the pinned Terraform with memo's offline stand-in
// for hashicorp/aws (tools/tfcheck/offline) plans a copy of the
// configuration, and the checks that read a plan read `terraform show
// -json` of it: the values Terraform itself resolved (names per workspace,
// timeouts, mapping settings, retention, encryption, alarms). What a
// schema-only provider cannot know (ARNs, URLs, and therefore the IAM
// documents and redrive policies built from them) is unknown in a plan;
// the checks of those read the HCL (eval_test.go).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/memohq/memo/tools/tfcheck/offline"
	"github.com/zclconf/go-cty/cty"
)

// planSpecs are the plans the invariants read, by name. policy.tfvars sets
// unusual values (none equals a default) so that a typed value in place of
// a variable shows in the plan.
var planSpecs = map[string]offline.Plan{
	"default":  {Name: "default", Workspace: "default"},
	"dev":      {Name: "dev", Workspace: "dev", VarFiles: []string{"env/dev.tfvars"}},
	"prod":     {Name: "prod", Workspace: "prod", VarFiles: []string{"env/prod.tfvars"}},
	"features": {Name: "features", Workspace: "features", VarFiles: []string{testdata("features-on.tfvars")}},
	"policy":   {Name: "policy", Workspace: testWorkspace, VarFiles: []string{testdata("features-on.tfvars"), testdata("policy.tfvars")}},
	// The tables' deletion protection switch.
	"prod-defaults":    {Name: "prod-defaults", Workspace: "prod"},
	"prod-unprotected": {Name: "prod-unprotected", Workspace: "prod", Vars: []string{"deletion_protection=false"}},
	"dev-protected":    {Name: "dev-protected", Workspace: "dev", Vars: []string{"deletion_protection=true"}},
	// Warm throughput below a new on-demand table's.
	"warm-too-low": {Name: "warm-too-low", Workspace: testWorkspace, Vars: []string{"warm_throughput={read_units_per_second=12000,write_units_per_second=1000}"}},
	// SQS mappings need a batching window above 10 messages per batch.
	"esm-100-no-window": {Name: "esm-100-no-window", Workspace: testWorkspace, Vars: []string{"compute_batch_size=100", "compute_batching_window_seconds=0"}},
	"esm-10-no-window":  {Name: "esm-10-no-window", Workspace: testWorkspace, Vars: []string{"compute_batch_size=10", "compute_batching_window_seconds=0"}},
	// CloudWatch's bound of 5 alarm (and OK) actions, on both sides.
	"alarm-actions-5": {Name: "alarm-actions-5", Workspace: testWorkspace, Vars: []string{"alarm_actions=" + arnList(5)}},
	"alarm-actions-6": {Name: "alarm-actions-6", Workspace: testWorkspace, Vars: []string{"alarm_actions=" + arnList(6)}},
	"alarm-actions-5-and-topic": {Name: "alarm-actions-5-and-topic", Workspace: testWorkspace,
		Vars: []string{"alarm_actions=" + arnList(5), "create_alarm_topic=true"}},
	"alarm-actions-4-and-topic": {Name: "alarm-actions-4-and-topic", Workspace: testWorkspace,
		Vars: []string{"alarm_actions=" + arnList(4), "create_alarm_topic=true"}},
	// A user's function (examples/functions/checksum): its settings and its
	// own statements; a wildcard action only with the explicit flag.
	"no-function":                    {Name: "no-function", Workspace: testWorkspace},
	"user-function":                  {Name: "user-function", Workspace: testWorkspace, Vars: userFunctionVars("s3:GetObject", "s3:ListBucket")},
	"user-function-wildcard":         {Name: "user-function-wildcard", Workspace: testWorkspace, Vars: userFunctionVars("s3:Get*")},
	"user-function-wildcard-allowed": {Name: "user-function-wildcard-allowed", Workspace: testWorkspace, Vars: append(userFunctionVars("s3:Get*"), "allow_wildcard_actions=true")},
	// The op rules are a word of two.
	"op-rules-unknown": {Name: "op-rules-unknown", Workspace: testWorkspace, Vars: []string{"split_op_rules=JSON"}},
}

// userFunctionVars are the variables of a deployment of the checksum
// example with the given actions on its bucket.
func userFunctionVars(actions ...string) []string {
	var as []string
	for _, a := range actions {
		as = append(as, fmt.Sprintf("%q", a))
	}
	return []string{
		`split_op_rules=json`,
		`compute_environment={OBJECTS_BUCKET="photos"}`,
		`compute_policy_statements=[{sid="ReadPhotos",actions=[` + strings.Join(as, ",") + `],resources=["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}]`,
	}
}

func testdata(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

// arnList is an HCL list of n SNS topic ARNs.
func arnList(n int) string {
	var arns []string
	for i := range n {
		arns = append(arns, fmt.Sprintf("%q", fmt.Sprintf("arn:aws:sns:eu-west-1:%s:pager-%d", testAccount, i)))
	}
	return "[" + strings.Join(arns, ", ") + "]"
}

// tfPlan is one plan's outcome: Err when terraform plan failed (its
// output), otherwise the planned resources.
type tfPlan struct {
	Name      string
	Workspace string
	Summary   string
	Err       error
	// After and Unknown are each resource's planned values and the
	// attributes known only after apply, by address relative to the
	// module (module.pipeline.aws_sqs_queue.ops -> aws_sqs_queue.ops).
	After   map[string]map[string]any
	Unknown map[string]map[string]any
	Outputs map[string]any
}

// plans are the plans an invariant reads, by spec name. A partial set
// (the plans of a broken copy: see breakPlans) lacks some; checks skip
// those.
type plans struct {
	byName  map[string]*tfPlan
	partial bool
}

func parsePlan(name, ws, summary string, js []byte) (*tfPlan, error) {
	var doc struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Mode    string `json:"mode"`
			Change  struct {
				After        map[string]any `json:"after"`
				AfterUnknown map[string]any `json:"after_unknown"`
			} `json:"change"`
		} `json:"resource_changes"`
		OutputChanges map[string]struct {
			After any `json:"after"`
		} `json:"output_changes"`
	}
	d := json.NewDecoder(strings.NewReader(string(js)))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("plan %s: %w", name, err)
	}
	p := &tfPlan{Name: name, Workspace: ws, Summary: summary, After: map[string]map[string]any{}, Unknown: map[string]map[string]any{}, Outputs: map[string]any{}}
	for _, rc := range doc.ResourceChanges {
		if rc.Mode != "managed" {
			continue
		}
		addr := strings.TrimPrefix(rc.Address, "module.pipeline.")
		p.After[addr] = rc.Change.After
		p.Unknown[addr] = rc.Change.AfterUnknown
	}
	for k, o := range doc.OutputChanges {
		p.Outputs[k] = o.After
	}
	return p, nil
}

// planner plans copies of terraform/; one per test binary.
var planner struct {
	once sync.Once
	env  *offline.Env
	base *offline.Workdir // initialised once; copies share its .terraform
	err  error
	tmp  string
}

func setupPlanner() error {
	planner.once.Do(func() {
		planner.tmp, planner.err = os.MkdirTemp("", "memo-policy-")
		if planner.err != nil {
			return
		}
		planner.env, planner.err = offline.Setup("../..", os.Getenv("MEMO_TERRAFORM"), os.Stderr)
		if planner.err != nil {
			return
		}
		files, err := offline.ReadTerraform(terraformDir)
		if err != nil {
			planner.err = err
			return
		}
		planner.base, planner.err = planner.env.Copy(planner.tmp, files)
		if planner.err == nil {
			_, planner.err = planner.base.Init()
		}
	})
	return planner.err
}

// TestMain removes the planner's copies.
func TestMain(m *testing.M) {
	code := m.Run()
	if planner.tmp != "" {
		os.RemoveAll(planner.tmp)
	}
	os.Exit(code)
}

// planSlots bounds the plans running at once in the test binary (each is
// a terraform and a provider process).
var planSlots = make(chan struct{}, 2*runtime.NumCPU())

// planConfig plans files (terraform/ as read by readTerraform, possibly
// broken) for each named spec, in parallel. A plan that fails is returned
// with its Err set; setting up the copy failing fails the test.
func planConfig(t *testing.T, files map[string][]byte, names []string) plans {
	t.Helper()
	if err := setupPlanner(); err != nil {
		t.Fatalf("offline Terraform: %v", err)
	}
	w, err := planner.env.Copy(planner.tmp, files)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Remove()
	if err := w.ShareInit(planner.base); err != nil {
		t.Fatal(err)
	}
	if err := w.Trim(files); err != nil {
		t.Fatal(err)
	}
	out := plans{byName: map[string]*tfPlan{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range names {
		spec, ok := planSpecs[n]
		if !ok {
			t.Fatalf("no plan spec %q", n)
		}
		wg.Go(func() {
			planSlots <- struct{}{}
			defer func() { <-planSlots }()
			summary, js, err := w.Plan(spec)
			p := &tfPlan{Name: n, Workspace: spec.Workspace, Err: err}
			if err == nil {
				p, err = parsePlan(n, spec.Workspace, summary, js)
				if err != nil {
					p = &tfPlan{Name: n, Workspace: spec.Workspace, Err: err}
				}
			}
			mu.Lock()
			out.byName[n] = p
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// ok returns the plans that succeeded, in name order, and records a
// problem for each that failed.
func (ps plans) ok(p *problems, names ...string) []*tfPlan {
	var out []*tfPlan
	for _, n := range names {
		pl, found := ps.byName[n]
		switch {
		case !found && ps.partial:
		case !found:
			p.add("plan %s was not made", n)
		case pl.Err != nil:
			p.add("plan %s failed: %v", n, pl.Err)
		default:
			out = append(out, pl)
		}
	}
	return out
}

// failed returns plan n, which must fail: present is false when a
// partial set lacks it; a missing plan in a full set is a problem.
func (ps plans) failed(p *problems, n string) (err error, present bool) {
	pl, found := ps.byName[n]
	switch {
	case !found && ps.partial:
		return nil, false
	case !found:
		p.add("plan %s was not made", n)
		return nil, false
	}
	return pl.Err, true
}

// errText is a failed plan's output as one line: Terraform wraps its
// messages to the terminal's width.
func errText(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "│", " ")), " ")
}

// resource returns the planned values of addr or records that the plan
// has no such resource.
func (pl *tfPlan) resource(p *problems, addr string) map[string]any {
	r, ok := pl.After[addr]
	if !ok {
		p.add("plan %s has no resource %s", pl.Name, addr)
	}
	return r
}

// addresses returns the plan's resource addresses with the given type, sorted.
func (pl *tfPlan) addresses(typ string) []string {
	var out []string
	for a := range pl.After {
		if strings.HasPrefix(a, typ+".") {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// get walks v by keys (string for an object, int for a list).
func get(v any, path ...any) any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// getNum is a planned number; false when absent, null or unknown.
func getNum(v any, path ...any) (float64, bool) {
	n, ok := get(v, path...).(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func getStr(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func getBool(v any, path ...any) bool {
	b, _ := get(v, path...).(bool)
	return b
}

func getList(v any, path ...any) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func getStrs(v any, path ...any) []string {
	l, _ := get(v, path...).([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// policyVars are the values testdata/policy.tfvars sets (the plan
// "policy"), which the checks expect to find in that plan.
var policyVars = func() map[string]float64 {
	src, err := os.ReadFile(filepath.Join("testdata", "policy.tfvars"))
	if err != nil {
		panic(err)
	}
	f, diags := hclsyntax.ParseConfig(src, "policy.tfvars", hcl.InitialPos)
	if diags.HasErrors() {
		panic(diags.Error())
	}
	out := map[string]float64{}
	for name, a := range f.Body.(*hclsyntax.Body).Attributes {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || v.Type() != cty.Number {
			panic(fmt.Sprintf("policy.tfvars: %s is not a number", name))
		}
		out[name], _ = v.AsBigFloat().Float64()
	}
	return out
}()
