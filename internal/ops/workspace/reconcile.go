package workspace

// The facts status.Reconcile needs, read from the pipeline's resources.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/aws/results"
	"github.com/memohq/memo/internal/ops/status"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

var (
	_ status.Source       = (*Client)(nil)
	_ status.ChunkCounter = (*Client)(nil)
)

// ChunksDone implements status.ChunkCounter: one ListObjectsV2 of the
// batch's done markers (1,000 keys a page; a 2M-op batch has 40 chunks).
func (c *Client) ChunksDone(ctx context.Context, batchID string) (int, error) {
	keys, err := c.Objects.List(ctx, c.Res.Bucket, naming.ChunkDonePrefix(batchID))
	return len(keys), err
}

// maxReportVersions bounds the older versions of a report key Report reads
// to find the report of a batch whose key was uploaded again since.
const maxReportVersions = 20

// Report implements status.Source: the upload's own report
// (naming.BatchReportKey). A batch split before uploads had reports of
// their own has one only at the key's report key, which a newer upload of
// the same key replaces; the bucket is versioned, so it is then found
// among the key's older versions (newest first, at most
// maxReportVersions).
func (c *Client) Report(ctx context.Context, batchID string) (record.Report, bool, error) {
	body, err := c.Objects.Get(ctx, c.Res.Bucket, naming.BatchReportKey(batchID))
	if err == nil {
		rep, err := record.DecodeReport(body)
		return rep, err == nil, err
	}
	if !objects.IsNotFound(err) {
		return record.Report{}, false, err
	}
	key := naming.ReportKey(naming.KeyOfBatch(batchID))
	body, err = c.Objects.Get(ctx, c.Res.Bucket, key)
	if objects.IsNotFound(err) {
		return record.Report{}, false, nil
	}
	if err != nil {
		return record.Report{}, false, err
	}
	rep, err := record.DecodeReport(body)
	if err != nil {
		return record.Report{}, false, err
	}
	if rep.Batch == batchID {
		return rep, true, nil
	}
	versions, err := c.versions(ctx, key)
	if err != nil {
		return record.Report{}, false, err
	}
	for i, v := range versions {
		if i >= maxReportVersions {
			break
		}
		out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Res.Bucket), Key: aws.String(key), VersionId: v.VersionId})
		if err != nil {
			return record.Report{}, false, fmt.Errorf("get s3://%s/%s version %s: %w", c.Res.Bucket, key, aws.ToString(v.VersionId), err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return record.Report{}, false, err
		}
		if old, err := record.DecodeReport(b); err == nil && old.Batch == batchID {
			return old, true, nil
		}
	}
	return record.Report{}, false, nil
}

// Pending implements status.Source: the ops queue's visible, in-flight and
// delayed messages.
func (c *Client) Pending(ctx context.Context) (int, error) {
	n, err := c.depth(ctx, c.Res.QueueURL)
	if err != nil {
		return 0, fmt.Errorf("reading the ops queue's depth: %w", err)
	}
	return n, nil
}

// depth is a queue's visible, in-flight and delayed messages (SQS's
// approximate counts).
func (c *Client) depth(ctx context.Context, url string) (int, error) {
	out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n, nil
}

// Names implements status.Source: it streams the batch's object, the
// version the batch id names (naming.UploadTag: its version id, or, for a
// batch named by its ETag, the version with that ETag, found among the
// key's versions since a newer upload may have replaced it), and calls fn
// for every valid op. Its cost is one GET of the object and a listing of
// the key's versions; status.Reconcile asks only when ops are missing and
// nothing is in flight.
func (c *Client) Names(ctx context.Context, rep record.Report, fn func(string) error) (bool, error) {
	tag := strings.TrimPrefix(rep.Batch, naming.KeyOfBatch(rep.Batch)+"@")
	ref := splitter.Ref{Bucket: c.Res.Bucket, Key: rep.Key}
	versions, err := c.versions(ctx, rep.Key)
	if err != nil {
		return false, err
	}
	for _, v := range versions {
		if aws.ToString(v.VersionId) == tag {
			ref.Version = tag
			break
		}
	}
	if ref.Version == "" {
		ref.ETag = tag
		for _, v := range versions {
			if strings.Trim(aws.ToString(v.ETag), `"`) == tag && aws.ToString(v.VersionId) != "null" {
				ref.Version = aws.ToString(v.VersionId)
				break
			}
		}
	}
	body, err := c.Objects.Open(ctx, ref)
	if objects.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer body.Close()
	format, ok := batch.FormatOf(rep.Key)
	if !ok {
		return false, fmt.Errorf("%s: not a batch key", rep.Key)
	}
	// The ops the splitter accepted: with the rules it applied.
	rules, ok := batch.ParseRules(rep.OpRules)
	if !ok && rep.OpRules != "" {
		return false, fmt.Errorf("%s: the report names op rules %q, which this memo does not know", rep.Batch, rep.OpRules)
	}
	err = rules.Scan(body, format, func(it batch.Item) error {
		if it.Reject != "" {
			return nil
		}
		return fn(it.Op.Name)
	})
	return err == nil, err
}

// Stored implements status.Source.
func (c *Client) Stored(ctx context.Context, names []string) (map[string]record.Result, error) {
	// Eventually consistent, half the read units (status reads by names
	// once a batch has settled, its writes at least status.CountLag old).
	return results.Stored{Table: c.Table}.Get(ctx, names)
}

type objectVersion struct {
	VersionId, ETag *string
}

// versions lists the versions of exactly key, newest first.
func (c *Client) versions(ctx context.Context, key string) ([]objectVersion, error) {
	var out []objectVersion
	// EncodingType url: see objects.Store.List.
	p := s3.NewListObjectVersionsPaginator(c.S3, &s3.ListObjectVersionsInput{Bucket: aws.String(c.Res.Bucket), Prefix: aws.String(key), EncodingType: s3types.EncodingTypeUrl})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing versions of s3://%s/%s: %w", c.Res.Bucket, key, err)
		}
		last := ""
		for _, v := range page.Versions {
			k, err := objects.DecodeKey(page.EncodingType, aws.ToString(v.Key))
			if err != nil {
				return nil, err
			}
			if k == key {
				out = append(out, objectVersion{VersionId: v.VersionId, ETag: v.ETag})
			}
			last = k
		}
		if last > key {
			break // listed past the key (keys sort, versions newest first)
		}
	}
	return out, nil
}

// ResolveBatch returns the batch id an operator's id names. A batch is one
// upload, named by its version id (naming.UploadTag); an id of the form
// key@ETag, which is all an upload with `aws s3 cp` shows, names the
// newest version of the key with that ETag. Any other id is returned as it
// is (a batch id of an unversioned bucket, or one whose report is gone).
func (c *Client) ResolveBatch(ctx context.Context, id string) (string, error) {
	key := naming.KeyOfBatch(id)
	tag := strings.TrimPrefix(id[len(key):], "@")
	if tag == "" || key == id {
		return id, nil
	}
	versions, err := c.versions(ctx, key)
	if err != nil {
		return "", err
	}
	for _, v := range versions {
		if aws.ToString(v.VersionId) == tag {
			return id, nil
		}
	}
	for _, v := range versions { // newest first
		if strings.Trim(aws.ToString(v.ETag), `"`) == tag && aws.ToString(v.VersionId) != "null" {
			return naming.BatchID(key, aws.ToString(v.VersionId)), nil
		}
	}
	return id, nil
}
