package otlpsink

import (
	"slices"
	"sync"

	"github.com/traceproof/traceproof/fault"
)

// Default bounds of a sink's [Ledger] ([WithLedgerLimits]). An attempt holds
// a few hundred bytes plus 24 per span, so the defaults cost at most about
// 60 MiB.
const (
	DefaultLedgerAttempts = 100_000
	DefaultLedgerSpans    = 1_000_000
)

// Ledger is the sink's record of every OTLP request it answered, refused or
// not, as [fault.Attempt] values: when it came, from which sender and
// instances, over which transport, which spans it carried, which fault rule
// (if any) it met and what the sink answered in the end. It is always on, so
// the fault package's analyses ([fault.Lost], [fault.Duplicates],
// [fault.Retries]) and the assert package's delivery assertions can read
// what exporters did, faults or no faults.
//
// It is bounded: past its limits it forgets the oldest attempts and counts
// them ([Ledger.Dropped]); an analysis over a ledger that dropped attempts
// has lost evidence, and the assertions say so. It is safe for concurrent
// use.
type Ledger struct {
	mu          sync.Mutex
	maxAttempts int
	maxSpans    int
	attempts    []fault.Attempt // live ones are attempts[head:]
	head        int
	spans       int // span references held
	dropped     int
	changed     chan struct{}
}

func newLedger(maxAttempts, maxSpans int) *Ledger {
	if maxAttempts <= 0 {
		maxAttempts = DefaultLedgerAttempts
	}
	if maxSpans <= 0 {
		maxSpans = DefaultLedgerSpans
	}
	return &Ledger{maxAttempts: maxAttempts, maxSpans: maxSpans}
}

// add records a and wakes those waiting on Changed.
func (l *Ledger) add(a fault.Attempt) {
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	l.spans += refs(a)
	// Forget the oldest until within bounds, but never the attempt just
	// added: one request bigger than the span bound is still recorded.
	for n := len(l.attempts) - l.head; n > 1 && (n > l.maxAttempts || l.spans > l.maxSpans); n-- {
		l.spans -= refs(l.attempts[l.head])
		l.attempts[l.head] = fault.Attempt{} // let its slices go
		l.head++
		l.dropped++
	}
	if l.head > len(l.attempts)/2 {
		l.attempts = slices.Clone(l.attempts[l.head:])
		l.head = 0
	}
	ch := l.changed
	l.changed = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

func refs(a fault.Attempt) int { return len(a.Spans) + len(a.Rejected) }

// Attempts is a snapshot of the attempts kept, in the order the sink
// finished answering them (the analyses order them by arrival).
func (l *Ledger) Attempts() []fault.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.attempts[l.head:])
}

// Len is the number of attempts kept.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.attempts) - l.head
}

// Changed returns a channel closed when an attempt is added (or the ledger
// reset): ask for it before reading Attempts, and nothing added in between
// is missed.
func (l *Ledger) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed
}

// Dropped counts the attempts forgotten to stay within the ledger's limits
// since the sink started or the ledger was last reset.
func (l *Ledger) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Limits are the most attempts and span references the ledger keeps.
func (l *Ledger) Limits() (attempts, spans int) { return l.maxAttempts, l.maxSpans }

// Reset forgets every attempt and the dropped count, e.g. between tests
// that share a sink.
func (l *Ledger) Reset() {
	l.mu.Lock()
	l.attempts, l.head, l.spans, l.dropped = nil, 0, 0, 0
	ch := l.changed
	l.changed = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}
