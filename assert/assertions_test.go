package assert_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// short is the timeout of assertions meant to fail: a deadline, not a sleep.
var short = assert.Timeout(50 * time.Millisecond)

var S = assert.Spans

func TestEventuallyReturnsSpansOnceTheyArrive(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	src := &hooked{Store: st, at: 1, hook: func() { durable(st, "w-1", "c-1", "payment.processed", 0, true) }}
	passes(t, func(tb testing.TB) {
		got := assert.On(tb, src).Eventually(S().Named("publish_event").Correlated("c-1"), 1)
		if len(got) != 1 || got[0].Instance() != "w-1" {
			tb.Errorf("got %v", got)
		}
	})
}

func TestEventuallyFailureShowsNearMissTreeAndInstances(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	durable(st, "worker-2", "c-1", "payment.failed", 0, true)
	fast(st, "worker-1", "c-1", "order.validated", -time.Second)
	durable(st, "worker-1", "c-other", "payment.processed", 0, true) // another test's
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).Eventually(S().Named("publish_event").Attr("event_name", "payment.processed").Correlated("c-1"), 1)
	})
	msg := rec.message(t)
	contains(t, msg,
		`expected at least 1 span named "publish_event" with event_name = "payment.processed" in the trace of correlation "c-1" within 50ms`,
		"\nfound 0 after 50ms",
		"near misses (spans that met every condition but one):",
		`publish_event [worker-2] span `,
		`misses [with event_name = "payment.processed"]; saw event_name = "payment.failed"`,
		`spans of correlation "c-1" (5 spans in 2 traces):`,
		`└─ route_event [worker-2]`,
		`└─ publish_event [worker-2]`,
		`· Domain event published successfully`,
		"instances (by last span received):\n  worker-2  tasker-core       3 spans  last seen ",
		"sink: 8 spans stored, 8 accepted in 3 requests",
	)
	if strings.Contains(msg, "c-other") {
		t.Errorf("the failure shows another correlation's spans:\n%s", msg)
	}
}

func TestNearMissNamesTheOtherCorrelation(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	durable(st, "w-1", "c-typo", "payment.processed", 0, true)
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).Eventually(S().Named("publish_event").Attr("event_name", "payment.processed").Correlated("c-1"), 1)
	})
	contains(t, rec.message(t),
		`misses [in the trace of correlation "c-1"]; saw the trace of correlation "c-typo", "task-c-typo"`,
		`spans of correlation "c-1": none`)
}

func TestRequireStopsTheTest(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).Require().Eventually(S().Named("nothing"), 1)
		tb.Errorf("still running after a failed Require")
	})
	if !rec.stopped || rec.finished {
		t.Fatalf("Require did not stop the test: stopped=%v finished=%v", rec.stopped, rec.finished)
	}
	contains(t, rec.message(t), `expected at least 1 span named "nothing" within 50ms`,
		`the most recent spans in the sink (none related to the query): none`)
}

func TestExactlyFailsFastOnAnExtra(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-1", "c-1", "order.validated", 0)
	fast(st, "worker-2", "c-1", "order.validated", 100*time.Millisecond)
	start := time.Now()
	rec := record(t, func(tb testing.TB) {
		// The default timeout is 10s: failing at once shows extras fail fast.
		assert.On(tb, st).Exactly(S().Named("publish").Correlated("c-1"), 1)
	})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	contains(t, rec.message(t),
		`expected exactly 1 span named "publish" in the trace of correlation "c-1" (waiting up to 10s for them, then 300ms for extras)`,
		"found 2, 1 too many",
		"  extra: publish [worker-2] span ",
		"matched (2):\n  publish [worker-1] span ")
}

func TestExactlyPassesAfterSettling(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	src := &hooked{Store: st, at: 1, hook: func() { fast(st, "w-1", "c-1", "a", 0) }}
	passes(t, func(tb testing.TB) {
		wantCount(tb, assert.On(tb, src, assert.Settle(20*time.Millisecond)).Exactly(S().Named("publish").Correlated("c-1"), 1), 1)
	})
}

func TestExactlyFailsOnTooFew(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "w-1", "c-1", "a", 0)
	rec := record(t, func(tb testing.TB) { assert.On(tb, st, short).Exactly(S().Named("publish").Correlated("c-1"), 2) })
	contains(t, rec.message(t), `expected exactly 2 spans named "publish"`, "found 1 after 50ms")
}

func TestNever(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	durable(st, "worker-1", "c-1", "payment.failed", 0, true)
	q := S().Named("route_event").Attr("event_name", "payment.failed").Correlated("c-1")
	rec := record(t, func(tb testing.TB) { assert.On(tb, st).Never(q, time.Minute) })
	contains(t, rec.message(t),
		`expected no spans named "route_event" with event_name = "payment.failed" in the trace of correlation "c-1" within 1m0s`,
		"found 1 after ", "matched (1):\n  route_event [worker-1] span ")

	passes(t, func(tb testing.TB) {
		if !assert.On(tb, st).Never(q.Attr("event_name", "payment.processed"), 20*time.Millisecond) {
			tb.Errorf("Never reported failure")
		}
	})
}

