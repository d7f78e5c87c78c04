package record

// The rule of the results table's conditional write (results.PutInput
// writes it as a DynamoDB condition; the in-memory fake applies it here).

// MayWrite reports whether r may be written over old, the result the
// name holds (held false: none): when the name holds an unstamped result
// of another batch, or, for a stamped r, an unstamped result or one of an
// older upload (Newer). The same upload's result is not written again: a
// redelivery would cost a write and count the op twice.
func MayWrite(r, old Result, held bool) bool {
	switch {
	case !held:
		return true
	case r.Stamp == "":
		return old.Stamp == "" && old.Batch != r.Batch
	default:
		return old.Stamp == "" || Newer(r.Stamp, old.Stamp)
	}
}

// SameUpload reports whether the stored result old is of r's upload: the
// same batch and stamp (the same batch, for an r queued before stamps
// existed). A write refused by it is compute.ErrAlreadyStored; by any
// other, compute.ErrSuperseded.
func SameUpload(r, old Result) bool {
	return old.Batch == r.Batch && (r.Stamp == "" || old.Stamp == r.Stamp)
}
