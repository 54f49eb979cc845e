package jaegerbin

import (
	"strings"
	"sync"
)

// lineRing keeps the last lines of the Jaeger's output in memory, so a
// failing test can print them without reading the log file back.
type lineRing struct {
	mu    sync.Mutex
	lines []string
	next  int // where the next line goes once the ring is full
	full  bool
}

func newLineRing(n int) *lineRing { return &lineRing{lines: make([]string, 0, n)} }

func (r *lineRing) add(line string) {
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

// tail returns the last n lines (all kept lines when n <= 0), oldest first,
// newline-terminated.
func (r *lineRing) tail(n int) string {
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

// contains reports whether any kept line contains s.
func (r *lineRing) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