func TestNeverFailsWhenTheSpanArrivesDuringTheWindow(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	src := &hooked{Store: st, at: 1, hook: func() { durable(st, "worker-1", "c-1", "payment.failed", 0, true) }}
	start := time.Now()
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, src).Never(S().Attr("event_name", "payment.failed").Correlated("c-1"), time.Minute)
	})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Never waited for its window after a match: %s", d)
	}
	contains(t, rec.message(t), "found 2 after ") // route_event and publish_event carry event_name
}

func step(name string, at time.Duration, corr string) span {
	return span{name: "execute_step", at: at, attrs: []any{"step_name", name, "correlation_id", corr}}
}

func TestOncePerNamesDuplicateInstancesAndTimes(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	ingest(st, "worker-1", step("validate", 0, "c-1"), step("charge", 100*time.Millisecond, "c-1"))
	ingest(st, "worker-2", step("charge", 350*time.Millisecond, "c-1"), step("ship", 400*time.Millisecond, "c-1"))
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name", "validate", "charge", "ship")
	})
	contains(t, rec.message(t),
		`expected spans named "execute_step" in the trace of correlation "c-1" exactly once per step_name ("validate", "charge", "ship")`,
		"1 of 3 step_name values occurred more than once",
		`step_name "charge" occurred 2 times: worker-1 at 10:00:00.100 (span `,
		`), worker-2 at 10:00:00.350 (span `)
}

func TestOncePerPassesAndWaitsForEachGroup(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	ingest(st, "worker-1", step("validate", 0, "c-1"))
	src := &hooked{Store: st, at: 1, hook: func() { ingest(st, "worker-2", step("charge", 0, "c-1")) }}
	passes(t, func(tb testing.TB) {
		got := assert.On(tb, src, assert.Settle(10*time.Millisecond)).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name", "validate", "charge")
		if got["charge"].Instance() != "worker-2" || got["validate"].Instance() != "worker-1" {
			tb.Errorf("got %v", got)
		}
	})
}

func TestOncePerMissingGroupAndKeylessSpan(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	ingest(st, "worker-1", step("validate", 0, "c-1"))
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name", "validate", "charge")
	})
	contains(t, rec.message(t), `step_name "charge" never occurred (after 50ms)`)

	ingest(st, "worker-1", span{name: "execute_step", attrs: []any{"correlation_id", "c-1"}})
	rec = record(t, func(tb testing.TB) {
		assert.On(tb, st).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name")
	})
	contains(t, rec.message(t), "1 span of 2 selected lack step_name", "no step_name: execute_step [worker-1]")
}

// ev selects the route_event of one event of correlation c-1.
func ev(name string) assert.Query {
	return S().Named("route_event").Attr("event_name", name).Correlated("c-1")
}

func TestInOrderWrongOrder(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	durable(st, "worker-1", "c-1", "payment.processed", 50*time.Millisecond, true)
	fast(st, "worker-2", "c-1", "order.validated", 100*time.Millisecond)
	fast(st, "worker-1", "c-1", "inventory.updated", 200*time.Millisecond)
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).InOrder(ev("order.validated"), ev("payment.processed"), ev("inventory.updated"))
	})
	contains(t, rec.message(t),
		"expected these to start in this order, within 10s:\n  1. spans named \"route_event\" with event_name = \"order.validated\" in the trace of correlation \"c-1\"\n  2. ",
		"out of order: 2 started 50ms before 1",
		"  2. route_event [worker-1] span ", "started 10:00:00.050\n  1. route_event [worker-2] span ",
		"order seen by start time: 2, 1, 3")

	passes(t, func(tb testing.TB) {
		wantCount(tb, assert.On(tb, st).InOrder(ev("payment.processed"), ev("order.validated"), ev("inventory.updated")), 3)
	})
}

func TestInOrderMissing(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-1", "c-1", "order.validated", 0)
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).InOrder(ev("order.validated"), ev("payment.processed"))
	})
	contains(t, rec.message(t), "nothing matched 2 after 50ms", "2. no match",
		`misses [with event_name = "payment.processed"]; saw event_name = "order.validated"`)
}

