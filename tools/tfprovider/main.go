// Command tfprovider is a schema-only stand-in for the hashicorp/aws
// provider, so that `terraform validate` and `terraform plan` run offline
// against the provider's real schema (make tf-check).
//
// It serves the schema extracted from @cdktf/provider-aws (see package
// schema) and does nothing an AWS provider would: it validates nothing
// beyond what Terraform core checks (argument names, types, required
// arguments, block structure), plans the proposed values with the computed
// attributes unknown, answers data sources from their arguments (a fixed
// account, the configured region, and aws_iam_policy_document rendered)
// and refuses apply and import.
//
// The schema file is $MEMO_TFPROVIDER_SCHEMA, or schema.json next to the
// executable.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/memohq/memo/tools/tfprovider/schema"
)

// Address is the provider this binary stands in for.
const Address = "registry.terraform.io/hashicorp/aws"

func main() {
	if err := tf5server.Serve(Address, func() tfprotov5.ProviderServer { return &server{} }); err != nil {
		fmt.Fprintln(os.Stderr, "tfprovider:", err)
		os.Exit(1)
	}
}

func schemaPath() string {
	if p := os.Getenv("MEMO_TFPROVIDER_SCHEMA"); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return "schema.json"
	}
	return filepath.Join(filepath.Dir(exe), "schema.json")
}

type server struct {
	once   sync.Once
	src    *schema.Provider
	proto  *tfprotov5.GetProviderSchemaResponse
	types  map[string]tftypes.Type // "resource.T", "data.T", "provider"
	err    error
	region string
}

// load reads and converts the schema once per process.
func (s *server) load() error {
	s.once.Do(func() {
		s.src, s.err = schema.Load(schemaPath())
		if s.err != nil {
			return
		}
		resp := &tfprotov5.GetProviderSchemaResponse{
			ResourceSchemas:   map[string]*tfprotov5.Schema{},
			DataSourceSchemas: map[string]*tfprotov5.Schema{},
			ServerCapabilities: &tfprotov5.ServerCapabilities{
				GetProviderSchemaOptional: true,
			},
		}
		s.types = map[string]tftypes.Type{}
		conv := func(key string, b *schema.Block) *tfprotov5.Schema {
			if s.err != nil {
				return nil
			}
			ps, err := protoSchema(b)
			if err != nil {
				s.err = fmt.Errorf("%s: %w", key, err)
				return nil
			}
			s.types[key] = ps.ValueType()
			return ps
		}
		resp.Provider = conv("provider", s.src.Provider)
		for name, b := range s.src.Resources {
			resp.ResourceSchemas[name] = conv("resource."+name, b)
		}
		for name, b := range s.src.DataSources {
			resp.DataSourceSchemas[name] = conv("data."+name, b)
		}
		s.proto = resp
	})
	return s.err
}

func errDiag(summary, detail string) []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{Severity: tfprotov5.DiagnosticSeverityError, Summary: summary, Detail: detail}}
}

func loadDiag(err error) []*tfprotov5.Diagnostic {
	return errDiag("Offline AWS provider stand-in has no schema", fmt.Sprintf("%s: %v (make tf-check writes it)", schemaPath(), err))
}

// refusal is the answer to everything that would need AWS.
func refusal(what string) []*tfprotov5.Diagnostic {
	return errDiag("Offline AWS provider stand-in cannot "+what,
		"This hashicorp/aws is memo's schema-only stand-in (tools/tfprovider), installed from a filesystem mirror for offline validate and plan. "+
			"It cannot "+what+": run Terraform with your own CLI configuration, which installs the real provider from the registry.")
}

func (s *server) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	if err := s.load(); err != nil {
		return &tfprotov5.GetMetadataResponse{Diagnostics: loadDiag(err)}, nil
	}
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: s.proto.ServerCapabilities}
	for _, n := range sortedKeys(s.src.Resources) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: n})
	}
	for _, n := range sortedKeys(s.src.DataSources) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: n})
	}
	return resp, nil
}

func (s *server) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	if err := s.load(); err != nil {
		return &tfprotov5.GetProviderSchemaResponse{Diagnostics: loadDiag(err)}, nil
	}
	return s.proto, nil
}

func (s *server) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

