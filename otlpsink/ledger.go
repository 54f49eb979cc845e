package otlpsink

import (
	"slices"
	"sync"
	"time"

	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/spanstore"
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
	// The live attempts are entries[head:], in the order they were added;
	// their span references (spans, then rejected) are refs[refHead:] and
	// their instance and correlation values ids[idHead:], attempt after
	// attempt, so an entry holds counts, not slices. Everything is
	// pointer-free but the interned strings and answers: a full ledger is a
	// few large arrays the garbage collector does not scan, which a
	// receiver with a million stored spans and 100,000 attempts needs (as
	// slices of fault.Attempt they were a tenth of its CPU).
	entries []entry
	head    int
	refs    []fault.SpanRef
	refHead int
	ids     []uint32
	idHead  int
	strs    interner[string]
	answers interner[fault.Answer]
	dropped int
	changed chan struct{}
}

// entry is a fault.Attempt as the ledger keeps it.
type entry struct {
	time                      int64 // Unix nanoseconds
	transport, signal, sender uint32
	nInstances, nCorrs        uint32
	nSpans, nRejected         uint32
	count                     int64
	fault, answer             uint32
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

// add records a, with the spans of direct (the direct decoder's receipt)
// after a.Spans, and wakes those waiting on Changed. It keeps no slice of
// a's or direct's.
func (l *Ledger) add(a fault.Attempt, direct []spanstore.SpanRef) {
	l.mu.Lock()
	e := entry{time: a.Time.UnixNano(), transport: l.strs.add(string(a.Transport)), signal: l.strs.add(string(a.Signal)),
		sender: l.strs.add(a.Sender), nInstances: uint32(len(a.Instances)), nCorrs: uint32(len(a.Correlations)),
		nSpans: uint32(len(a.Spans) + len(direct)), nRejected: uint32(len(a.Rejected)), count: int64(a.Count),
		fault: l.answers.add(a.Fault), answer: l.answers.add(a.Answer)}
	for _, v := range a.Instances {
		l.ids = append(l.ids, l.strs.add(v))
	}
	for _, v := range a.Correlations {
		l.ids = append(l.ids, l.strs.add(v))
	}
	l.refs = append(l.refs, a.Spans...)
	for _, r := range direct {
		l.refs = append(l.refs, fault.SpanRef{TraceID: r.TraceID, SpanID: r.SpanID})
	}
	l.refs = append(l.refs, a.Rejected...)
	l.entries = append(l.entries, e)
	// Forget the oldest until within bounds, but never the attempt just
	// added: one request bigger than the span bound is still recorded.
	for n := len(l.entries) - l.head; n > 1 && (n > l.maxAttempts || len(l.refs)-l.refHead > l.maxSpans); n-- {
		l.drop()
	}
	if l.head > len(l.entries)/2 {
		l.compact()
	}
	ch := l.changed
	l.changed = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// drop forgets the oldest attempt. Caller holds mu.
func (l *Ledger) drop() {
	e := l.entries[l.head]
	l.head++
	l.dropped++
	l.refHead += int(e.nSpans + e.nRejected)
	for _, id := range l.ids[l.idHead : l.idHead+int(e.nInstances+e.nCorrs)] {
		l.strs.release(id)
	}
	l.idHead += int(e.nInstances + e.nCorrs)
	l.strs.release(e.transport)
	l.strs.release(e.signal)
	l.strs.release(e.sender)
	l.answers.release(e.fault)
	l.answers.release(e.answer)
}

// compact moves the live part of each array to its front, in place: no
// garbage.
func (l *Ledger) compact() {
	l.entries = l.entries[:copy(l.entries, l.entries[l.head:])]
	l.refs = l.refs[:copy(l.refs, l.refs[l.refHead:])]
	l.ids = l.ids[:copy(l.ids, l.ids[l.idHead:])]
	l.head, l.refHead, l.idHead = 0, 0, 0
}

// Attempts is a snapshot of the attempts kept, in the order the sink
// finished answering them (the analyses order them by arrival). Their times
// have no monotonic clock reading.
func (l *Ledger) Attempts() []fault.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]fault.Attempt, 0, len(l.entries)-l.head)
	r, k := l.refHead, l.idHead
	strs := func(n uint32) []string {
		if n == 0 {
			return nil
		}
		vs := make([]string, n)
		for i := range vs {
			vs[i] = l.strs.vals[l.ids[k+i]]
		}
		k += int(n)
		return vs
	}
	refs := func(n uint32) []fault.SpanRef {
		if n == 0 {
			return nil
		}
		rs := slices.Clone(l.refs[r : r+int(n)])
		r += int(n)
		return rs
	}
	for _, e := range l.entries[l.head:] {
		a := fault.Attempt{Request: fault.Request{Time: time.Unix(0, e.time), Transport: fault.Transport(l.strs.vals[e.transport]),
			Signal: fault.Signal(l.strs.vals[e.signal]), Sender: l.strs.vals[e.sender]}}
		a.Instances = strs(e.nInstances)
		a.Correlations = strs(e.nCorrs)
		a.Spans = refs(e.nSpans)
		a.Rejected = refs(e.nRejected)
		a.Count = int(e.count)
		a.Fault, a.Answer = l.answers.vals[e.fault], l.answers.vals[e.answer]
		out = append(out, a)
	}
	return out
}

// Len is the number of attempts kept.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries) - l.head
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
	l.entries, l.head, l.refs, l.refHead, l.ids, l.idHead, l.dropped = nil, 0, nil, 0, nil, 0, 0
	l.strs, l.answers = interner[string]{}, interner[fault.Answer]{}
	ch := l.changed
	l.changed = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// interner gives each distinct value an ID and counts its references, so
// that a value no attempt refers to any more is forgotten. The zero value
// is ID 0, always.
type interner[T comparable] struct {
	ids  map[T]uint32
	vals []T
	refs []int
	free []uint32
}

func (in *interner[T]) add(v T) uint32 {
	var zero T
	if len(in.vals) == 0 { // ID 0, the zero value, is never freed
		in.vals, in.refs, in.ids = []T{zero}, []int{0}, map[T]uint32{}
	}
	if v == zero {
		return 0
	}
	if id, ok := in.ids[v]; ok {
		in.refs[id]++
		return id
	}
	var id uint32
	if n := len(in.free); n > 0 {
		id = in.free[n-1]
		in.free = in.free[:n-1]
		in.vals[id], in.refs[id] = v, 1
	} else {
		id = uint32(len(in.vals))
		in.vals = append(in.vals, v)
		in.refs = append(in.refs, 1)
	}
	in.ids[v] = id
	return id
}

func (in *interner[T]) release(id uint32) {
	if id == 0 {
		return
	}
	if in.refs[id]--; in.refs[id] == 0 {
		var zero T
		delete(in.ids, in.vals[id])
		in.vals[id] = zero
		in.free = append(in.free, id)
	}
}
