// Package proc holds what the tests' helper processes (the Collector,
// Jaeger) share: a ring of their last output lines, a cross-process build
// lock, and process-group signalling.
package proc

import (
	"strings"
	"sync"
)

// LineRing keeps the last lines of a child process's output in memory, so a
// failing test can print them without reading the log file back.
type LineRing struct {
	mu    sync.Mutex
	lines []string
	next  int // where the next line goes once the ring is full
	full  bool
}

func NewLineRing(n int) *LineRing { return &LineRing{lines: make([]string, 0, n)} }

// Add keeps line, forgetting the oldest once full.
func (r *LineRing) Add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		r.lines = append(r.lines, line)
		if len(r.lines) == cap(r.lines) {
			r.full = true
		}
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
}

// Tail returns the last n lines (all kept lines when n <= 0), oldest first,
// newline-terminated.
func (r *LineRing) Tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ordered := r.lines
	if r.full {
		ordered = append(append([]string{}, r.lines[r.next:]...), r.lines[:r.next]...)
	}
	if n > 0 && n < len(ordered) {
		ordered = ordered[len(ordered)-n:]
	}
	if len(ordered) == 0 {
		return ""
	}
	return strings.Join(ordered, "\n") + "\n"
}

// Contains reports whether any kept line contains s.
func (r *LineRing) Contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
