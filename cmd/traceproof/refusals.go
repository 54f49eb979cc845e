package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// refusalLinesPerSecond caps serve's live refusal lines: a misconfigured
// exporter retrying in a loop, or a flood, must not drown the terminal.
const refusalLinesPerSecond = 10

// refusalPrinter says on stderr, as it happens, why serve refused a
// request: one line each (time, transport, reason, sender, path, message
// with the fix where one is known), at most perSecond lines in a second;
// the rest of that second's refusals are summed up in one line when it
// ends. At exit it lists every refusal by reason.
type refusalPrinter struct {
	w         io.Writer // one Write per line
	perSecond int

	mu            sync.Mutex
	windowStart   time.Time
	printed       int            // lines printed in the window
	suppressed    map[string]int // refusals not printed in the window, by reason
	timer         *time.Timer    // ends the window when refusals were suppressed
	last          map[string]otlpsink.Refusal
	closed        bool
	suppressedAll int
}

func newRefusalPrinter(w io.Writer, perSecond int) *refusalPrinter {
	return &refusalPrinter{w: w, perSecond: perSecond, suppressed: map[string]int{}, last: map[string]otlpsink.Refusal{}}
}

// serveRefusals is serve's hook: the option that feeds the printer, and
// the function that prints the exit summary.
func serveRefusals(stderr io.Writer) (otlpsink.Option, func(spanstore.Stats)) {
	p := newRefusalPrinter(stderr, refusalLinesPerSecond)
	return otlpsink.WithOnRefused(p.add), p.close
}

func (p *refusalPrinter) add(r otlpsink.Refusal) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[r.Reason] = r
	if p.closed {
		return
	}
	if p.windowStart.IsZero() || now.Sub(p.windowStart) >= time.Second {
		p.endWindowLocked()
		p.windowStart, p.printed = now, 0
	}
	if p.printed < p.perSecond {
		p.printed++
		_, _ = io.WriteString(p.w, "traceproof serve: refused: "+r.String()+"\n")
		return
	}
	p.suppressed[r.Reason]++
	p.suppressedAll++
	if p.timer == nil {
		p.timer = time.AfterFunc(p.windowStart.Add(time.Second).Sub(now), p.tick)
	}
}

func (p *refusalPrinter) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	if !p.closed {
		p.endWindowLocked()
	}
}

// endWindowLocked prints the line for the refusals of the window that were
// not printed, if any.
func (p *refusalPrinter) endWindowLocked() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if p.suppressedAll == 0 {
		return
	}
	_, _ = fmt.Fprintf(p.w, "traceproof serve: refused: … %d more refused in the last second (%s); all are counted in the summary at exit\n",
		p.suppressedAll, byReason(p.suppressed))
	clear(p.suppressed)
	p.suppressedAll = 0
}

// close prints what the last window held back, then every refusal of the
// run by reason (the counts are st's), each with the latest message of its
// kind, which names the fix where one is known.
func (p *refusalPrinter) close(st spanstore.Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endWindowLocked()
	p.closed = true
	counts := map[string]int{}
	for k, n := range st.Refused {
		counts[k] += int(n)
	}
	if st.DecodeErrors > 0 {
		counts[otlpsink.ReasonDecode] = int(st.DecodeErrors)
	}
	for _, n := range st.UnknownPaths {
		counts[otlpsink.ReasonUnknownPath] += int(n)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "traceproof serve: %s refused, by reason:\n", english.Plural(total, "request"))
	for _, reason := range sortedByCount(counts) {
		fmt.Fprintf(&b, "  %-16s %d", reason, counts[reason])
		if reason == otlpsink.ReasonUnknownPath {
			fmt.Fprintf(&b, " (%s)", byReason(intCounts(st.UnknownPaths)))
		}
		if r, ok := p.last[reason]; ok {
			fmt.Fprintf(&b, "; latest: %s", r.String())
		}
		b.WriteString("\n")
	}
	_, _ = io.WriteString(p.w, b.String())
}

// byReason renders counts as "unknown path 3, decode error 1", largest
// first.
func byReason(counts map[string]int) string {
	keys := sortedByCount(counts)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// sortedByCount is counts' keys, largest count first, then by name.
func sortedByCount(counts map[string]int) []string {
	keys := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(keys, func(a, b string) int { return counts[b] - counts[a] })
	return keys
}

func intCounts(m map[string]uint64) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = int(v)
	}
	return out
}
