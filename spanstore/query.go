package spanstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Filter selects spans. Its fields narrow the search through the store's
// indexes (correlation, trace, name); Match then checks each candidate. The
// zero Filter selects every span.
type Filter struct {
	// Correlation selects the spans of every trace that holds, or held, a
	// span with this value under one of the store's correlation keys (in
	// span, span-event or resource attributes), while any span of the trace
	// is stored: a child keeps its evicted parent's correlation.
	Correlation string
	// TraceID, when not zero, selects the spans of one trace.
	TraceID TraceID
	// Name, when not empty, selects spans with exactly this name.
	Name string
	// Match, when not nil, must return true for a span to be selected.
	Match func(*Span) bool
}

// String describes the filter for messages.
func (f Filter) String() string {
	var parts []string
	if f.Correlation != "" {
		parts = append(parts, fmt.Sprintf("correlation=%q", f.Correlation))
	}
	if !f.TraceID.IsZero() {
		parts = append(parts, "trace="+f.TraceID.String())
	}
	if f.Name != "" {
		parts = append(parts, fmt.Sprintf("name=%q", f.Name))
	}
	if f.Match != nil {
		parts = append(parts, "match=func")
	}
	if len(parts) == 0 {
		return "all spans"
	}
	return strings.Join(parts, " ")
}

// Spans returns the stored spans that f selects, in arrival order.
func (st *Store) Spans(f Filter) []Span {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.query(f)
}

// Trace returns the stored spans of one trace, in arrival order.
func (st *Store) Trace(id TraceID) []Span { return st.Spans(Filter{TraceID: id}) }

// Correlated returns the stored spans correlated with value, in arrival order.
func (st *Store) Correlated(value string) []Span { return st.Spans(Filter{Correlation: value}) }

// Watch returns the spans f selects now, and a channel that is closed when a
// span arrives that could change that answer. It is the primitive under
// Wait: query, and if the answer is not enough yet, wait on the channel and
// query again. Nothing is missed between the query and the wait.
func (st *Store) Watch(f Filter) ([]Span, <-chan struct{}) {
	ch := st.Changed(f)
	return st.Spans(f), ch
}

// Changed returns a channel closed when a span arrives that could change what
// f selects, without running f (Watch without the query).
func (st *Store) Changed(f Filter) <-chan struct{} { return st.watch(keyFor(f)) }

// Wait blocks until f selects at least n spans, and returns them. It returns
// what it has with ctx's error when ctx ends first. It wakes on ingest, never
// by polling.
func (st *Store) Wait(ctx context.Context, f Filter, n int) ([]Span, error) {
	for {
		spans, changed := st.Watch(f)
		if len(spans) >= n {
			return spans, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return spans, ctx.Err()
		}
	}
}

// query runs f. Caller holds mu.
func (st *Store) query(f Filter) []Span {
	var nameID uint32
	if f.Name != "" {
		id, ok := st.strs.Lookup(f.Name)
		if !ok {
			return nil
		}
		nameID = id
	}
	var out []Span
	visit := func(seq uint64) {
		r := st.rec(seq)
		if r == nil || (f.Name != "" && r.name != nameID) || (!f.TraceID.IsZero() && r.traceID != f.TraceID) {
			return
		}
		s := st.materialize(seq, r)
		if f.Match == nil || f.Match(&s) {
			out = append(out, s)
		}
	}
	switch {
	case f.Correlation != "":
		ce := st.corr[f.Correlation]
		if ce == nil {
			return nil
		}
		for _, id := range ce.traces {
			if !f.TraceID.IsZero() && id != f.TraceID {
				continue
			}
			if te := st.traces[id]; te != nil {
				for _, seq := range te.seqs {
					visit(seq)
				}
			}
		}
		if len(ce.traces) > 1 {
			slices.SortFunc(out, func(a, b Span) int { return cmp.Compare(a.Seq, b.Seq) })
		}
	case !f.TraceID.IsZero():
		if te := st.traces[f.TraceID]; te != nil {
			for _, seq := range te.seqs {
				visit(seq)
			}
		}
	case f.Name != "":
		for _, seq := range st.byName[nameID] {
			visit(seq)
		}
	default:
		for seq := st.head; seq < st.next; seq++ {
			visit(seq)
		}
	}
	return out
}

type watchKind uint8

const (
	watchAll watchKind = iota
	watchCorr
	watchTrace
	watchName
)

type watchKey struct {
	kind  watchKind
	s     string
	trace TraceID
}

// keyFor picks the narrowest index key that every span f could select will
// touch on arrival.
func keyFor(f Filter) watchKey {
	switch {
	case f.Correlation != "":
		return watchKey{kind: watchCorr, s: f.Correlation}
	case !f.TraceID.IsZero():
		return watchKey{kind: watchTrace, trace: f.TraceID}
	case f.Name != "":
		return watchKey{kind: watchName, s: f.Name}
	}
	return watchKey{kind: watchAll}
}

// watch returns the channel closed on the next ingest that touches k. Waiters
// on one key share a channel.
func (st *Store) watch(k watchKey) <-chan struct{} {
	st.mu.Lock()
	defer st.mu.Unlock()
	ch := st.watchers[k]
	if ch == nil {
		ch = make(chan struct{})
		st.watchers[k] = ch
		st.wk.kinds[k.kind]++
	}
	return ch
}

// waking is how an ingest finds its waiters: it looks up each key it
// touches among the watched ones and takes the channels it finds, and it
// skips the kinds of key nobody watches (a suite's long-polls are all by
// correlation) by counting watched keys by kind. So a store nobody waits on
// pays nothing, and a store with many waiters pays a lookup per key touched,
// not an insert into a set of them.
type waking struct {
	kinds [watchName + 1]int
	taken []chan struct{}
	// The trace whose keys the ingest looked up last, and how many
	// correlation values it had then; valid within one commit.
	lastTrace *traceEntry
	lastCorrs int
}

// wake takes k's channel, if anyone watches k. Caller holds mu.
func (st *Store) wake(k watchKey) {
	if ch, ok := st.watchers[k]; ok {
		st.wk.taken = append(st.wk.taken, ch)
		delete(st.watchers, k)
		st.wk.kinds[k.kind]--
	}
}

// takeWoken returns the channels the ingest took, the watchAll one
// included, to be closed once mu is released. Caller holds mu.
func (st *Store) takeWoken() []chan struct{} {
	if st.wk.kinds[watchAll] > 0 {
		st.wake(watchKey{kind: watchAll})
	}
	out := st.wk.taken
	st.wk.taken = nil
	return out
}
