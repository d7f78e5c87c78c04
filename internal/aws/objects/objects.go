// Package objects is memo's S3 adapter: it streams batch objects to the
// splitter, stores and reads reports, and uploads batches for the memo
// command.
package objects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Store reads and writes objects.
type Store struct {
	client *s3.Client
}

var _ splitter.Objects = (*Store)(nil)

// New returns a Store using client.
func New(client *s3.Client) *Store { return &Store{client: client} }

// Open streams one version of an object (or, without a version id, the
// object only if its ETag still matches).
func (s *Store) Open(ctx context.Context, ref splitter.Ref) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)}
	switch {
	case ref.Version != "":
		in.VersionId = aws.String(ref.Version)
	case ref.ETag != "":
		in.IfMatch = aws.String(`"` + trimQuotes(ref.ETag) + `"`)
	}
	if ref.Length > 0 {
		// A chunk's run: "Range: bytes=first-last", both inclusive (RFC
		// 9110 section 14.1.2; GetObject "Range", Amazon S3 API
		// Reference: S3 supports one range per request). It needs no
		// permission beyond s3:GetObject.
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", ref.Offset, ref.Offset+ref.Length-1))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, classifyRead(fmt.Errorf("get s3://%s/%s: %w", ref.Bucket, ref.Key, err))
	}
	return out.Body, nil
}

// classifyRead is classify for the read of a batch object, whose caller
// (the splitter, memo status) may list only reports/: S3 answers a missing
// key with 403 AccessDenied, not 404, to a caller without s3:ListBucket
// ("Permissions", GetObject, Amazon S3 API Reference). Retrying cannot fix
// either cause, so a 403 is taken as the object being gone, and says both.
func classifyRead(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDenied" {
		return fmt.Errorf("%w (S3 answers 403 both for a missing object when the caller may not list its key and for an object the caller may not read): %w", splitter.ErrNotFound, retry.Permanent(err))
	}
	return classify(err)
}

// Put writes a small object.
func (s *Store) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String(contentType),
	})
	if err != nil {
		return classify(fmt.Errorf("put s3://%s/%s: %w", bucket, key, err))
	}
	return nil
}

// Get reads a whole small object (a report).
func (s *Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, classify(fmt.Errorf("get s3://%s/%s: %w", bucket, key, err))
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// List returns the keys under prefix (ListObjectsV2, 1,000 a page; it
// needs s3:ListBucket on the bucket). It asks for EncodingType=url: XML
// 1.0 cannot carry some characters a key may hold, and S3 "encodes object
// key names in the XML response" only when asked (ListObjectsV2,
// "EncodingType", Amazon S3 API Reference).
func (s *Store) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), EncodingType: types.EncodingTypeUrl})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err))
		}
		for _, o := range page.Contents {
			k, err := DecodeKey(page.EncodingType, aws.ToString(o.Key))
			if err != nil {
				return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// DecodeKey decodes a key of a list answer, URL-encoded when the answer
// says EncodingType url (an emulator may not honour the request).
func DecodeKey(enc types.EncodingType, key string) (string, error) {
	if enc != types.EncodingTypeUrl {
		return key, nil
	}
	k, err := url.QueryUnescape(key)
	if err != nil {
		return "", fmt.Errorf("undecodable key %q in a list answer: %w", key, err)
	}
	return k, nil
}

// Uploaded identifies an uploaded object.
type Uploaded struct {
	Key, VersionID, ETag string
}

// MultipartThreshold is the file size from which UploadFile uploads in
// parts (several at a time, each retried on its own).
const MultipartThreshold = 16 << 20

// UploadFile uploads a file from disk with the transfer manager: one
// PutObject below MultipartThreshold, a multipart upload above. The body is
// an *os.File, which the SDK can seek to compute checksums (a plain stream
// fails the checksum rule over plain HTTP).
func (s *Store) UploadFile(ctx context.Context, bucket, key, path string) (Uploaded, error) {
	f, err := os.Open(path)
	if err != nil {
		return Uploaded{}, err
	}
	defer f.Close()
	tm := transfermanager.New(s.client, func(o *transfermanager.Options) {
		o.MultipartUploadThreshold = MultipartThreshold
		o.PartSizeBytes = MultipartThreshold
	})
	out, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        f,
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return Uploaded{}, classify(fmt.Errorf("upload s3://%s/%s: %w", bucket, key, err))
	}
	return Uploaded{Key: key, VersionID: aws.ToString(out.VersionID), ETag: trimQuotes(aws.ToString(out.ETag))}, nil
}

// classify marks errors that retrying cannot fix.
func classify(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NoSuchVersion", "NotFound", "PreconditionFailed":
			return fmt.Errorf("%w: %w", splitter.ErrNotFound, retry.Permanent(err))
		case "NoSuchBucket", "AccessDenied", "InvalidBucketName", "InvalidArgument":
			return retry.Permanent(err)
		}
	}
	return err
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, splitter.ErrNotFound) }

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
