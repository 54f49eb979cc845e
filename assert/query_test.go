package assert_test

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/spanstore"
)

func names(spans []spanstore.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name + "@" + s.Instance()
	}
	return out
}

func wantFind(t *testing.T, st *spanstore.Store, q assert.Query, want ...string) {
	t.Helper()
	got := names(q.Find(st))
	if len(got) != len(want) {
		t.Errorf("%s:\n got %q\nwant %q", q, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s:\n got %q\nwant %q", q, got, want)
			return
		}
	}
}

func TestQueryDescribesItself(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		q    assert.Query
		want string
	}{
		{assert.Spans(), "any spans"},
		{assert.Spans().Correlated("abc").Attr("event_name", "payment.processed").Named("publish_event"),
			`spans named "publish_event" with event_name = "payment.processed" in the trace of correlation "abc"`},
		{assert.Spans().NamePrefix("pub").Kind(spanstore.KindServer).Status(spanstore.StatusError),
			`spans with a name starting with "pub" of kind Server with status Error`},
		{assert.Spans().NameMatches("^pub(lish)?$").AttrIn(assert.InEvents, "task_uuid", assert.Exists()),
			`spans with a name matching /^pub(lish)?$/ with span-event attribute task_uuid set`},
		{assert.Spans().Attr("retries", assert.AtLeast(2)).Attr("count", 3).Attr("queue", assert.Contains("domain")).
			AttrIn(assert.InResource, "service.name", assert.Matches("^tasker")).Attr("n", assert.LessThan(1.5)),
			`spans with retries >= 2 with count = 3 with queue containing "domain" with resource attribute service.name matching /^tasker/ with n < 1.5`},
		{assert.Spans().Named("route_event").HasChild(assert.Spans().Named("publish")),
			`spans named "route_event" with a child span named "publish"`},
		{assert.Spans().Named("publish").ChildOf(assert.Spans().Named("route_event").Attr("delivery_mode", "Fast")),
			`spans named "publish" whose parent is (a span named "route_event" with delivery_mode = "Fast")`},
		{assert.Spans().Named("send_json_message").DescendantOf(assert.Spans().Named("route_event")).Service("tasker-core").Instance("w-1").HasEvent("x"),
			`spans named "send_json_message" from service "tasker-core" from instance "w-1" with event "x" under a span named "route_event"`},
	} {
		if got := c.q.String(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

func TestQueryPredicates(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	r := asserttest.Ingest(st, "w-1", asserttest.Span{Name: "route_event", At: 0,
		Attrs:  []any{"event_name", "order.validated", "retries", 3, "ratio", 0.5, "tags", []any{"a", "b"}, "n", "42"},
		Events: []asserttest.Event{{Name: "Routing domain event", Attrs: []any{"correlation_id", "c-1", "event_name", "order.validated"}}},
		Kind:   ptrace.SpanKindServer})[0]
	p := asserttest.Ingest(st, "w-2", asserttest.Span{Name: "publish", Trace: r.Trace, Parent: r.ID, At: 1,
		Attrs: []any{"event_name", "order.validated"}, Status: spanstore.StatusError})[0]
	asserttest.Ingest(st, "w-2", asserttest.Span{Name: "send_json_message", Trace: r.Trace, Parent: p.ID, At: 2})
	asserttest.Ingest(st, "w-3", asserttest.Span{Name: "publish", Attrs: []any{"event_name", "other"}})

	S := assert.Spans
	wantFind(t, st, S().Named("publish"), "publish@w-2", "publish@w-3")
	wantFind(t, st, S().NamePrefix("pub"), "publish@w-2", "publish@w-3")
	wantFind(t, st, S().NameMatches("^(route|send)_"), "route_event@w-1", "send_json_message@w-2")
	wantFind(t, st, S().Kind(spanstore.KindServer), "route_event@w-1")
	wantFind(t, st, S().Status(spanstore.StatusError), "publish@w-2")
	// Typed equality: 3 is 3 and 3.0, never "3"; "42" is a string.
	wantFind(t, st, S().Attr("retries", 3), "route_event@w-1")
	wantFind(t, st, S().Attr("retries", 3.0), "route_event@w-1")
	wantFind(t, st, S().Attr("retries", "3"))
	wantFind(t, st, S().Attr("n", 42))
	wantFind(t, st, S().Attr("n", "42"), "route_event@w-1")
	wantFind(t, st, S().Attr("retries", assert.GreaterThan(2)), "route_event@w-1")
	wantFind(t, st, S().Attr("retries", assert.AtMost(2)))
	wantFind(t, st, S().Attr("ratio", assert.LessThan(1)), "route_event@w-1")
	wantFind(t, st, S().Attr("n", assert.AtLeast(1))) // a string is not a number
	wantFind(t, st, S().Attr("tags", assert.Contains("b")), "route_event@w-1")
	wantFind(t, st, S().Attr("event_name", assert.Contains("valid")), "route_event@w-1", "publish@w-2")
	wantFind(t, st, S().Attr("event_name", assert.Matches(`^oth`)), "publish@w-3")
	// Scopes: correlation_id is only in route_event's span event.
	wantFind(t, st, S().Attr("correlation_id", "c-1"), "route_event@w-1")
	wantFind(t, st, S().AttrIn(assert.InEvents, "correlation_id", assert.Exists()), "route_event@w-1")
	wantFind(t, st, S().AttrIn(assert.InSpan, "correlation_id", assert.Exists()))
	wantFind(t, st, S().AttrIn(assert.InResource, "service.instance.id", "w-3"), "publish@w-3")
	wantFind(t, st, S().HasEvent("Routing domain event"), "route_event@w-1")
	wantFind(t, st, S().Service("tasker-core").Instance("w-2"), "publish@w-2", "send_json_message@w-2")
	wantFind(t, st, S().Where("with an odd instance", func(s spanstore.Span) bool { return s.Instance() != "w-2" }),
		"route_event@w-1", "publish@w-3")
	// Correlation reaches the whole trace: publish carries it only through
	// its parent.
	wantFind(t, st, S().Correlated("c-1"), "route_event@w-1", "publish@w-2", "send_json_message@w-2")
	wantFind(t, st, S().Named("publish").Correlated("c-1"), "publish@w-2")
	wantFind(t, st, S().InTrace(spanstore.TraceID(asserttest.TraceID(r.Trace))), "route_event@w-1", "publish@w-2", "send_json_message@w-2")
	// Structure.
	wantFind(t, st, S().HasChild(S().Named("publish")), "route_event@w-1")
	wantFind(t, st, S().HasChild(S().Named("send_json_message")), "publish@w-2")
	wantFind(t, st, S().HasDescendant(S().Named("send_json_message")), "route_event@w-1", "publish@w-2")
	wantFind(t, st, S().ChildOf(S().Named("route_event")), "publish@w-2")
	wantFind(t, st, S().DescendantOf(S().Named("route_event").Correlated("c-1")), "publish@w-2", "send_json_message@w-2")
	wantFind(t, st, S().Named("publish").ChildOf(S().Named("route_event").Attr("event_name", "nope")))
}

func TestQueryIsImmutable(t *testing.T) {
	t.Parallel()
	base := assert.Spans().Named("publish_event")
	a := base.Attr("event_name", "a")
	b := base.Attr("event_name", "b")
	if base.String() != `spans named "publish_event"` || a.String() == b.String() {
		t.Fatalf("refining a query changed another: %s / %s / %s", base, a, b)
	}
}

func TestStructureQueryWakesOnChildWithoutCorrelation(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	r := asserttest.Ingest(st, "w-1", asserttest.Span{Name: "route_event"})[0]
	src := &asserttest.Hooked{Store: st, At: 1, Hook: func() {
		asserttest.Ingest(st, "w-1", asserttest.Span{Name: "publish", Trace: r.Trace, Parent: r.ID})
	}}
	asserttest.Passes(t, func(tb testing.TB) {
		asserttest.WantCount(tb, assert.On(tb, src).Eventually(assert.Spans().Named("route_event").HasChild(assert.Spans().Named("publish")), 1), 1)
	})
}

func TestNearMissOnAStructureCondition(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Fast(st, "worker-1", "c-1", "payment.processed", 0)
	confirmed := S().Named("route_event").Attr("event_name", "payment.processed").Correlated("c-1").
		HasChild(S().Named("publish_event").HasEvent("Domain event published successfully"))
	rec := asserttest.Record(t, func(tb testing.TB) { assert.On(tb, st, short).Eventually(confirmed, 1) })
	asserttest.Contains(t, rec.Message(t),
		`expected at least 1 span named "route_event" with event_name = "payment.processed" with a child (span named "publish_event" with event "Domain event published successfully") in the trace of correlation "c-1" within 50ms`,
		`route_event [worker-1] span `,
		`missed [with a child (span named "publish_event" with event "Domain event published successfully")]; saw children publish [worker-1]`)
}
