package record

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseJSONReadsEveryJSONType(t *testing.T) {
	got, err := ParseJSON([]byte(`{"s":"x","n":-1.5,"t":true,"z":null,"l":[1,{"k":[]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Map(map[string]Value{"s": String("x"), "n": Number(-1.5), "t": Bool(true), "z": Null(),
		"l": List(Number(1), Map(map[string]Value{"k": List()}))})
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("ParseJSON (-want +got):\n%s", d)
	}
}

func TestParseJSONRefusesWhatItCannotHoldExactly(t *testing.T) {
	for _, in := range []string{`9007199254740993`, `-9007199254740993`, `{`, `1 2`, `"x"x`} {
		if v, err := ParseJSON([]byte(in)); err == nil {
			t.Errorf("ParseJSON(%s) = %v, want an error", in, v)
		}
	}
	if _, err := ParseJSON([]byte(`9007199254740992`)); err != nil {
		t.Errorf("2^53 is exact: %v", err)
	}
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := ParseJSON([]byte(deep)); err == nil || !strings.Contains(err.Error(), "32 levels") {
		t.Errorf("nesting of %d levels: %v", MaxDepth+1, err)
	}
}

func TestCheckSaysWhyDynamoDBCannotStoreAValue(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want string // "" = storable
	}{
		{Number(9.999e125), ""},
		{Number(1e126), "exceeds DynamoDB's number range"},
		{Number(-1e200), "exceeds DynamoDB's number range"},
		{Number(1e-131), "smaller in magnitude"},
		{Number(0), ""},
		{Number(math.NaN()), "not a finite number"},
		{List(Map(map[string]Value{"x": Number(math.Inf(1))})), "not a finite number"},
		{String("\xff"), "not valid UTF-8"},
		{Map(map[string]Value{"\xff": Null()}), "not valid UTF-8"},
		{Value{}, "unknown kind"},
	} {
		err := c.v.Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Check(%v) = %v, want %q", c.v, err, c.want)
		}
	}
}

func TestStoredSizeFollowsDynamoDBsRules(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want int
	}{
		{String("héllo"), 6},
		{Number(12345), 4}, // 5 significant digits: 3 + 1
		{Number(1000), 2},  // trailing zeros are trimmed
		{Bool(true), 1},
		{Null(), 1},
		{List(), 3},
		{List(Bool(true), String("ab")), 3 + (1 + 1) + (1 + 2)},
		{Map(map[string]Value{"k": Null()}), 3 + 1 + 1 + 1},
	} {
		if got := c.v.StoredSize(); got != c.want {
			t.Errorf("StoredSize(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}
