// Package measure measures memo's performance and cost for `make bench`
// (tools/bench runs it): microbenchmarks beside bare baselines, the
// splitter's memory in a process of its own, API calls counted by an SDK
// middleware during twin runs of memo and of a naive design, a cost model
// from those counts and one table of list prices, and the Lambda artifacts.
//
// Every figure is printed as one "key value" line, with an optional
// "# note" after it; a figure with a goal says "goal ...: met" or "missed".
// Nothing here runs under `make test` except the small unit tests of the
// model and the parsers.
package measure

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
)

// Goal is a target a figure must meet.
type Goal struct {
	// Max is true for an upper bound (value <= Limit), false for a lower
	// bound (value >= Limit).
	Max   bool
	Limit float64
}

// AtLeast is a lower bound.
func AtLeast(v float64) *Goal { return &Goal{Limit: v} }

// AtMost is an upper bound.
func AtMost(v float64) *Goal { return &Goal{Max: true, Limit: v} }

// Met reports whether v meets the goal.
func (g Goal) Met(v float64) bool {
	if g.Max {
		return v <= g.Limit
	}
	return v >= g.Limit
}

func (g Goal) String() string {
	if g.Max {
		return "<= " + Format(g.Limit)
	}
	return ">= " + Format(g.Limit)
}

// Printer writes figures as "key value  # note" lines and keeps the goals'
// outcome.
type Printer struct {
	mu     sync.Mutex
	w      io.Writer
	keys   map[string]bool
	Met    []string
	Missed []string
}

// NewPrinter returns a Printer writing to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w, keys: map[string]bool{}} }

// Comment writes a "# text" line.
func (p *Printer) Comment(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "# "+format+"\n", args...)
}

// Figure writes one figure. goal may be nil; note may be empty.
func (p *Printer) Figure(key string, v float64, goal *Goal, note string) {
	p.Text(key, Format(v), goal, v, note)
}

// Text writes a figure whose value is text (goal is checked against num).
func (p *Printer) Text(key, value string, goal *Goal, num float64, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys[key] {
		panic("bench: figure " + key + " printed twice")
	}
	p.keys[key] = true
	var parts []string
	if goal != nil {
		verdict := "met"
		if !goal.Met(num) || math.IsNaN(num) {
			verdict = "MISSED"
			p.Missed = append(p.Missed, key)
		} else {
			p.Met = append(p.Met, key)
		}
		parts = append(parts, "goal "+goal.String()+": "+verdict)
	}
	if note != "" {
		parts = append(parts, note)
	}
	line := key + " " + value
	if len(parts) > 0 {
		line += "  # " + strings.Join(parts, "; ")
	}
	fmt.Fprintln(p.w, line)
}

// Format prints a number with about four significant digits, without an
// exponent.
func Format(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(roundSig(v, 4), 'f', -1, 64)
	}
	return strconv.FormatFloat(roundSig(v, 3), 'f', -1, 64)
}

func roundSig(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	e := math.Ceil(math.Log10(math.Abs(v)))
	p := math.Pow(10, float64(digits)-e)
	return math.Round(v*p) / p
}
