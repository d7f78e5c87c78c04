// Package schema is the provider schema the stand-in serves: a small JSON
// form of Terraform's block schema (attributes with their types and flags,
// nested blocks with their nesting mode and item bounds), extracted once
// from the CDK for Terraform bindings of hashicorp/aws (see extract.go) and
// loaded by the provider at start.
package schema

import (
	"encoding/json"
	"fmt"
	"os"
)

// Provider is everything a provider's GetProviderSchema answers.
type Provider struct {
	// Version is the hashicorp/aws release the schema was generated from.
	Version     string            `json:"version"`
	Provider    *Block            `json:"provider"`
	Resources   map[string]*Block `json:"resources"`
	DataSources map[string]*Block `json:"data_sources"`
}

// Block is one block's schema.
type Block struct {
	Attributes map[string]*Attribute `json:"attributes,omitempty"`
	Blocks     map[string]*Nested    `json:"blocks,omitempty"`
}

// Attribute is one argument or computed attribute. Type is cty's JSON type
// notation: "string", "number", "bool", "dynamic", ["list","string"],
// ["object",{"a":"string"}] ...
type Attribute struct {
	Type     json.RawMessage `json:"type"`
	Required bool            `json:"required,omitempty"`
	Optional bool            `json:"optional,omitempty"`
	Computed bool            `json:"computed,omitempty"`
}

// Nested is a nested block type.
type Nested struct {
	Nesting  string `json:"nesting"` // "list" or "set"
	MinItems int    `json:"min_items,omitempty"`
	MaxItems int    `json:"max_items,omitempty"`
	Block    *Block `json:"block"`
}

// Load reads a schema written by Write.
func Load(path string) (*Provider, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Provider
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.Provider == nil || len(p.Resources) == 0 {
		return nil, fmt.Errorf("%s: no provider or resource schemas", path)
	}
	return &p, nil
}

// Write stores p at path (atomically: a half-written cache is never read).
func Write(p *Provider, path string) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
