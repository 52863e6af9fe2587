// Package trace records when each phase of a container start ended, in the
// parent and in the init, so that `--debug` can say where the time went.
package trace

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mark is the end of one phase. At is wall-clock time (not monotonic): the
// parent and the init share CLOCK_REALTIME even in a time namespace.
type Mark struct {
	Name string `json:"name"`
	At   int64  `json:"at"` // Unix nanoseconds
}

// Trace is a list of marks. A nil *Trace records nothing, so callers need
// no checks when tracing is off.
type Trace struct {
	Start time.Time
	Marks []Mark
}

// New starts a trace now.
func New() *Trace { return &Trace{Start: time.Now()} }

// Mark records the end of phase name.
func (t *Trace) Mark(name string) {
	if t != nil {
		t.Marks = append(t.Marks, Mark{Name: name, At: time.Now().UnixNano()})
	}
}

// Add takes marks recorded elsewhere (the init's).
func (t *Trace) Add(marks []Mark) {
	if t != nil {
		t.Marks = append(t.Marks, marks...)
	}
}

// String shows each phase's duration, in time order (the parent's and the
// init's phases interleave), and the total.
func (t *Trace) String() string {
	if t == nil || len(t.Marks) == 0 {
		return ""
	}
	marks := slices.Clone(t.Marks)
	slices.SortStableFunc(marks, func(a, b Mark) int { return cmp.Compare(a.At, b.At) })
	var b strings.Builder
	prev := t.Start.UnixNano()
	for _, m := range marks {
		fmt.Fprintf(&b, "%s %.2fms, ", m.Name, float64(m.At-prev)/1e6)
		prev = m.At
	}
	fmt.Fprintf(&b, "total %.2fms", float64(prev-t.Start.UnixNano())/1e6)
	return b.String()
}
