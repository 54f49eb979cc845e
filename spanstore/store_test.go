package spanstore_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

// spanSpec builds pdata spans tersely for store tests.
type spanSpec struct {
	trace, span, parent byte
	name                string
	instance            string
	attrs               map[string]any
	events              map[string]map[string]any
	start               time.Duration
}

var epoch = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func traces(specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range specs {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "tasker-core")
		if s.instance != "" {
			rs.Resource().Attributes().PutStr("service.instance.id", s.instance)
		}
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID([16]byte{s.trace, 0xaa})
		sp.SetSpanID([8]byte{s.span, 0xbb})
		if s.parent != 0 {
			sp.SetParentSpanID([8]byte{s.parent, 0xbb})
		}
		sp.SetName(s.name)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(epoch.Add(s.start)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(epoch.Add(s.start + time.Millisecond)))
		putSorted(sp.Attributes(), s.attrs)
		for _, name := range slices.Sorted(maps.Keys(s.events)) {
			e := sp.Events().AppendEmpty()
			e.SetName(name)
			putSorted(e.Attributes(), s.events[name])
		}
	}
	return td
}

// putSorted adds attrs in key order: a Go map's order changes from run to
// run, and tests compare rendered attributes.
func putSorted(m pcommon.Map, attrs map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if err := m.PutEmpty(k).FromRaw(attrs[k]); err != nil {
			panic(err)
		}
	}
}

var apiOrigin = spanstore.Origin{Sender: "test", Transport: spanstore.TransportAPI}

func TestCorrelationFollowsTheTraceEitherWayRound(t *testing.T) {
	st := spanstore.New()
	// The `publish` child arrives first: it carries no correlation ID.
	st.Ingest(traces(spanSpec{trace: 1, span: 2, parent: 1, name: "publish", attrs: map[string]any{"event_name": "order.validated"}}), apiOrigin)
	assert.Empty(t, st.Correlated("corr-1"))
	// Its parent carries the ID in a span event.
	st.Ingest(traces(spanSpec{trace: 1, span: 1, name: "route_event", events: map[string]map[string]any{
		"Routing domain event": {"correlation_id": "corr-1", "task_uuid": "task-1"}}}), apiOrigin)
	got := st.Correlated("corr-1")
	require.Len(t, got, 2)
	assert.Equal(t, "publish", got[0].Name)
	assert.Len(t, st.Correlated("task-1"), 2, "task_uuid is a correlation key too")
	// A later child of the same trace is correlated on arrival.
	st.Ingest(traces(spanSpec{trace: 1, span: 3, parent: 1, name: "late"}), apiOrigin)
	assert.Len(t, st.Correlated("corr-1"), 3)
	// Another trace stays apart.
	st.Ingest(traces(spanSpec{trace: 2, span: 1, name: "route_event", attrs: map[string]any{"correlation_id": "corr-2"}}), apiOrigin)
	assert.Len(t, st.Correlated("corr-1"), 3)
	assert.Len(t, st.Correlated("corr-2"), 1)
}

func TestResourceCorrelation(t *testing.T) {
	st := spanstore.New(spanstore.WithCorrelationKeys("test.run"))
	td := traces(spanSpec{trace: 1, span: 1, name: "a"}, spanSpec{trace: 2, span: 1, name: "b"})
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("test.run", "r1")
	st.Ingest(td, apiOrigin)
	got := st.Correlated("r1")
	require.Len(t, got, 1)
	assert.Equal(t, "a", got[0].Name)
	assert.Empty(t, st.Correlated("b"))
}

