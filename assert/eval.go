package assert

import (
	"cmp"
	"slices"

	"github.com/traceproof/traceproof/spanstore"
)

// Source is where assertions read spans: an [otlpsink.Sink], a
// [spanstore.Store] (a loaded dump, or spans handed to Ingest), or a source
// over the network. It is all the engine needs, so anything that can answer
// these four can stand behind every assertion.
type Source interface {
	// Spans returns the spans f selects now, in arrival order. The engine
	// treats the answer as a snapshot: it asks again rather than keep one.
	Spans(f spanstore.Filter) []spanstore.Span
	// Changed returns a channel closed when a span arrives that could change
	// what f selects. The engine asks for it before it asks Spans, so nothing
	// arriving in between is missed. A source without push may close it on
	// a timer (with bounded backoff); an in-process one closes it on ingest.
	Changed(f spanstore.Filter) <-chan struct{}
	// Stats describes what the source received, refused and evicted, for
	// failure reports.
	Stats() spanstore.Stats
	// CorrelationKeys are the attribute keys the source correlates by.
	CorrelationKeys() []string
}

// Find returns the spans q selects now, in arrival order, without waiting.
func (q Query) Find(src Source) []spanstore.Span {
	spans, _ := q.find(newView(src), false)
	return spans
}

// filter compiles q for the store: its index fields (correlation, trace,
// name) come from the conditions, and Match checks the conditions a span
// decides alone. The conditions that need the span's trace are returned, to
// be checked after the store's query, since Match runs under the store's lock
// and must not call back into it.
func (q Query) filter() (spanstore.Filter, []cond) {
	var f spanstore.Filter
	for _, c := range q.conds {
		if f.Name == "" {
			f.Name = c.name
		}
		if f.TraceID.IsZero() {
			f.TraceID = c.traceID
		}
	}
	f.Correlation = q.impliedCorrelation()
	var local, rest []cond
	for _, c := range q.conds {
		switch {
		case c.corr != "" && c.corr == f.Correlation:
			// decided by the index
		case c.trace:
			rest = append(rest, c)
		default:
			local = append(local, c)
		}
	}
	if len(local) > 0 {
		f.Match = func(s *spanstore.Span) bool { return matchConds(nil, local, s) }
	}
	return f, rest
}

// impliedCorrelation is the correlation the query's spans must be in: its
// own, or a structure sub-query's, since related spans share a trace and the
// store correlates whole traces.
func (q Query) impliedCorrelation() string {
	for _, c := range q.conds {
		if c.corr != "" {
			return c.corr
		}
	}
	for _, c := range q.conds {
		if c.sub != nil {
			if v := c.sub.impliedCorrelation(); v != "" {
				return v
			}
		}
	}
	return ""
}

// find returns the spans q selects and, when watch is set, a channel closed
// when a span arrives that could change that answer. A correlated query is
// answered from the view's snapshot of its correlation, so that every query
// of one look, and the report of a failure, read the same spans.
func (q Query) find(v *view, watch bool) ([]spanstore.Span, <-chan struct{}) {
	f, rest := q.filter()
	var spans []spanstore.Span
	var changed <-chan struct{}
	switch {
	case f.Correlation != "":
		snap := v.correlated(f.Correlation)
		spans, changed = selectFrom(snap.spans, f), snap.changed
	case !watch:
		spans = v.src.Spans(f)
	case len(rest) > 0 && f.TraceID.IsZero():
		// A structure query's answer changes when any span of a candidate's
		// trace arrives, whatever its name. With no correlation or trace to
		// watch, only a watch on every arrival sees that.
		changed = v.src.Changed(spanstore.Filter{})
		spans = v.src.Spans(f)
	default:
		changed = v.src.Changed(f)
		spans = v.src.Spans(f)
	}
	if len(rest) == 0 {
		return spans, changed
	}
	out := spans[:0]
	for i := range spans {
		if matchConds(v, rest, &spans[i]) {
			out = append(out, spans[i])
		}
	}
	return out, changed
}

// selectFrom applies f's name, trace and Match to spans already fetched, as
// the store would.
func selectFrom(spans []spanstore.Span, f spanstore.Filter) []spanstore.Span {
	var out []spanstore.Span
	for i := range spans {
		s := &spans[i]
		if (f.Name != "" && s.Name != f.Name) || (!f.TraceID.IsZero() && s.TraceID != f.TraceID) || (f.Match != nil && !f.Match(s)) {
			continue
		}
		out = append(out, *s)
	}
	return out
}

func matchConds(v *view, cs []cond, s *spanstore.Span) bool {
	for _, c := range cs {
		if !c.match(v, s) {
			return false
		}
	}
	return true
}

