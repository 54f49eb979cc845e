package assert

import (
	"cmp"
	"slices"

	"github.com/traceproof/traceproof/otlpsink"
)

// Source is where assertions read spans: an *otlpsink.Sink or an
// *otlpsink.Store (a loaded dump, or spans handed to Ingest).
type Source interface {
	Spans(otlpsink.Filter) []otlpsink.Span
	Watch(otlpsink.Filter) ([]otlpsink.Span, <-chan struct{})
	Changed(otlpsink.Filter) <-chan struct{}
	Trace(otlpsink.TraceID) []otlpsink.Span
	Stats() otlpsink.Stats
	CorrelationKeys() []string
}

// Find returns the spans q selects now, in arrival order, without waiting.
func (q Query) Find(src Source) []otlpsink.Span {
	spans, _ := q.find(newView(src), false)
	return spans
}

// filter compiles q for the store: its index fields (correlation, trace,
// name) come from the conditions, and Match checks the conditions a span
// decides alone. The conditions that need the span's trace are returned, to
// be checked after the store's query, since Match runs under the store's lock
// and must not call back into it.
func (q Query) filter() (otlpsink.Filter, []cond) {
	var f otlpsink.Filter
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
		f.Match = func(s *otlpsink.Span) bool { return matchConds(nil, local, s) }
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
// when a span arrives that could change that answer.
func (q Query) find(v *view, watch bool) ([]otlpsink.Span, <-chan struct{}) {
	f, rest := q.filter()
	var spans []otlpsink.Span
	var changed <-chan struct{}
	switch {
	case !watch:
		spans = v.src.Spans(f)
	case len(rest) > 0 && f.Correlation == "" && f.TraceID.IsZero():
		// A structure query's answer changes when any span of a candidate's
		// trace arrives, whatever its name. With no correlation or trace to
		// watch, only a watch on every arrival sees that.
		changed = v.src.Changed(otlpsink.Filter{})
		spans = v.src.Spans(f)
	default:
		spans, changed = v.src.Watch(f)
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

func matchConds(v *view, cs []cond, s *otlpsink.Span) bool {
	for _, c := range cs {
		if !c.match(v, s) {
			return false
		}
	}
	return true
}

// matchAll checks every condition of q, the index ones included: used for
// spans that did not come through q's own filter (sub-queries, near misses).
func (q Query) matchAll(v *view, s *otlpsink.Span) bool { return matchConds(v, q.conds, s) }

// view caches the traces one evaluation looks at, so that structure and
// correlation conditions fetch each trace once.
type view struct {
	src    Source
	keys   []string
	traces map[otlpsink.TraceID]*traceView
}

func newView(src Source) *view {
	return &view{src: src, traces: map[otlpsink.TraceID]*traceView{}}
}

type traceView struct {
	spans     []otlpsink.Span
	byID      map[otlpsink.SpanID]*otlpsink.Span
	kids      map[otlpsink.SpanID][]*otlpsink.Span
	corrs     []string
	corrsDone bool
}

func (v *view) trace(id otlpsink.TraceID) *traceView {
	if t := v.traces[id]; t != nil {
		return t
	}
	t := &traceView{
		spans: v.src.Trace(id),
		byID:  map[otlpsink.SpanID]*otlpsink.Span{},
		kids:  map[otlpsink.SpanID][]*otlpsink.Span{},
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
	v.traces[id] = t
	return t
}

func byStart(a, b *otlpsink.Span) int {
	return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Seq, b.Seq))
}

func (t *traceView) span(id otlpsink.SpanID) *otlpsink.Span { return t.byID[id] }

func (t *traceView) children(id otlpsink.SpanID) []*otlpsink.Span { return t.kids[id] }

func (t *traceView) descendants(id otlpsink.SpanID) []*otlpsink.Span {
	var out []*otlpsink.Span
	seen := map[otlpsink.SpanID]bool{id: true} // malformed input may loop
	queue := []otlpsink.SpanID{id}
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

func (t *traceView) ancestors(s *otlpsink.Span) []*otlpsink.Span {
	var out []*otlpsink.Span
	seen := map[otlpsink.SpanID]bool{s.SpanID: true}
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
func (v *view) correlations(id otlpsink.TraceID) []string {
	t := v.trace(id)
	if t.corrsDone {
		return t.corrs
	}
	if v.keys == nil {
		v.keys = v.src.CorrelationKeys()
	}
	for i := range t.spans {
		for _, k := range v.keys {
			for _, f := range lookupIn(&t.spans[i], ScopeAny, k) {
				if s := f.v.AsString(); s != "" && !slices.Contains(t.corrs, s) {
					t.corrs = append(t.corrs, s)
				}
			}
		}
	}
	t.corrsDone = true
	return t.corrs
}
