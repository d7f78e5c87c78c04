package main

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/memohq/memo/tools/tfprovider/schema"
)

// protoSchema converts a block of the extracted schema to the protocol's.
func protoSchema(b *schema.Block) (*tfprotov5.Schema, error) {
	pb, err := protoBlock(b)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.Schema{Block: pb}, nil
}

func protoBlock(b *schema.Block) (*tfprotov5.SchemaBlock, error) {
	out := &tfprotov5.SchemaBlock{}
	for _, name := range sortedKeys(b.Attributes) {
		a := b.Attributes[name]
		t, err := ctyType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out.Attributes = append(out.Attributes, &tfprotov5.SchemaAttribute{
			Name: name, Type: t, Required: a.Required, Optional: a.Optional, Computed: a.Computed,
		})
	}
	for _, name := range sortedKeys(b.Blocks) {
		n := b.Blocks[name]
		nb, err := protoBlock(n.Block)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		mode := tfprotov5.SchemaNestedBlockNestingModeList
		if n.Nesting == "set" {
			mode = tfprotov5.SchemaNestedBlockNestingModeSet
		}
		out.BlockTypes = append(out.BlockTypes, &tfprotov5.SchemaNestedBlock{
			TypeName: name, Block: nb, Nesting: mode, MinItems: int64(n.MinItems), MaxItems: int64(n.MaxItems),
		})
	}
	return out, nil
}

// ctyType parses cty's JSON type notation into a tftypes.Type.
func ctyType(raw json.RawMessage) (tftypes.Type, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		case "dynamic":
			return tftypes.DynamicPseudoType, nil
		}
		return nil, fmt.Errorf("unknown type %q", s)
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return nil, fmt.Errorf("bad type %s", raw)
	}
	var kind string
	if err := json.Unmarshal(pair[0], &kind); err != nil {
		return nil, fmt.Errorf("bad type %s", raw)
	}
	if kind == "object" {
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(pair[1], &attrs); err != nil {
			return nil, fmt.Errorf("bad object type %s", raw)
		}
		at := map[string]tftypes.Type{}
		for k, v := range attrs {
			t, err := ctyType(v)
			if err != nil {
				return nil, err
			}
			at[k] = t
		}
		return tftypes.Object{AttributeTypes: at}, nil
	}
	elem, err := ctyType(pair[1])
	if err != nil {
		return nil, err
	}
	switch kind {
	case "list":
		return tftypes.List{ElementType: elem}, nil
	case "set":
		return tftypes.Set{ElementType: elem}, nil
	case "map":
		return tftypes.Map{ElementType: elem}, nil
	}
	return nil, fmt.Errorf("unknown collection %q", kind)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// attributeAt is the schema attribute a value path names, or nil when the
// path is a block, an element, or inside an attribute's value.
func attributeAt(b *schema.Block, path *tftypes.AttributePath) *schema.Attribute {
	steps := path.Steps()
	for i := 0; i < len(steps); i++ {
		name, ok := steps[i].(tftypes.AttributeName)
		if !ok {
			return nil
		}
		if a, ok := b.Attributes[string(name)]; ok {
			if i == len(steps)-1 {
				return a
			}
			return nil
		}
		n, ok := b.Blocks[string(name)]
		if !ok || i+1 >= len(steps) {
			return nil
		}
		// The next step is the element of the list or set of blocks.
		i++
		b = n.Block
	}
	return nil
}