// matchAll checks every condition of q, the index ones included: used for
// spans that did not come through q's own filter (sub-queries, near misses).
func (q Query) matchAll(v *view, s *spanstore.Span) bool { return matchConds(v, q.conds, s) }

// view caches the traces one evaluation looks at, so that structure and
// correlation conditions fetch each trace once.
type view struct {
	src    Source
	keys   []string
	traces map[spanstore.TraceID]*traceView
	corrs  map[string]*snapshot
}

// snapshot is a correlation's spans as one look saw them, and the channel
// that closes when another arrives.
type snapshot struct {
	spans   []spanstore.Span
	changed <-chan struct{}
}

func newView(src Source) *view {
	return &view{src: src, traces: map[spanstore.TraceID]*traceView{}, corrs: map[string]*snapshot{}}
}

// correlated returns the view's snapshot of a correlation, fetching it on
// first use: the watch first, then the spans, so nothing arriving in between
// is missed. The correlation's traces are whole in it (the store correlates
// whole traces), so they are served from it too.
func (v *view) correlated(corr string) *snapshot {
	if s := v.corrs[corr]; s != nil {
		return s
	}
	f := spanstore.Filter{Correlation: corr}
	s := &snapshot{changed: v.src.Changed(f)}
	s.spans = v.src.Spans(f)
	v.corrs[corr] = s
	byTrace := map[spanstore.TraceID][]spanstore.Span{}
	for _, sp := range s.spans {
		byTrace[sp.TraceID] = append(byTrace[sp.TraceID], sp)
	}
	for id, spans := range byTrace {
		if v.traces[id] == nil {
			v.traces[id] = newTraceView(spans)
		}
	}
	return s
}

type traceView struct {
	spans     []spanstore.Span
	byID      map[spanstore.SpanID]*spanstore.Span
	kids      map[spanstore.SpanID][]*spanstore.Span
	corrs     []string
	corrsDone bool
}

func (v *view) trace(id spanstore.TraceID) *traceView {
	if t := v.traces[id]; t != nil {
		return t
	}
	t := newTraceView(v.src.Spans(spanstore.Filter{TraceID: id}))
	v.traces[id] = t
	return t
}

func newTraceView(spans []spanstore.Span) *traceView {
	t := &traceView{
		spans: spans,
		byID:  map[spanstore.SpanID]*spanstore.Span{},
		kids:  map[spanstore.SpanID][]*spanstore.Span{},
	}
	for i := range t.spans {
		s := &t.spans[i]
		t.byID[s.SpanID] = s
		if !s.IsRoot() {
			t.kids[s.ParentSpanID] = append(t.kids[s.ParentSpanID], s)
		}
	}
	for _, ks := range t.kids {
		slices.SortFunc(ks, byStart)
	}
	return t
}

func byStart(a, b *spanstore.Span) int {
	return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Seq, b.Seq))
}

func (t *traceView) span(id spanstore.SpanID) *spanstore.Span { return t.byID[id] }

func (t *traceView) children(id spanstore.SpanID) []*spanstore.Span { return t.kids[id] }

func (t *traceView) descendants(id spanstore.SpanID) []*spanstore.Span {
	var out []*spanstore.Span
	seen := map[spanstore.SpanID]bool{id: true} // malformed input may loop
	queue := []spanstore.SpanID{id}
	for len(queue) > 0 {
		for _, k := range t.kids[queue[0]] {
			if !seen[k.SpanID] {
				seen[k.SpanID] = true
				out = append(out, k)
				queue = append(queue, k.SpanID)
			}
		}
		queue = queue[1:]
	}
	return out
}

func (t *traceView) ancestors(s *spanstore.Span) []*spanstore.Span {
	var out []*spanstore.Span
	seen := map[spanstore.SpanID]bool{s.SpanID: true}
	for p := t.byID[s.ParentSpanID]; p != nil && !seen[p.SpanID]; p = t.byID[p.ParentSpanID] {
		seen[p.SpanID] = true
		out = append(out, p)
		if p.IsRoot() {
			break
		}
	}
	return out
}

// correlations returns the correlation values of a trace, found the way the
// store's index finds them: under its correlation keys, in span, span-event
// or resource attributes of any span of the trace.
func (v *view) correlations(id spanstore.TraceID) []string {
	t := v.trace(id)
	if t.corrsDone {
		return t.corrs
	}
	if v.keys == nil {
		v.keys = v.src.CorrelationKeys()
	}
	for i := range t.spans {
		for _, k := range v.keys {
			for _, f := range lookupIn(&t.spans[i], InAny, k) {
				if s := f.v.AsString(); s != "" && !slices.Contains(t.corrs, s) {
					t.corrs = append(t.corrs, s)
				}
			}
		}
	}
	t.corrsDone = true
	return t.corrs
}
