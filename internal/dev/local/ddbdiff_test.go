package local

import (
	"testing"
	"time"
)

// The differential test of motopatch.py's DynamoDB index patch:
// testdata/ddbdiff.py drives moto's DynamoDB with a seeded random sequence
// of puts, deletes, updates (setting and removing the index key), batch
// writes and index queries (paged with Limit, backwards, counted with a
// filter, projected, on an index with a range key too, for keys of the
// right and the wrong type), and prints every answer. moto as installed and
// moto with the patch must print the same.
var ddbDiff = motoDiff{script: "ddbdiff.py", calls: 400, timeout: 3 * time.Minute}

// indexMutations are deliberate semantic changes to the index patch, each
// of which the differential test must catch.
var indexMutations = []mutation{
	{"no write invalidates the grouping", "    return call\n", "    return f\n"},
	{"the grouping is never rebuilt", "if hit is None or hit[0] != gen or hit[1] is not table:", "if hit is None:"},
}

func TestMotoIndexPatchAnswersAsMoto(t *testing.T) {
	outs := ddbDiff.runAll(t, pythonForDiff(t), indexMutations)
	ddbDiff.check(t, outs, indexMutations, []string{
		`"LastEvaluatedKey"`, `"ScannedCount": 0`, `"op": "update"`, `"op": "batch"`, `"error": "ValidationException"`,
	})
}
