package inmem

// The mapping fake's weak promises: what SQS and Lambda's event source
// mapping are allowed to do and an exact fake would never do, the knobs of
// internal/dev/weak (the twin's) for the fakes.

// Weak sets the mapping's weak promises; the zero value keeps none.
type Weak struct {
	// Duplicates is the rate at which a message is stored twice and so
	// delivered twice, each copy with its own receive count: "Amazon SQS
	// stores copies of your messages on multiple servers ... you might get
	// that message copy again" and standard queues deliver "at least once"
	// ("Amazon SQS at-least-once delivery", Amazon SQS Developer Guide).
	Duplicates float64
	// LostDeletes is the rate at which a deleted message comes back
	// (DeleteMessageBatch answered success, a copy was not deleted; same
	// page): a late duplicate delivery.
	LostDeletes float64
	// Throttles is the rate at which an invocation is throttled (429): the
	// batch is not run, its messages return with their receive counts
	// raised and count toward maxReceiveCount ("The extra time allows
	// Lambda to retry if your function is throttled while processing a
	// previous batch", "Creating and configuring an Amazon SQS event source
	// mapping", AWS Lambda Developer Guide).
	Throttles float64
}

// DefaultWeak is what the pipeline tests turn on.
func DefaultWeak() Weak {
	return Weak{Duplicates: 0.02, LostDeletes: 0.02, Throttles: 0.05}
}

// WeakStats counts what the weak promises did.
type WeakStats struct {
	Duplicated, LostDeletes, Throttled int
}

func (s *Mapping) draw(rate float64) bool { return rate > 0 && s.rng.Float64() < rate }

// duplicate stores a second copy of a message just taken in, at the
// Duplicates rate.
func (s *Mapping) duplicate(m *Message) {
	if s.draw(s.Weak.Duplicates) {
		s.WeakStats.Duplicated++
		s.visible = append(s.visible, &Message{ID: m.ID, Body: m.Body})
	}
}

// throttled reports whether the invocation of batch is throttled; its
// messages then return.
func (s *Mapping) throttled(batch []*Message) bool {
	if !s.draw(s.Weak.Throttles) {
		return false
	}
	s.WeakStats.Throttled++
	s.visible = append(s.visible, batch...)
	return true
}

// lostDeletes returns the messages of a successful delete call that come
// back anyway.
func (s *Mapping) lostDeletes(deleted []*Message) {
	for _, m := range deleted {
		if s.draw(s.Weak.LostDeletes) {
			s.WeakStats.LostDeletes++
			s.visible = append(s.visible, m)
		}
	}
}
