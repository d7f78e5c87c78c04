package retry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// noWait is a policy of 4 tries that does not sleep.
var noWait = Policy{Attempts: 4, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}

func TestDoStopsAtTheFirstSuccess(t *testing.T) {
	var tries []int
	err := noWait.Do(context.Background(), func(attempt int) error {
		tries = append(tries, attempt)
		if attempt < 3 {
			return errors.New("throttled")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, tries); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

func TestDoReturnsAPermanentErrorAsIs(t *testing.T) {
	denied := Permanent(errors.New("access denied"))
	calls := 0
	err := noWait.Do(context.Background(), func(int) error { calls++; return denied })
	if err != denied {
		t.Errorf("Do = %v, want fn's permanent error unchanged", err)
	}
	if calls != 1 {
		t.Errorf("%d calls, want 1: a permanent error is not retried", calls)
	}
}

func TestDoGivesUpAfterTheAttempts(t *testing.T) {
	last := errors.New("throttled")
	calls := 0
	err := noWait.Do(context.Background(), func(int) error { calls++; return last })
	if calls != noWait.Attempts {
		t.Errorf("%d calls, want the policy's %d attempts", calls, noWait.Attempts)
	}
	if !errors.Is(err, last) {
		t.Errorf("Do = %v, want it to wrap fn's last error", err)
	}
	if IsPermanent(err) {
		t.Errorf("Do = %v, marked permanent; only fn marks errors permanent", err)
	}
	if want := "gave up after 4 attempts: throttled"; err.Error() != want {
		t.Errorf("Do = %q, want %q", err, want)
	}
}

func TestDoStopsWhenTheWaitFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	last := errors.New("throttled")
	calls := 0
	err := noWait.Do(ctx, func(int) error { calls++; cancel(); return last })
	if calls != 1 {
		t.Errorf("%d calls, want 1: the context ended during the first wait", calls)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want it to wrap the wait's error", err)
	}
	if !errors.Is(err, last) {
		t.Errorf("Do = %v, want it to wrap fn's last error", err)
	}
}

func TestBeforeDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	outer, _ := ctx.Deadline()
	inner, cancelInner := BeforeDeadline(ctx, time.Minute)
	defer cancelInner()
	got, _ := inner.Deadline()
	if want := outer.Add(-time.Minute); !got.Equal(want) {
		t.Errorf("deadline %v, want the outer one less the margin, %v", got, want)
	}
	none, cancelNone := BeforeDeadline(context.Background(), time.Minute)
	defer cancelNone()
	if _, ok := none.Deadline(); ok {
		t.Error("a context without a deadline got one")
	}
}

// call is a scripted batch call: each try answers the next failures (by
// the entry's value) and records what it was asked to send.
type call struct {
	asked   [][]string
	answers []func(items []string) ([]Failure, error)
}

func (c *call) send(_ context.Context, items []string) ([]Failure, error) {
	c.asked = append(c.asked, append([]string(nil), items...))
	if len(c.answers) == 0 {
		return nil, nil
	}
	a := c.answers[0]
	c.answers = c.answers[1:]
	return a(items)
}

// failing answers a failure for each item in bad.
func failing(permanent bool, bad ...string) func([]string) ([]Failure, error) {
	return func(items []string) ([]Failure, error) {
		var fs []Failure
		for i, it := range items {
			for _, b := range bad {
				if it == b {
					fs = append(fs, Failure{Index: i, Reason: "InternalError: " + b, Permanent: permanent})
				}
			}
		}
		return fs, nil
	}
}

func quoted(s string) string { return `"` + s + `"` }

func TestBatchRetriesOnlyTheFailedEntries(t *testing.T) {
	c := &call{answers: []func([]string) ([]Failure, error){
		failing(false, "b", "d"),
		func([]string) ([]Failure, error) { return nil, errors.New("connection reset") },
		failing(false, "d"),
	}}
	calls, err := Batch(context.Background(), noWait, []string{"a", "b", "c", "d"}, quoted, c.send)
	if err != nil {
		t.Fatalf("Batch = %v, want nil", err)
	}
	if calls != 4 {
		t.Errorf("%d calls, want 4", calls)
	}
	want := [][]string{{"a", "b", "c", "d"}, {"b", "d"}, {"b", "d"}, {"d"}}
	if diff := cmp.Diff(want, c.asked); diff != "" {
		t.Errorf("entries sent by each call (-want +got):\n%s", diff)
	}
}

func TestBatchStopsAtAPermanentEntry(t *testing.T) {
	c := &call{answers: []func([]string) ([]Failure, error){failing(true, "c")}}
	calls, err := Batch(context.Background(), noWait, []string{"a", "b", "c"}, quoted, c.send)
	if !IsPermanent(err) {
		t.Errorf("Batch = %v, want a permanent error", err)
	}
	if want := `refused "c": InternalError: c`; err == nil || err.Error() != want {
		t.Errorf("Batch = %v, want %q", err, want)
	}
	if calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
}

func TestBatchStopsAtAPermanentCallError(t *testing.T) {
	denied := Permanent(errors.New("AccessDenied"))
	c := &call{answers: []func([]string) ([]Failure, error){func([]string) ([]Failure, error) { return nil, denied }}}
	calls, err := Batch(context.Background(), noWait, []string{"a"}, quoted, c.send)
	if err != denied {
		t.Errorf("Batch = %v, want the call's permanent error", err)
	}
	if calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
}

func TestBatchRefusesAFailureOfAnUnknownEntry(t *testing.T) {
	for _, index := range []int{-1, 1, 5} { // one entry sent: index 0 only
		c := &call{answers: []func([]string) ([]Failure, error){
			func([]string) ([]Failure, error) { return []Failure{{Index: index}}, nil },
		}}
		_, err := Batch(context.Background(), noWait, []string{"a"}, quoted, c.send)
		if !IsPermanent(err) {
			t.Errorf("a failure of entry %d: Batch = %v, want a permanent error", index, err)
		}
	}
}

func TestBatchGivesUpWithTheLastFailures(t *testing.T) {
	c := &call{answers: []func([]string) ([]Failure, error){
		failing(false, "a", "b"), failing(false, "a", "b"), failing(false, "b"), failing(false, "b"),
	}}
	calls, err := Batch(context.Background(), noWait, []string{"a", "b"}, quoted, c.send)
	if calls != noWait.Attempts {
		t.Errorf("%d calls, want the policy's %d attempts", calls, noWait.Attempts)
	}
	if err == nil || !strings.Contains(err.Error(), "1 of 1 entries failed, first: InternalError: b") {
		t.Errorf("Batch = %v, want the last call's failures", err)
	}
}
