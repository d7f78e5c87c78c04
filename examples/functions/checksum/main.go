// Command checksum is a per-op function for memo: each op names an S3
// object and its result is the object's SHA-256 and size.
//
//	{"name": "img-0001", "op": {"key": "photos/0001.jpg"}}
//	-> {"sha256": "9f86d0…", "bytes": 48213}
//
// The op is {"key": "..."} or the key alone (a JSON string): a pipeline
// whose op rules are json (Terraform's split_op_rules = "json", the default
// of memo local --function) delivers any JSON value as the batch file holds
// it. The bucket is OBJECTS_BUCKET. A missing
// object is a permanent error result (the batch named it wrongly); any other
// failure (a throttled read, after the SDK's own retries) is transient: memo
// leaves the message for SQS to retry. The function's role needs
// s3:GetObject on the objects and s3:ListBucket on the bucket: without
// ListBucket, S3 answers a missing key with 403 Access Denied, which this
// function treats as transient (a policy to fix, then redrive the DLQ).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/memohq/memo/fn"
)

// Checksum is the result of one op.
type Checksum struct {
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Objects reads objects (S3, or a fake in tests).
type Objects interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// function returns the per-op function over bucket.
func function(objects Objects, bucket string) fn.Func {
	return func(ctx context.Context, op fn.Op) (any, error) {
		key, err := keyOf(op)
		if err != nil {
			return nil, fn.Permanent(err)
		}
		out, err := objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		var missing *types.NoSuchKey
		if errors.As(err, &missing) {
			return nil, fn.Permanent(fmt.Errorf("s3://%s/%s does not exist", bucket, key))
		}
		if err != nil {
			return nil, err // transient: SQS delivers the op again
		}
		defer out.Body.Close()
		h := sha256.New()
		n, err := io.Copy(h, out.Body)
		if err != nil {
			return nil, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
		}
		return Checksum{SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n}, nil
	}
}

// keyOf reads the op: a key, or {"key": "..."}.
func keyOf(op fn.Op) (string, error) {
	var key string
	if json.Unmarshal(op.Payload, &key) != nil {
		var in struct {
			Key string `json:"key"`
		}
		if err := op.Decode(&in); err != nil {
			return "", fmt.Errorf("want an object key or {\"key\": ...}: %w", err)
		}
		key = in.Key
	}
	if key == "" {
		return "", errors.New("the op names no object key")
	}
	return key, nil
}

func main() {
	bucket := os.Getenv("OBJECTS_BUCKET")
	if bucket == "" {
		fmt.Fprintln(os.Stderr, "OBJECTS_BUCKET is not set")
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading AWS configuration:", err)
		os.Exit(1)
	}
	// Emulators (the twin's moto) serve S3 path-style only.
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL") != "" })
	// Reads wait on the network, not the CPU: many ops at once.
	fn.Start(function(client, bucket), fn.Options{Concurrency: 32})
}
