package local

import (
	"testing"
	"time"
)

// The differential test of motopatch.py's DynamoDB patches (index queries,
// condition expressions) and of its dispatch patch:
// testdata/ddbdiff.py drives moto's DynamoDB with a seeded random sequence
// of puts (plain, and conditional as memo's compute writes, with conditions
// that hold, fail, or do not parse), deletes, updates (setting and removing the index key), batch
// writes and index queries (paged with Limit, backwards, counted with a
// filter, projected, on an index with a range key too, for keys of the
// right and the wrong type), with STS calls among them, and prints every
// answer, and at the end the folders moto_server dispatches among. moto as installed and
// moto with the patch must print the same.
var ddbDiff = motoDiff{script: "ddbdiff.py", calls: 400, timeout: 5 * time.Minute}

// indexMutations are deliberate semantic changes to the index patch, each
// of which the differential test must catch.
var indexMutations = []mutation{
	{"no write invalidates the grouping", "    return call\n", "    return f\n"},
	{"the grouping is never rebuilt", "if hit is None or hit[0] != gen or hit[1] is not table:", "if hit is None:"},
	{"a remembered condition is found again whatever its values", "json.dumps(self.expression_attribute_values),", "None,"},
	{"a remembered condition does not report the names it uses", "self.expr_attr_names_found.extend(names)", "pass"},
	{"one list of actions for every response class", "hit = names.get(clazz)", "hit = next(iter(names.values()), None)"},
	{"moto's folders listed as none", "modules.append(tuple(orig_modules()))", "modules.append(())"},
}

func TestMotoIndexPatchAnswersAsMoto(t *testing.T) {
	outs := ddbDiff.runAll(t, pythonForDiff(t), indexMutations)
	ddbDiff.check(t, outs, indexMutations, []string{
		`"LastEvaluatedKey"`, `"ScannedCount": 0`, `"op": "update"`, `"op": "batch"`, `"error": "ValidationException"`,
		`"op": "cput"`, `"error": "ConditionalCheckFailedException"`, `"op": "sts"`, `"op": "modules", "out": ["account"`,
	})
}