func TestChildOf(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	r := route("c-1", "order.validated", assert.DeliveryFast, 0)
	ingest(st, "worker-1", r, fastChild(r))
	passes(t, func(tb testing.TB) {
		wantCount(tb, assert.On(tb, st).ChildOf(S().Named("publish").Correlated("c-1"), S().Named("route_event")), 1)
	})

	// A publish under a publish_event: its parent arrived and is wrong.
	r2 := route("c-2", "payment.processed", assert.DeliveryDurable, 0)
	p := durableChild(r2, "c-2", true)
	ingest(st, "worker-2", r2, p, span{name: "publish", trace: p.trace, parent: p.id})
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).ChildOf(S().Named("publish").Correlated("c-2"), S().Named("route_event"))
	})
	contains(t, rec.message(t),
		`expected every span named "publish" in the trace of correlation "c-2" to be a child of a span named "route_event", within 10s`,
		"1 of 1 are not",
		`publish [worker-2] span `, `: parent publish_event [worker-2], which misses [named "route_event"]: name "publish_event"`)

	// A publish whose parent never arrives.
	ingest(st, "worker-3", span{name: "publish", parent: 999, attrs: []any{"correlation_id", "c-3"}})
	rec = record(t, func(tb testing.TB) {
		assert.On(tb, st, short).ChildOf(S().Named("publish").Correlated("c-3"), S().Named("route_event"))
	})
	contains(t, rec.message(t), "1 of 1 still have no parent after 50ms", ": parent 00000000000003e7 not received",
		"orphan: parent 00000000000003e7 never arrived")
}

// TestQuietInstanceIsFlagged: worker-2 sent spans before the assertion and
// nothing while it waited, while worker-1 kept sending.
func TestQuietInstanceIsFlagged(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-2", "c-1", "order.validated", 0)
	src := &hooked{Store: st, at: 1, hook: func() { fast(st, "worker-1", "c-other", "order.validated", 0) }}
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, src, short).Eventually(S().Named("route_event").Attr("event_name", "payment.processed").Correlated("c-1"), 1)
	})
	msg := rec.message(t)
	contains(t, msg, "  worker-2  tasker-core       2 spans  last seen ",
		"ago  <- quiet: nothing during the ", " this assertion waited, while others sent spans")
	for line := range strings.Lines(msg) {
		if strings.HasPrefix(line, "  worker-1 ") && strings.Contains(line, "quiet") {
			t.Errorf("worker-1 flagged quiet: %s", line)
		}
	}
}

func TestFailureReportsEvictionsAndDecodeErrors(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithStore(spanstore.New(spanstore.WithMaxSpans(2))))
	fast(sink.Store(), "w-1", "c-1", "a", 0)
	fast(sink.Store(), "w-1", "c-1", "b", 0)
	resp, err := http.Post(sink.HTTPURL()+"/v1/traces", "application/x-protobuf", strings.NewReader("not protobuf"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rec := record(t, func(tb testing.TB) { assert.On(tb, sink, short).Eventually(S().Named("nothing").Correlated("c-1"), 1) })
	contains(t, rec.message(t),
		"WARNING: the sink evicted 2 spans (it was full); the spans asked for may have been among them",
		"WARNING: 1 requests did not decode; their spans are lost",
		"error sent to a client: ")
}

func TestTimeoutScale(t *testing.T) {
	t.Setenv(assert.EnvTimeoutScale, "2.5")
	if got := assert.Scaled(time.Second); got != 2500*time.Millisecond {
		t.Errorf("Scaled(1s) = %s", got)
	}
	st := spanstore.New()
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, assert.Timeout(20*time.Millisecond)).Eventually(S().Named("x"), 1)
	})
	contains(t, rec.message(t), "within 50ms")
	rec = record(t, func(tb testing.TB) {
		assert.On(tb, st, assert.Timeout(20*time.Millisecond)).Exactly(S().Named("x"), 1)
	})
	contains(t, rec.message(t), "(waiting up to 50ms for them, then 750ms for extras)")

	t.Setenv(assert.EnvTimeoutScale, "nonsense")
	if got := assert.Scaled(time.Second); got != time.Second {
		t.Errorf("a bad scale should count as 1, got %s", got)
	}
}

func TestCheckerReturnsTheReportAsError(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-1", "c-1", "order.validated", 0)
	c := assert.Check(st)
	got, err := c.Eventually(context.Background(), S().Named("publish").Correlated("c-1"), 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d, %v", len(got), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = c.Eventually(ctx, S().Named("publish").Correlated("c-9"), 1)
	var f *assert.Failure
	if !errorsAs(err, &f) {
		t.Fatalf("error %T is not a *Failure", err)
	}
	if !strings.HasPrefix(err.Error(), "expected at least 1 span named \"publish\" in the trace of correlation \"c-9\" within 30ms\nfound 0 after 30ms\n") {
		t.Errorf("report:\n%s", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = c.Eventually(ctx, S().Named("publish").Correlated("c-9"), 1)
	contains(t, err.Error(), "found 0 when the context ended after 0s (context canceled)")
}
