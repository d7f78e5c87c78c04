package fn_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/memohq/memo/fn"
)

// errNotFound stands for the error an object store answers for a missing key.
var errNotFound = errors.New("NoSuchKey")

// store stands for S3 in this example.
var store = map[string][]byte{"photos/0001.jpg": []byte("not really a photo")}

// checksum is a per-op function: the op names an object, the result is its
// SHA-256 and size. A missing object is the batch file's mistake
// (permanent: an error result); any other failure is transient (retried).
func checksum(ctx context.Context, op fn.Op) (any, error) {
	var in struct {
		Key string `json:"key"`
	}
	if err := op.Decode(&in); err != nil {
		return nil, fn.Permanent(err)
	}
	body, ok := store[in.Key]
	if !ok {
		return nil, fn.Permanent(fmt.Errorf("%s: %w", in.Key, errNotFound))
	}
	sum := sha256.Sum256(body)
	return map[string]any{"sha256": hex.EncodeToString(sum[:]), "bytes": len(body)}, nil
}

// Run computes an op as the compute Lambda would, without AWS: a
// function's unit tests use it. In the Lambda's main, the same function is
// started with fn.Start(checksum, fn.Options{Concurrency: 16}).
func Example() {
	for _, payload := range []string{`{"key": "photos/0001.jpg"}`, `{"key": "photos/0002.jpg"}`, `"photos/0003.jpg"`} {
		res, err := fn.Run(context.Background(), checksum, fn.Op{Name: "img", Payload: json.RawMessage(payload), Batch: "b"}, fn.Options{}, nil)
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Status, string(res.Value)+res.Error)
	}
	// Output:
	// ok {"bytes":18,"sha256":"8edd7daf0eb75502845657a637ad9e62b78a8dcdb67a1c6861fb7c91752d519a"}
	// error photos/0002.jpg: NoSuchKey
	// error op img: json: cannot unmarshal string into Go value of type struct { Key string "json:\"key\"" }
}
