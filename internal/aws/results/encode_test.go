package results

import (
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/memohq/memo/internal/pipeline/record"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	for _, v := range []*record.Value{
		ptr(record.Number(2)), ptr(record.Number(-0.5)), ptr(record.Number(1e125)), ptr(record.Number(1e-130)),
		ptr(record.Number(math.MaxInt64)), ptr(record.Bool(false)), ptr(record.String("abcd")), nil,
		ptr(record.Null()), ptr(record.List()), ptr(record.Map(map[string]record.Value{})),
		ptr(record.Map(map[string]record.Value{"sha256": record.String("ab"), "bytes": record.Number(48213),
			"tags": record.List(record.Bool(true), record.Null(), record.List(record.Number(-0.5)))})),
	} {
		r := record.Result{Name: "n", Op: "op", Status: record.StatusOK, Value: v, Batch: "b@e", ComputedAt: at}
		if v == nil {
			r.Status, r.Error = record.StatusError, "division by zero"
		}
		item := Encode(r)
		// No index, so no batch_shard (issue 22).
		if k, ok := item["batch_shard"]; ok {
			t.Fatalf("batch_shard = %v written: the table has no index", k)
		}
		if v != nil && v.Kind == record.KindNumber {
			if _, ok := item[AttrResult].(*types.AttributeValueMemberN); !ok {
				t.Fatalf("a number is stored as %T", item[AttrResult])
			}
		}
		got, err := Decode(item)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != r.Name || got.Op != r.Op || got.Status != r.Status || got.Error != r.Error || got.Batch != r.Batch || !got.ComputedAt.Equal(at) {
			t.Fatalf("round trip %+v -> %+v", r, got)
		}
		if d := cmp.Diff(v, got.Value, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("value (-stored +read):\n%s", d)
		}
	}
}

func TestDecodeRejectsBadItems(t *testing.T) {
	if _, err := Decode(map[string]types.AttributeValue{}); err == nil {
		t.Error("an item without a name decoded")
	}
	if _, err := Decode(map[string]types.AttributeValue{AttrName: &types.AttributeValueMemberS{Value: "n"}, AttrResult: &types.AttributeValueMemberN{Value: "x"}}); err == nil {
		t.Error("a malformed number decoded")
	}
}

func ptr(v record.Value) *record.Value { return &v }

// A map result is stored as DynamoDB's M of its own types, so that
// aws dynamodb get-item shows it as it is.
func TestEncodeStoresJSONAsDynamoDBTypes(t *testing.T) {
	v := record.Map(map[string]record.Value{"n": record.Number(1), "l": record.List(record.Null(), record.Bool(true))})
	got := EncodeValue(v)
	want := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"n": &types.AttributeValueMemberN{Value: "1"},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberNULL{Value: true}, &types.AttributeValueMemberBOOL{Value: true}}},
	}}
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(types.AttributeValueMemberM{}, types.AttributeValueMemberN{},
		types.AttributeValueMemberL{}, types.AttributeValueMemberNULL{}, types.AttributeValueMemberBOOL{})); d != "" {
		t.Fatalf("EncodeValue (-want +got):\n%s", d)
	}
}
