package record

import (
	"fmt"
	"strings"
	"time"
)

// A stamp orders the uploads of batches the way S3 accepted them, so that
// of two uploads that contain the same op name, the one S3 accepted later
// wins, whatever order they are processed in. The splitter makes it from
// the S3 event that announced the upload; it travels on every message and
// is stored on every result item, where compute's conditional write
// compares it (see internal/aws/results).
//
// Its form sorts as a plain string (DynamoDB compares strings by their
// UTF-8 bytes, "Comparison operator reference", Amazon DynamoDB Developer
// Guide), field by field:
//
//		<eventTime, milliseconds since the epoch, 13 digits>-<sequencer>-<batch id>
//
//	  - eventTime: S3 notifications carry the time "when Amazon S3 finished
//	    processing the request" with millisecond precision ("Event message
//	    structure", Amazon S3 User Guide). Finer digits (moto writes
//	    microseconds) are truncated, so the twin orders like AWS.
//	  - sequencer: "provides a way to determine the sequence of events ...
//	    compare the strings after padding the shorter one with zeros on the
//	    left" (same page); it orders events of one key only. It is written as
//	    two decimal digits of its length without leading zeros and then its
//	    hex digits in upper case, which compares as numbers do whatever the
//	    lengths. It matters when two uploads of one key share a millisecond.
//	  - batch id (<key>@<ETag>): a deterministic tie-break for uploads of
//	    different keys in the same millisecond (their sequencers are not
//	    comparable; S3 makes no promise, memo picks one).
//
// An empty stamp (a message queued before stamps existed) is older than
// every stamp.
type Stamp = string

// NewStamp returns the stamp of a batch announced by an S3 event with the
// given event time and sequencer ("" when the event has none).
func NewStamp(eventTime time.Time, sequencer, batch string) Stamp {
	ms := max(eventTime.UnixMilli(), 0) // the zero time is before 1970
	seq := strings.ToUpper(strings.TrimLeft(sequencer, "0"))
	seq = seq[:min(len(seq), 99)] // never cut in practice: AWS sequencers are 16-18 digits
	return fmt.Sprintf("%013d-%02d%s-%s", ms, len(seq), seq, batch)
}
