package record

// The plan of a batch and the task of one of its chunks: what the
// splitter's plan pass writes, and what each chunk task reads.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Plan is what the splitter's plan pass found in a batch file: the object
// version it read, where the chunks of its ops are, which ops each chunk
// must skip, and the report as far as the plan pass knows it (every
// rejection, with exact counts; Totals.Enqueued is left to the chunks).
// It is stored as an object next to the report (naming.PlanKey).
type Plan struct {
	Batch   string `json:"batch"`
	Stamp   Stamp  `json:"stamp,omitempty"`
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Version string `json:"version,omitempty"`
	ETag    string `json:"etag,omitempty"`
	// Format is the batch format's name (batch.Format.String: "json",
	// "jsonl", "csv", "jsonl.gz", ...).
	Format string `json:"format"`
	// Header is what a chunk task reads the ops with besides their bytes:
	// a CSV file's columns, in order (batch.Run.Header).
	Header []string `json:"header,omitempty"`
	// Report has the batch's totals (Ops, Rejected) and rejections; its
	// Status is empty until the chunks are done.
	Report Report  `json:"report"`
	Chunks []Chunk `json:"chunks"`
}

// Chunk is a run of consecutive ops of a batch file.
type Chunk struct {
	// Offset and Length are the run's bytes in the object: from the first
	// byte of its first op to the last byte of its last op.
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	// First is the index of its first op, Count the number of its ops.
	First int `json:"first"`
	Count int `json:"count"`
	// Skip lists the ops (by index in the batch) the chunk must not
	// enqueue, because the plan pass rejected them, as half-open runs
	// [from, to) in order: a run of rejected ops costs one entry.
	Skip [][2]int `json:"skip,omitempty"`
}

// Skipped returns the number of ops the chunk skips.
func (c Chunk) Skipped() int {
	n := 0
	for _, r := range c.Skip {
		n += r[1] - r[0]
	}
	return n
}

// SkipOp adds op index i (at or after every index added before) to Skip.
func (c *Chunk) SkipOp(i int) {
	if n := len(c.Skip); n > 0 && c.Skip[n-1][1] == i {
		c.Skip[n-1][1] = i + 1
		return
	}
	c.Skip = append(c.Skip, [2]int{i, i + 1})
}

// Skips reports whether op index i is in Skip.
func (c Chunk) Skips(i int) bool {
	lo, hi := 0, len(c.Skip)
	for lo < hi {
		m := (lo + hi) / 2
		switch r := c.Skip[m]; {
		case i < r[0]:
			hi = m
		case i >= r[1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// Encode returns the plan's JSON form.
func (p Plan) Encode() ([]byte, error) {
	if p.Report.Rejections == nil {
		p.Report.Rejections = []Rejection{}
	}
	if p.Chunks == nil {
		p.Chunks = []Chunk{}
	}
	return json.Marshal(p)
}

// DecodePlan parses a plan object and checks that its chunks are
// consistent: in order, contiguous in op indices, each skip run inside its
// chunk.
func DecodePlan(b []byte) (Plan, error) {
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Plan{}, fmt.Errorf("decode plan: %w", err)
	}
	next := 0
	for n, c := range p.Chunks {
		if c.First != next || c.Count < 1 || c.Offset < 0 || c.Length < 1 {
			return Plan{}, fmt.Errorf("decode plan: chunk %d is out of line (first %d, count %d, want first %d)", n, c.First, c.Count, next)
		}
		last := c.First
		for _, r := range c.Skip {
			if r[0] < last || r[1] <= r[0] || r[1] > c.First+c.Count {
				return Plan{}, fmt.Errorf("decode plan: chunk %d skips [%d, %d) outside [%d, %d)", n, r[0], r[1], c.First, c.First+c.Count)
			}
			last = r[1]
		}
		next = c.First + c.Count
	}
	if next != p.Report.Totals.Ops {
		return Plan{}, fmt.Errorf("decode plan: chunks hold %d ops of %d", next, p.Report.Totals.Ops)
	}
	return p, nil
}

// ChunkTask is the body of one message of the chunk queue: chunk Chunk of
// the plan stored at Plan in Bucket.
type ChunkTask struct {
	Batch  string `json:"batch"`
	Bucket string `json:"bucket"`
	Plan   string `json:"plan"`
	Chunk  int    `json:"chunk"`
}

// Encode returns the task's message body.
func (t ChunkTask) Encode() (string, error) {
	b, err := json.Marshal(t)
	return string(b), err
}

// ErrBadChunkTask marks a chunk-queue message that cannot be decoded.
var ErrBadChunkTask = errors.New("undecodable chunk task")

// DecodeChunkTask parses a chunk task strictly.
func DecodeChunkTask(body string) (ChunkTask, error) {
	var t ChunkTask
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return ChunkTask{}, fmt.Errorf("%w: %v", ErrBadChunkTask, err)
	}
	if t.Batch == "" || t.Bucket == "" || t.Plan == "" || t.Chunk < 0 {
		return ChunkTask{}, fmt.Errorf("%w: missing batch, bucket or plan", ErrBadChunkTask)
	}
	return t, nil
}
