package spanstore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/spanstore"
)

// Eviction with a small WithMaxSpans: the oldest spans go first, are counted
// in Stats, and leave no trace in the indexes.

func traceID(b byte) spanstore.TraceID { return spanstore.TraceID{b, 0xaa} }

// names returns the span names of spans, in order, for compact assertions.
func names(spans []spanstore.Span) []string {
	out := []string{}
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func TestEvictWholeTrace(t *testing.T) {
	st := spanstore.New(spanstore.WithMaxSpans(4))
	// Trace 1 carries two correlation values, one of them shared with
	// trace 3, and a span name no other trace has.
	st.Ingest(traces(
		spanSpec{trace: 1, span: 1, name: "route_event", events: map[string]map[string]any{"Routing domain event": {"correlation_id": "corr-1"}}},
		spanSpec{trace: 1, span: 2, parent: 1, name: "only_in_1", attrs: map[string]any{"task_uuid": "shared"}},
	), apiOrigin)
	st.Ingest(traces(
		spanSpec{trace: 2, span: 1, name: "route_event", events: map[string]map[string]any{"Routing domain event": {"correlation_id": "corr-2"}}},
		spanSpec{trace: 2, span: 2, parent: 1, name: "publish_event"},
	), apiOrigin)
	require.Len(t, st.Correlated("shared"), 2, "before eviction")
	require.Zero(t, st.Stats().Evicted, "4 spans fit")

	st.Ingest(traces(
		spanSpec{trace: 3, span: 1, name: "route_event", attrs: map[string]any{"task_uuid": "shared"}},
		spanSpec{trace: 3, span: 2, parent: 1, name: "publish_event", attrs: map[string]any{"correlation_id": "corr-3"}},
	), apiOrigin)

	s := st.Stats()
	assert.Equal(t, 4, s.Stored)
	assert.Equal(t, 4, st.Len())
	assert.EqualValues(t, 2, s.Evicted, "trace 1's two spans")
	assert.EqualValues(t, 6, s.Spans, "accepted counts every span ever stored")

	assert.Empty(t, st.Trace(traceID(1)), "Filter{TraceID} of the evicted trace")
	assert.Equal(t, []string{"route_event", "publish_event"}, names(st.Trace(traceID(2))))
	assert.Equal(t, []string{"route_event", "publish_event"}, names(st.Trace(traceID(3))))

	assert.Empty(t, st.Correlated("corr-1"), "a value only trace 1 held")
	assert.Empty(t, st.Spans(spanstore.Filter{Correlation: "corr-1", Name: "route_event"}))
	shared := st.Correlated("shared")
	require.Len(t, shared, 2, "trace 3 still holds the shared value; trace 1 is detached from it")
	for _, sp := range shared {
		assert.Equal(t, traceID(3), sp.TraceID)
	}
	assert.Len(t, st.Correlated("corr-2"), 2)
	assert.Len(t, st.Correlated("corr-3"), 2)

	assert.Empty(t, st.Spans(spanstore.Filter{Name: "only_in_1"}), "Filter{Name} of a name only the evicted trace had")
	routes := st.Spans(spanstore.Filter{Name: "route_event"})
	require.Len(t, routes, 2)
	assert.Equal(t, traceID(2), routes[0].TraceID)
	assert.Equal(t, traceID(3), routes[1].TraceID)

	all := st.Spans(spanstore.Filter{})
	require.Len(t, all, 4)
	assert.EqualValues(t, 3, all[0].Seq, "the oldest two went first")

	// A span of trace 1 arriving after the eviction starts the trace over:
	// the correlation values left with the spans that carried them. It
	// evicts trace 2's root in turn.
	st.Ingest(traces(spanSpec{trace: 1, span: 3, parent: 1, name: "late"}), apiOrigin)
	assert.Equal(t, []string{"late"}, names(st.Trace(traceID(1))))
	assert.Empty(t, st.Correlated("corr-1"))
	assert.Len(t, st.Correlated("shared"), 2, "still trace 3 only")
	assert.EqualValues(t, 3, st.Stats().Evicted)
}

// When a parent that alone carried the correlation ID is evicted before its
// children, the children stay correlated: the value belongs to the whole
// trace (otlpsink's package doc: "The value then belongs to the span's whole
// trace: a child that carries the ID only through its parent is found too,
// whichever of the two arrives first") for as long as any span of the trace
// is stored; a child arriving later joins it. Once the trace's last
// span is evicted, the value is forgotten with it.
func TestEvictParentBeforeChildren(t *testing.T) {
	st := spanstore.New(spanstore.WithMaxSpans(2))
	st.Ingest(traces(spanSpec{trace: 1, span: 1, name: "route_event",
		events: map[string]map[string]any{"Routing domain event": {"correlation_id": "corr-1"}}}), apiOrigin)
	st.Ingest(traces(spanSpec{trace: 1, span: 2, parent: 1, name: "publish"}), apiOrigin)
	require.Equal(t, []string{"route_event", "publish"}, names(st.Correlated("corr-1")))

	// An unrelated span evicts the parent, the only span with the ID.
	st.Ingest(traces(spanSpec{trace: 2, span: 1, name: "other"}), apiOrigin)
	assert.EqualValues(t, 1, st.Stats().Evicted)
	got := st.Correlated("corr-1")
	require.Equal(t, []string{"publish"}, names(got), "the child is still found through its evicted parent")
	assert.Equal(t, spanstore.SpanID{1, 0xbb}, got[0].ParentSpanID, "and still names it as parent")
	assert.Equal(t, []string{"publish"}, names(st.Trace(traceID(1))))
	assert.Equal(t, []string{"publish"}, names(st.Spans(spanstore.Filter{Correlation: "corr-1", Name: "publish"})))
	assert.Empty(t, st.Spans(spanstore.Filter{Correlation: "corr-1", Name: "route_event"}))

	// A second child, with no ID of its own, arrives and evicts the first
	// (the oldest now): the trace was never out of the store, so the value
	// passes to the new child, though no stored span ever carried it.
	st.Ingest(traces(spanSpec{trace: 1, span: 3, parent: 1, name: "publish"}), apiOrigin)
	assert.EqualValues(t, 2, st.Stats().Evicted)
	got = st.Correlated("corr-1")
	require.Equal(t, []string{"publish"}, names(got))
	assert.Equal(t, spanstore.SpanID{3, 0xbb}, got[0].SpanID)
	assert.Equal(t, []string{"other"}, names(st.Trace(traceID(2))))

	// Two unrelated spans evict the rest of trace 1: the value goes with
	// it, and a span of trace 1 arriving afterwards is not correlated.
	st.Ingest(traces(spanSpec{trace: 2, span: 2, name: "other"}, spanSpec{trace: 2, span: 3, name: "other"}), apiOrigin)
	assert.EqualValues(t, 4, st.Stats().Evicted)
	assert.Empty(t, st.Correlated("corr-1"))
	assert.Empty(t, st.Trace(traceID(1)))
	st.Ingest(traces(spanSpec{trace: 1, span: 4, parent: 1, name: "publish"}), apiOrigin)
	assert.Empty(t, st.Correlated("corr-1"), "the trace's correlation left with its last span")
	assert.Equal(t, []string{"publish"}, names(st.Trace(traceID(1))))
}

// One request larger than the cap keeps its newest spans.
func TestEvictWithinOneRequest(t *testing.T) {
	st := spanstore.New(spanstore.WithMaxSpans(3))
	var specs []spanSpec
	for i := range byte(5) {
		specs = append(specs, spanSpec{trace: 1 + i%2, span: 1 + i, name: "s", attrs: map[string]any{"correlation_id": "c", "i": int(i)}})
	}
	res := st.Ingest(traces(specs...), apiOrigin)
	assert.Equal(t, 5, res.Accepted)
	s := st.Stats()
	assert.Equal(t, 3, s.Stored)
	assert.EqualValues(t, 2, s.Evicted)
	var is []int64
	for _, sp := range st.Correlated("c") {
		v, _ := sp.Attributes.Get("i")
		is = append(is, v.Int())
	}
	assert.Equal(t, []int64{2, 3, 4}, is)
	assert.Len(t, st.Trace(traceID(1)), 2, "spans 2 and 4")
	assert.Len(t, st.Trace(traceID(2)), 1, "span 3")
	assert.Len(t, st.Spans(spanstore.Filter{Name: "s"}), 3)
}
