package fault

import (
	"encoding/hex"
	"slices"
	"sync"
)

// SpanRef identifies a span: its trace ID and span ID.
type SpanRef struct {
	TraceID [16]byte
	SpanID  [8]byte
}

// String is "traceid/spanid" in lower-case hex.
func (s SpanRef) String() string {
	return hex.EncodeToString(s.TraceID[:]) + "/" + hex.EncodeToString(s.SpanID[:])
}

// Attempt is one request as the sink saw and answered it. The receiver
// records every request, the refused ones included: their data is not
// stored, but the ledger remembers it.
type Attempt struct {
	// Request is the request's time, transport, signal, sender, instances
	// and correlation values, as given to [Injector.Decide].
	Request
	// Spans are the request's spans in request order (traces only).
	Spans []SpanRef
	// Count is the number of items the request carried: spans, data points
	// or log records; 0 means len(Spans).
	Count int
	// Fault is the answer an [Injector] gave, the zero Answer when no rule
	// fired.
	Fault Answer
	// Answer is what the sink finally answered: the fault's answer when it
	// refused or was a partial success; otherwise the real answer (the zero
	// Answer for a full success, a [Partial] for the sink's own partial
	// success, a [GRPC] or [HTTP] code for its own refusals). After a
	// [Delay] it is the real answer that followed.
	Answer Answer
	// Rejected are the spans of a partial success that were not stored.
	Rejected []SpanRef
}

func (a Attempt) count() int {
	if a.Count == 0 {
		return len(a.Spans)
	}
	return a.Count
}

// Ledger records every attempt. It is safe for concurrent use; the zero
// Ledger is empty and ready, and a nil *Ledger records nothing.
type Ledger struct {
	mu       sync.Mutex
	attempts []Attempt
}

// Add records an attempt, with the current time if a.Time is zero. The
// ledger keeps a's slices: do not change them afterwards.
func (l *Ledger) Add(a Attempt) {
	if l == nil {
		return
	}
	a.Time = a.at()
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	l.mu.Unlock()
}

// Attempts is a snapshot of the attempts in the order they were added.
func (l *Ledger) Attempts() []Attempt {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.attempts)
}

// Reset forgets every attempt.
func (l *Ledger) Reset() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.attempts = nil
	l.mu.Unlock()
}
