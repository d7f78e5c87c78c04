package schema

import (
	"encoding/json"
	"testing"
)

// The fixture (testdata/pkg) is hand-written in the shape of the generated
// code of @cdktf/provider-aws: one resource with a required and a set
// argument, a required single block, a set of blocks, computed attributes,
// and the provider. Its Config interface is XConfigA, as jsii names it
// when a struct takes XConfig.
func TestExtract(t *testing.T) {
	p, err := Extract("testdata/pkg")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "6.25.0" {
		t.Errorf("version %q, want 6.25.0 (package.json's cdktf.provider.version)", p.Version)
	}
	if a := p.Provider.Attributes["region"]; a == nil || !a.Optional {
		t.Errorf("provider region: %+v, want optional", a)
	}
	b := p.Resources["aws_thing"]
	if b == nil {
		t.Fatalf("no aws_thing in %v", p.Resources)
	}
	attr := func(name, typ string, required, optional, computed bool) {
		t.Helper()
		a := b.Attributes[name]
		if a == nil {
			t.Errorf("no attribute %s", name)
			return
		}
		if string(a.Type) != typ || a.Required != required || a.Optional != optional || a.Computed != computed {
			got, _ := json.Marshal(a)
			t.Errorf("attribute %s: %s, want type %s required %v optional %v computed %v", name, got, typ, required, optional, computed)
		}
	}
	attr("name", `"string"`, true, false, false)
	attr("ids", `["set","string"]`, false, true, true)
	attr("arn", `"string"`, false, false, true)
	attr("tags_all", `["map","string"]`, false, false, true)
	cfg := b.Blocks["config"]
	if cfg == nil || cfg.Nesting != "list" || cfg.MinItems != 1 || cfg.MaxItems != 1 {
		t.Errorf("block config: %+v, want a list of exactly one (required struct)", cfg)
	} else {
		if a := cfg.Block.Attributes["size"]; a == nil || string(a.Type) != `"number"` || !a.Optional {
			t.Errorf("config.size: %+v", a)
		}
		if a := cfg.Block.Attributes["id"]; a == nil || !a.Computed || a.Optional {
			t.Errorf("config.id: %+v, want computed only", a)
		}
	}
	rule := b.Blocks["rule"]
	if rule == nil || rule.Nesting != "set" || rule.MinItems != 0 || rule.MaxItems != 0 {
		t.Errorf("block rule: %+v, want an optional set", rule)
	} else if a := rule.Block.Attributes["prefix"]; a == nil || !a.Required {
		t.Errorf("rule.prefix: %+v, want required", a)
	}
}
