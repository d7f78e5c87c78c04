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
//	  - batch id (<key>@<versionId>): a deterministic tie-break for uploads
//	    of different keys in the same millisecond (their sequencers are not
//	    comparable; S3 makes no promise, memo picks one).
//
// An empty stamp (a message queued before stamps existed) is older than
// every stamp.
//
// Which upload is newer (Newer) is not always the plain string order. S3
// documents only the sequencer as ordering the events of one key: "If you
// compare the sequencer strings from two event notifications on the same
// object key, the event notification with the greater sequencer
// hexadecimal value is the event that occurred later" ("Event message
// structure", Amazon S3 User Guide), and eventTime is when S3 "finished
// processing the request", which for two overlapping PUTs of one key need
// not follow the order in which they replaced each other. So two stamps of
// the same key compare by sequencer first; stamps of different keys, whose
// sequencers S3 says nothing about, by eventTime (the only clock they
// share). results.PutInput writes the same rule as a DynamoDB condition.
type Stamp = string

// StampParts returns the object key of the stamp's batch and its sequencer
// field (the comparable form NewStamp writes: two digits of length, then
// upper-case hex), or ok false for a stamp not made by NewStamp.
func StampParts(s Stamp) (key, seq string, ok bool) {
	// <13 digits>-<2 digits><seq>-<batch id>
	if len(s) < 17 || s[13] != '-' {
		return "", "", false
	}
	d0, d1 := s[14], s[15]
	if d0 < '0' || d0 > '9' || d1 < '0' || d1 > '9' {
		return "", "", false
	}
	n := int(d0-'0')*10 + int(d1-'0')
	if len(s) < 17+n || s[16+n] != '-' {
		return "", "", false
	}
	batch := s[17+n:]
	key = batch
	if i := strings.LastIndex(batch, "@"); i >= 0 {
		key = batch[:i]
	}
	return key, s[14 : 16+n], true
}

// Newer reports whether stamp a names a later upload than stamp b: by
// sequencer when both are of the same key and their sequencers differ, by
// the whole stamp otherwise (eventTime first). Equal stamps are one
// upload, neither newer.
func Newer(a, b Stamp) bool {
	if a == b {
		return false
	}
	ka, qa, oka := StampParts(a)
	kb, qb, okb := StampParts(b)
	if oka && okb && ka == kb && qa != qb {
		return qa > qb
	}
	return a > b
}

// MayReplace reports whether a result of the upload stamped s may replace
// one stored with stamp old: old has no stamp, is the same upload (a
// redelivery, which writes the same result), or is older.
func MayReplace(s, old Stamp) bool {
	return old == "" || s == old || Newer(s, old)
}

// NewStamp returns the stamp of a batch announced by an S3 event with the
// given event time and sequencer ("" when the event has none).
func NewStamp(eventTime time.Time, sequencer, batch string) Stamp {
	ms := max(eventTime.UnixMilli(), 0) // the zero time is before 1970
	seq := strings.ToUpper(strings.TrimLeft(sequencer, "0"))
	seq = seq[:min(len(seq), 99)] // never cut in practice: AWS sequencers are 16-18 digits
	return fmt.Sprintf("%013d-%02d%s-%s", ms, len(seq), seq, batch)
}