func TestWaitBeforeAndAfterArrival(t *testing.T) {
	st := spanstore.New()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// After: the span is already there.
	st.Ingest(traces(spanSpec{trace: 1, span: 1, name: "early", attrs: map[string]any{"correlation_id": "c"}}), apiOrigin)
	got, err := st.Wait(ctx, spanstore.Filter{Correlation: "c"}, 1)
	require.NoError(t, err)
	assert.Len(t, got, 1)

	// Before: the wait starts first; the ingest wakes it.
	type result struct {
		spans []spanstore.Span
		err   error
	}
	waiting := make(chan result)
	_, changed := st.Watch(spanstore.Filter{Correlation: "later"})
	go func() {
		s, err := st.Wait(ctx, spanstore.Filter{Correlation: "later", Name: "second"}, 1)
		waiting <- result{s, err}
	}()
	st.Ingest(traces(spanSpec{trace: 2, span: 1, name: "first", attrs: map[string]any{"correlation_id": "later"}}), apiOrigin)
	<-changed // the watch fired for the first span
	select {
	case r := <-waiting:
		t.Fatalf("wait returned before its span arrived: %v", r)
	default:
	}
	st.Ingest(traces(spanSpec{trace: 2, span: 2, parent: 1, name: "second"}), apiOrigin)
	r := <-waiting
	require.NoError(t, r.err)
	require.Len(t, r.spans, 1)
	assert.Equal(t, "second", r.spans[0].Name)
}

// TestWaitForChildWhoseParentArrivesLater: the waited-for span arrives with no
// correlation ID; only its parent, arriving later, correlates the trace.
func TestWaitForChildWhoseParentArrivesLater(t *testing.T) {
	st := spanstore.New()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan []spanstore.Span)
	go func() {
		s, _ := st.Wait(ctx, spanstore.Filter{Correlation: "c", Name: "publish"}, 1)
		done <- s
	}()
	st.Ingest(traces(spanSpec{trace: 5, span: 2, parent: 1, name: "publish"}), apiOrigin)
	st.Ingest(traces(spanSpec{trace: 5, span: 1, name: "route_event", events: map[string]map[string]any{"Routing domain event": {"correlation_id": "c"}}}), apiOrigin)
	got := <-done
	require.Len(t, got, 1)
	assert.Equal(t, "publish", got[0].Name)
}

func TestWaitDeadline(t *testing.T) {
	st := spanstore.New()
	st.Ingest(traces(spanSpec{trace: 1, span: 1, name: "only", attrs: map[string]any{"correlation_id": "c"}}), apiOrigin)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := st.Wait(ctx, spanstore.Filter{Correlation: "c"}, 2)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Len(t, got, 1, "a wait that ends early returns what it has")
}

func TestEvictionKeepsIndexesConsistent(t *testing.T) {
	st := spanstore.New(spanstore.WithMaxSpans(5000))
	for i := range 10_000 {
		st.Ingest(traces(spanSpec{trace: byte(i % 250), span: byte(i), name: fmt.Sprintf("n%d", i%3),
			attrs: map[string]any{"correlation_id": fmt.Sprintf("c%d", i%250), "i": i}}), apiOrigin)
	}
	s := st.Stats()
	assert.Equal(t, 5000, s.Stored)
	assert.EqualValues(t, 5000, s.Evicted)
	all := st.Spans(spanstore.Filter{})
	require.Len(t, all, 5000)
	first, _ := all[0].Attributes.Get("i")
	assert.EqualValues(t, 5000, first.Int(), "the oldest spans went first")
	total := 0
	for c := range 250 {
		total += len(st.Correlated(fmt.Sprintf("c%d", c)))
	}
	assert.Equal(t, 5000, total)
	assert.Len(t, st.Spans(spanstore.Filter{Name: "n0"}), 1667)
}

func TestReset(t *testing.T) {
	st := spanstore.New()
	st.Ingest(traces(spanSpec{trace: 1, span: 1, name: "a", attrs: map[string]any{"correlation_id": "c"}}), apiOrigin)
	st.Reset()
	assert.Zero(t, st.Len())
	assert.Empty(t, st.Correlated("c"))
	st.Ingest(traces(spanSpec{trace: 1, span: 2, name: "b", attrs: map[string]any{"correlation_id": "c"}}), apiOrigin)
	got := st.Correlated("c")
	require.Len(t, got, 1)
	assert.EqualValues(t, 2, got[0].Seq, "Seq keeps counting across a reset")
	assert.EqualValues(t, 2, st.Stats().Spans)
}

