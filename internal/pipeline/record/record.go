// Package record holds memo's wire and storage records: the message that
// carries a pack of ops on the queue (message.go), the result of one op, and the report of one
// batch. Each has one Go type, and its JSON form is encoded and decoded only
// here (the DynamoDB attribute form of Result lives in the results adapter,
// the only place that talks to the table).
package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status is the outcome of computing one op.
type Status string

const (
	StatusOK    Status = "ok"
	StatusError Status = "error"
)

// Kind is the type of a result value.
type Kind string

const (
	KindNumber Kind = "number"
	KindBool   Kind = "bool"
	KindString Kind = "string"
	// KindNull, KindList and KindMap are the JSON values a user's function
	// can return besides numbers, booleans and strings (value.go).
	KindNull Kind = "null"
	KindList Kind = "list"
	KindMap  Kind = "map"
)

// Value is a typed result value: any JSON value. The fields meaningful are
// chosen by Kind (Num, Bool, Str, List or Map; none for null). Num is
// always finite; Check says whether DynamoDB can store the value.
type Value struct {
	Kind Kind
	Num  float64
	Bool bool
	Str  string
	List []Value
	Map  map[string]Value
}

// Number, Bool and String build values.
func Number(f float64) Value { return Value{Kind: KindNumber, Num: f} }
func Bool(b bool) Value      { return Value{Kind: KindBool, Bool: b} }
func String(s string) Value  { return Value{Kind: KindString, Str: s} }

// String renders the value the way memo prints it: numbers in the shortest
// form that round-trips (2, 0.5, 1e+21), booleans as true/false and strings
// quoted.
func (v Value) String() string {
	switch v.Kind {
	case KindNumber:
		return FormatNumber(v.Num)
	case KindBool:
		if v.Bool {
			return "true"
		}
		return "false"
	case KindString:
		b, _ := json.Marshal(v.Str)
		return string(b)
	case KindNull, KindList, KindMap:
		b, _ := v.MarshalJSON()
		return string(b)
	}
	return ""
}

// FormatNumber is the one textual form of a number result, used for printing
// and for DynamoDB's N attribute.
func FormatNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// MarshalJSON encodes the value as its natural JSON type.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case KindNumber:
		return json.Marshal(v.Num)
	case KindBool:
		return json.Marshal(v.Bool)
	case KindString:
		return json.Marshal(v.Str)
	case KindList, KindMap:
		return v.appendJSON(nil)
	}
	return []byte("null"), nil
}

// UnmarshalJSON decodes any JSON value (ParseJSON's rules).
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("empty value")
	}
	switch {
	case b[0] == '[' || b[0] == '{':
		p, err := ParseJSON(b)
		if err != nil {
			return err
		}
		*v = p
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = String(s)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*v = Bool(b[0] == 't')
	case bytes.Equal(b, []byte("null")):
		*v = Null()
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		*v = Number(f)
	}
	return nil
}

// Result is what compute writes for one op: the item of the results table.
type Result struct {
	Name       string    `json:"name"`
	Op         string    `json:"op"`
	Status     Status    `json:"status"`
	Value      *Value    `json:"result,omitempty"` // set when Status is ok
	Error      string    `json:"error,omitempty"`  // set when Status is error
	Batch      string    `json:"batch"`
	Stamp      Stamp     `json:"stamp,omitempty"` // the batch's stamp
	ComputedAt time.Time `json:"computed_at"`
}

// Rejection is an op the splitter refused, with its zero-based index in the
// batch file and the reason.
type Rejection struct {
	Index  int    `json:"index"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason"`
}

// ReportStatus is the splitter's verdict on a whole batch.
type ReportStatus string

const (
	// ReportSplit: the batch was well formed and every valid op was enqueued.
	ReportSplit ReportStatus = "split"
	// ReportRejected: the file is structurally broken; nothing was enqueued.
	ReportRejected ReportStatus = "rejected"
	// ReportFailed: enqueueing stopped part way (the function errored and
	// S3's asynchronous invocation will retry it).
	ReportFailed ReportStatus = "failed"
	// ReportSplitting: the batch was planned and its chunks queued; the
	// chunk that finds every chunk done rewrites the report as split.
	ReportSplitting ReportStatus = "splitting"
)

// MaxReportRejections caps the rejection list in a report; the counts stay
// exact.
const MaxReportRejections = 1000

// Report is the object the splitter writes for each batch.
type Report struct {
	Batch  string       `json:"batch"`
	Bucket string       `json:"bucket"`
	Key    string       `json:"key"`
	Status ReportStatus `json:"status"`
	// Stamp is the batch's stamp, the one its messages carry.
	Stamp  Stamp  `json:"stamp,omitempty"`
	Error  string `json:"error,omitempty"`
	Offset *int64 `json:"offset,omitempty"` // byte offset of a structural error
	Totals Totals `json:"totals"`
	// Chunks is the number of chunks of the batch's plan (0 for a batch
	// that was not planned).
	Chunks int `json:"chunks,omitempty"`
	// OpRules names the op rules the splitter applied (batch.Rules):
	// "json", or empty for memo's expression rules, so that whoever reads
	// the batch's file again (reconciliation by names) reads the same ops.
	OpRules    string      `json:"op_rules,omitempty"`
	Rejections []Rejection `json:"rejections"`
	// RejectionsTruncated is true when Totals.Rejected > len(Rejections).
	RejectionsTruncated bool      `json:"rejections_truncated"`
	StartedAt           time.Time `json:"started_at"`
	FinishedAt          time.Time `json:"finished_at"`
}

// Totals counts the ops of a batch. Ops = Enqueued + Rejected once a batch
// has been split.
type Totals struct {
	Ops      int `json:"ops"`
	Enqueued int `json:"enqueued"`
	Rejected int `json:"rejected"`
}

// Reject records a rejection: the count is always exact, the list is capped.
func (r *Report) Reject(rej Rejection) {
	r.Totals.Ops++
	r.Totals.Rejected++
	if len(r.Rejections) < MaxReportRejections {
		r.Rejections = append(r.Rejections, rej)
	} else {
		r.RejectionsTruncated = true
	}
}

// Encode returns the report's JSON form.
func (r Report) Encode() ([]byte, error) {
	if r.Rejections == nil {
		r.Rejections = []Rejection{}
	}
	return json.MarshalIndent(r, "", "  ")
}

// DecodeReport parses a report object.
func DecodeReport(b []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return Report{}, fmt.Errorf("decode report: %w", err)
	}
	return r, nil
}
