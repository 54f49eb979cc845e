package asserttest

import (
	"sync"

	"github.com/traceproof/traceproof/spanstore"
)

// Hooked is a Source that runs a hook after a chosen watch (a Changed call
// and the Spans call after it), so a test can make a span arrive while an
// assertion waits, at a known point, without sleeping.
type Hooked struct {
	*spanstore.Store
	mu       sync.Mutex
	calls    int
	watching bool                        // a Changed call awaits its Spans call
	At       int                         // run Hook after this watch (1-based)
	When     func([]spanstore.Span) bool // or after the first watch whose answer satisfies When
	Hook     func()
	done     bool
}

func (h *Hooked) Changed(f spanstore.Filter) <-chan struct{} {
	h.mu.Lock()
	h.watching = true
	h.mu.Unlock()
	return h.Store.Changed(f)
}

// Spans runs the hook after the answer of a watch is computed: the spans it
// ingests close the channel the waiter holds, and the waiter wakes.
func (h *Hooked) Spans(f spanstore.Filter) []spanstore.Span {
	spans := h.Store.Spans(f)
	h.mu.Lock()
	if !h.watching {
		h.mu.Unlock()
		return spans
	}
	h.watching = false
	h.calls++
	run := !h.done && ((h.When == nil && h.calls == h.At) || (h.When != nil && h.When(spans)))
	if run {
		h.done = true
	}
	h.mu.Unlock()
	if run {
		h.Hook()
	}
	return spans
}

// Calls is how many watches the source has seen.
func (h *Hooked) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}