func TestFilterMatchAndName(t *testing.T) {
	st := spanstore.New()
	st.Ingest(traces(
		spanSpec{trace: 1, span: 1, name: "a", attrs: map[string]any{"n": 1}},
		spanSpec{trace: 1, span: 2, name: "b", attrs: map[string]any{"n": 2.0}},
		spanSpec{trace: 2, span: 1, name: "a", attrs: map[string]any{"n": "2"}},
	), apiOrigin)
	two := func(s *spanstore.Span) bool { v, _ := s.Attributes.Get("n"); return v.Equal(2) }
	assert.Len(t, st.Spans(spanstore.Filter{Match: two}), 1, "2.0 equals 2; the string \"2\" does not")
	assert.Len(t, st.Spans(spanstore.Filter{Name: "a"}), 2)
	assert.Empty(t, st.Spans(spanstore.Filter{Name: "never-seen"}))
	tid, err := spanstore.ParseTraceID("01aa0000000000000000000000000000")
	require.NoError(t, err)
	assert.Len(t, st.Trace(tid), 2)
}

func TestValueKinds(t *testing.T) {
	st := spanstore.New()
	st.Ingest(traces(spanSpec{trace: 1, span: 1, name: "kinds", attrs: map[string]any{
		"s": "x", "b": true, "i": 42, "d": 1.5, "bytes": []byte{1, 2},
		"list": []any{"a", 1}, "map": map[string]any{"k": "v", "n": 3},
	}}), apiOrigin)
	s := st.Spans(spanstore.Filter{})[0]
	get := func(k string) spanstore.Value { v, ok := s.Attributes.Get(k); require.True(t, ok, k); return v }
	assert.True(t, get("s").Equal("x"))
	assert.True(t, get("b").Equal(true))
	assert.True(t, get("i").Equal(int64(42)))
	assert.True(t, get("i").Equal(42.0))
	assert.False(t, get("i").Equal("42"))
	assert.True(t, get("d").Equal(1.5))
	assert.True(t, get("bytes").Equal([]byte{1, 2}))
	assert.True(t, get("list").Equal([]any{"a", 1}))
	assert.True(t, get("map").Equal(map[string]any{"n": 3, "k": "v"}))
	assert.Equal(t, `["a",1]`, get("list").AsString())
	c, ok := get("i").Compare(40)
	assert.True(t, ok)
	assert.Equal(t, 1, c)
}

func TestDumpRoundTrip(t *testing.T) {
	st := spanstore.New()
	st.Ingest(traces(
		spanSpec{trace: 1, span: 1, name: "route_event", instance: "worker-rust-1", events: map[string]map[string]any{"Routing domain event": {"correlation_id": "c1"}}},
		spanSpec{trace: 1, span: 2, parent: 1, name: "publish_event", instance: "worker-rust-1", start: time.Millisecond, attrs: map[string]any{"correlation_id": "c1", "n": 7}},
		spanSpec{trace: 1, span: 3, parent: 9, name: "send_json_message", instance: "worker-rust-1", start: 2 * time.Millisecond},
	), apiOrigin)
	var buf bytes.Buffer
	require.NoError(t, spanstore.WriteOTLPJSON(&buf, st.Correlated("c1")))
	assert.Equal(t, 1, strings.Count(buf.String(), "\n"))
	assert.True(t, strings.HasPrefix(buf.String(), `{"resourceSpans":[`))

	loaded := spanstore.New()
	n, err := loaded.LoadOTLPJSON(strings.NewReader(buf.String()+"\n"+`{"resourceMetrics":[]}`+"\n"), "dump.jsonl")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	got := loaded.Correlated("c1")
	require.Len(t, got, 3)
	v, _ := got[1].Attributes.Get("n")
	assert.Equal(t, spanstore.KindInt, v.Kind(), "types survive the round trip")
	assert.Equal(t, "dump.jsonl", got[0].Origin.Sender)

	tree := spantext.TreeString(got, spantext.TreeOptions{})
	assert.Contains(t, tree, "├─ route_event [worker-rust-1] 1ms\n")
	assert.Contains(t, tree, "│  └─ publish_event [worker-rust-1] 1ms  correlation_id=c1 n=7\n")
	assert.Contains(t, tree, "└─ send_json_message [worker-rust-1] 1ms\n")
	assert.Contains(t, tree, "· Routing domain event  correlation_id=c1")
	assert.Contains(t, tree, "orphan: parent 09bb000000000000 never arrived")

	_, err = loaded.LoadOTLPJSON(strings.NewReader(`{"resourceSpans":[{`), "bad.jsonl")
	assert.ErrorContains(t, err, "bad.jsonl:1: not an OTLP/JSON traces line")
}