// ConfigureProvider keeps the region, which aws_region answers.
func (s *server) ConfigureProvider(_ context.Context, req *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	if err := s.load(); err != nil {
		return &tfprotov5.ConfigureProviderResponse{Diagnostics: loadDiag(err)}, nil
	}
	s.region = "us-east-1"
	if v, err := req.Config.Unmarshal(s.types["provider"]); err == nil {
		var m map[string]tftypes.Value
		if v.As(&m) == nil && m["region"].IsKnown() && !m["region"].IsNull() {
			_ = m["region"].As(&s.region)
		}
	}
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

func (s *server) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

func (s *server) ValidateResourceTypeConfig(context.Context, *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	return &tfprotov5.ValidateResourceTypeConfigResponse{}, nil
}

func (s *server) UpgradeResourceState(_ context.Context, req *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	if err := s.load(); err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: loadDiag(err)}, nil
	}
	typ := s.types["resource."+req.TypeName]
	v, err := req.RawState.Unmarshal(typ)
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errDiag("Cannot read state", err.Error())}, nil
	}
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.UpgradeResourceStateResponse{UpgradedState: &dv}, nil
}

func (s *server) ReadResource(_ context.Context, req *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

// PlanResourceChange plans the proposed new state (configuration merged
// with prior state by Terraform) with every null computed-only attribute,
// and a null id, unknown: known after apply.
func (s *server) PlanResourceChange(_ context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	if err := s.load(); err != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: loadDiag(err)}, nil
	}
	typ := s.types["resource."+req.TypeName]
	block := s.src.Resources[req.TypeName]
	if typ == nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errDiag("Unknown resource type", req.TypeName)}, nil
	}
	proposed, err := req.ProposedNewState.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	if proposed.IsNull() {
		return &tfprotov5.PlanResourceChangeResponse{PlannedState: req.ProposedNewState}, nil
	}
	planned, err := tftypes.Transform(proposed, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsNull() {
			return v, nil
		}
		a := attributeAt(block, p)
		if a == nil {
			return v, nil
		}
		if (a.Computed && !a.Optional) || (len(p.Steps()) == 1 && p.Steps()[0] == tftypes.AttributeName("id")) {
			return tftypes.NewValue(v.Type(), tftypes.UnknownValue), nil
		}
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	dv, err := tfprotov5.NewDynamicValue(typ, planned)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.PlanResourceChangeResponse{PlannedState: &dv, PlannedPrivate: req.PriorPrivate}, nil
}

func (s *server) ApplyResourceChange(context.Context, *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: refusal("apply")}, nil
}

func (s *server) ImportResourceState(context.Context, *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{Diagnostics: refusal("import")}, nil
}

func (s *server) MoveResourceState(context.Context, *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{Diagnostics: refusal("move resource state")}, nil
}

func (s *server) ValidateDataSourceConfig(context.Context, *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	return &tfprotov5.ValidateDataSourceConfigResponse{}, nil
}

// ReadDataSource answers from the arguments: Terraform calls it only with
// a wholly known configuration and requires a wholly known result, so
// computed attributes get the values of dataSourceValues or stay null.
func (s *server) ReadDataSource(_ context.Context, req *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	if err := s.load(); err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: loadDiag(err)}, nil
	}
	typ := s.types["data."+req.TypeName]
	if typ == nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errDiag("Unknown data source", req.TypeName)}, nil
	}
	cfg, err := req.Config.Unmarshal(typ)
	if err != nil {
		return nil, err
	}
	state, err := dataSourceValues(req.TypeName, cfg, s.region)
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errDiag("Offline AWS provider stand-in cannot read "+req.TypeName, err.Error())}, nil
	}
	dv, err := tfprotov5.NewDynamicValue(typ, state)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.ReadDataSourceResponse{State: &dv}, nil
}

func (s *server) CallFunction(context.Context, *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{Text: "the offline AWS provider stand-in has no functions"}}, nil
}

func (s *server) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

func (s *server) ValidateEphemeralResourceConfig(context.Context, *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{}, nil
}

func (s *server) OpenEphemeralResource(context.Context, *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: refusal("open ephemeral resources")}, nil
}

func (s *server) RenewEphemeralResource(context.Context, *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{Diagnostics: refusal("renew ephemeral resources")}, nil
}

func (s *server) CloseEphemeralResource(context.Context, *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{}, nil
}
