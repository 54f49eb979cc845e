package assert_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// short is the timeout of assertions meant to fail: a deadline, not a sleep.
var short = assert.WithTimeout(50 * time.Millisecond)

var S = assert.Spans

func TestEventuallyReturnsSpansOnceTheyArrive(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	src := &asserttest.Hooked{Store: st, At: 1, Hook: func() { asserttest.Durable(st, "w-1", "c-1", "payment.processed", 0, true) }}
	asserttest.Passes(t, func(tb testing.TB) {
		got := assert.On(tb, src).Eventually(S().Named("publish_event").Correlated("c-1"), 1)
		if len(got) != 1 || got[0].Instance() != "w-1" {
			tb.Errorf("got %v", got)
		}
	})
}

func TestEventuallyFailureShowsNearMissTreeAndInstances(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Durable(st, "worker-2", "c-1", "payment.failed", 0, true)
	asserttest.Fast(st, "worker-1", "c-1", "order.validated", -time.Second)
	asserttest.Durable(st, "worker-1", "c-other", "payment.processed", 0, true) // another test's
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, short).Eventually(S().Named("publish_event").Attr("event_name", "payment.processed").Correlated("c-1"), 1)
	})
	msg := rec.Message(t)
	asserttest.Contains(t, msg,
		`expected at least 1 span named "publish_event" with event_name = "payment.processed" in the trace of correlation "c-1" within 50ms`,
		"\nfound 0 after 50ms",
		"near misses (spans that met every condition but one):",
		`publish_event [worker-2] span `,
		`1 span missed [with event_name = "payment.processed"]; saw event_name = "payment.failed"`,
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
	asserttest.Durable(st, "w-1", "c-typo", "payment.processed", 0, true)
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, short).Eventually(S().Named("publish_event").Attr("event_name", "payment.processed").Correlated("c-1"), 1)
	})
	asserttest.Contains(t, rec.Message(t),
		`missed [in the trace of correlation "c-1"]; saw the trace of correlation "c-typo", "task-c-typo"`,
		`spans of correlation "c-1": none`)
}

func TestRequireStopsTheTest(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, short).Require().Eventually(S().Named("nothing"), 1)
		tb.Errorf("still running after a failed Require")
	})
	if !rec.Stopped() || rec.Finished() {
		t.Fatalf("Require did not stop the test: stopped=%v finished=%v", rec.Stopped(), rec.Finished())
	}
	asserttest.Contains(t, rec.Message(t), `expected at least 1 span named "nothing" within 50ms`,
		`the most recent spans in the sink (none related to the query): none`)
}

// Exactly judges an extra when the settle window closes, not at once
// (before traceproof#9 it failed the moment the extra was seen), and well
// before the 10s default timeout.
func TestExactlyFailsOnAnExtraWhenTheSettleWindowCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Fast(st, "worker-1", "c-1", "order.validated", 0)
		asserttest.Fast(st, "worker-2", "c-1", "order.validated", 100*time.Millisecond)
		start := time.Now()
		rec := asserttest.Record(t, func(tb testing.TB) {
			assert.On(tb, st).Exactly(S().Named("publish").Correlated("c-1"), 1)
		})
		if d := time.Since(start); d != assert.DefaultSettle {
			t.Errorf("judged after %s, want the %s settle window", d, assert.DefaultSettle)
		}
		asserttest.Contains(t, rec.Message(t),
			`expected exactly 1 span named "publish" in the trace of correlation "c-1" (waiting up to 10s for them, then 300ms for extras)`,
			"found 2, 1 too many",
			"  extra: publish [worker-2] span ",
			"matched (2):\n  publish [worker-1] span ")
	})
}

func TestExactlyPassesAfterSettling(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	src := &asserttest.Hooked{Store: st, At: 1, Hook: func() { asserttest.Fast(st, "w-1", "c-1", "a", 0) }}
	asserttest.Passes(t, func(tb testing.TB) {
		asserttest.WantCount(tb, assert.On(tb, src, assert.WithSettle(20*time.Millisecond)).Exactly(S().Named("publish").Correlated("c-1"), 1), 1)
	})
}

func TestExactlyFailsOnTooFew(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Fast(st, "w-1", "c-1", "a", 0)
	rec := asserttest.Record(t, func(tb testing.TB) { assert.On(tb, st, short).Exactly(S().Named("publish").Correlated("c-1"), 2) })
	asserttest.Contains(t, rec.Message(t), `expected exactly 2 spans named "publish"`, "found 1 after 50ms")
}

func TestNever(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Durable(st, "worker-1", "c-1", "payment.failed", 0, true)
	q := S().Named("route_event").Attr("event_name", "payment.failed").Correlated("c-1")
	rec := asserttest.Record(t, func(tb testing.TB) { assert.On(tb, st).Never(q, time.Minute) })
	asserttest.Contains(t, rec.Message(t),
		`expected no spans named "route_event" with event_name = "payment.failed" in the trace of correlation "c-1" within 1m0s`,
		"found 1 after ", "matched (1):\n  route_event [worker-1] span ")

	asserttest.Passes(t, func(tb testing.TB) {
		if !assert.On(tb, st).Never(q.Attr("event_name", "payment.processed"), 20*time.Millisecond) {
			tb.Errorf("Never reported failure")
		}
	})
}

func TestNeverFailsWhenTheSpanArrivesDuringTheWindow(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	src := &asserttest.Hooked{Store: st, At: 1, Hook: func() { asserttest.Durable(st, "worker-1", "c-1", "payment.failed", 0, true) }}
	start := time.Now()
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, src).Never(S().Attr("event_name", "payment.failed").Correlated("c-1"), time.Minute)
	})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Never waited for its window after a match: %s", d)
	}
	asserttest.Contains(t, rec.Message(t), "found 2 after ") // route_event and publish_event carry event_name
}

func step(name string, at time.Duration, corr string) asserttest.Span {
	return asserttest.Span{Name: "execute_step", At: at, Attrs: []any{"step_name", name, "correlation_id", corr}}
}

func TestOncePerNamesDuplicateInstancesAndTimes(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Ingest(st, "worker-1", step("validate", 0, "c-1"), step("charge", 100*time.Millisecond, "c-1"))
	asserttest.Ingest(st, "worker-2", step("charge", 350*time.Millisecond, "c-1"), step("ship", 400*time.Millisecond, "c-1"))
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name", "validate", "charge", "ship")
	})
	asserttest.Contains(t, rec.Message(t),
		`expected spans named "execute_step" in the trace of correlation "c-1" exactly once per step_name ("validate", "charge", "ship")`,
		"1 of 3 step_name values occurred more than once",
		`step_name "charge" occurred 2 times: worker-1 at 10:00:00.100 (span `,
		`), worker-2 at 10:00:00.350 (span `)
}

func TestOncePerPassesAndWaitsForEachGroup(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Ingest(st, "worker-1", step("validate", 0, "c-1"))
	src := &asserttest.Hooked{Store: st, At: 1, Hook: func() { asserttest.Ingest(st, "worker-2", step("charge", 0, "c-1")) }}
	asserttest.Passes(t, func(tb testing.TB) {
		got := assert.On(tb, src, assert.WithSettle(10*time.Millisecond)).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name", "validate", "charge")
		if got["charge"].Instance() != "worker-2" || got["validate"].Instance() != "worker-1" {
			tb.Errorf("got %v", got)
		}
	})
}

func TestOncePerMissingGroupAndKeylessSpan(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Ingest(st, "worker-1", step("validate", 0, "c-1"))
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, short).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name", "validate", "charge")
	})
	asserttest.Contains(t, rec.Message(t), `step_name "charge" never occurred after 50ms`)

	asserttest.Ingest(st, "worker-1", asserttest.Span{Name: "execute_step", Attrs: []any{"correlation_id", "c-1"}})
	rec = asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st).OncePer(S().Named("execute_step").Correlated("c-1"), "step_name")
	})
	asserttest.Contains(t, rec.Message(t), "1 span of 2 selected lack step_name", "no step_name: execute_step [worker-1]")
}

// ev selects the route_event of one event of correlation c-1.
func ev(name string) assert.Query {
	return S().Named("route_event").Attr("event_name", name).Correlated("c-1")
}

func TestInOrderWrongOrder(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Durable(st, "worker-1", "c-1", "payment.processed", 50*time.Millisecond, true)
	asserttest.Fast(st, "worker-2", "c-1", "order.validated", 100*time.Millisecond)
	asserttest.Fast(st, "worker-1", "c-1", "inventory.updated", 200*time.Millisecond)
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st).InOrder(ev("order.validated"), ev("payment.processed"), ev("inventory.updated"))
	})
	asserttest.Contains(t, rec.Message(t),
		"expected these to start in this order, within 10s:\n  1. spans named \"route_event\" with event_name = \"order.validated\" in the trace of correlation \"c-1\"\n  2. ",
		"out of order: 2 started 50ms before 1",
		"  2. route_event [worker-1] span ", "started 10:00:00.050\n  1. route_event [worker-2] span ",
		"order seen by start time: 2, 1, 3")

	asserttest.Passes(t, func(tb testing.TB) {
		asserttest.WantCount(tb, assert.On(tb, st).InOrder(ev("payment.processed"), ev("order.validated"), ev("inventory.updated")), 3)
	})
}

func TestInOrderMissing(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Fast(st, "worker-1", "c-1", "order.validated", 0)
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, short).InOrder(ev("order.validated"), ev("payment.processed"))
	})
	asserttest.Contains(t, rec.Message(t), "nothing matched 2 after 50ms", "2. no match",
		`missed [with event_name = "payment.processed"]; saw event_name = "order.validated"`)
}

func TestChildOf(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	r := asserttest.Route("c-1", "order.validated", "Fast", 0)
	asserttest.Ingest(st, "worker-1", r, asserttest.FastChild(r))
	asserttest.Passes(t, func(tb testing.TB) {
		asserttest.WantCount(tb, assert.On(tb, st).ChildOf(S().Named("publish").Correlated("c-1"), S().Named("route_event")), 1)
	})

	// A publish under a publish_event: its parent arrived and is wrong.
	r2 := asserttest.Route("c-2", "payment.processed", "Durable", 0)
	p := asserttest.DurableChild(r2, "c-2", true)
	asserttest.Ingest(st, "worker-2", r2, p, asserttest.Span{Name: "publish", Trace: p.Trace, Parent: p.ID})
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st).ChildOf(S().Named("publish").Correlated("c-2"), S().Named("route_event"))
	})
	asserttest.Contains(t, rec.Message(t),
		`expected every span named "publish" in the trace of correlation "c-2" to be a child of a span named "route_event", within 10s`,
		"1 of 1 are not",
		`publish [worker-2] span `, `: parent publish_event [worker-2], which misses [named "route_event"]: name "publish_event"`)

	// A publish whose parent never arrives.
	asserttest.Ingest(st, "worker-3", asserttest.Span{Name: "publish", Parent: 999, Attrs: []any{"correlation_id", "c-3"}})
	rec = asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, short).ChildOf(S().Named("publish").Correlated("c-3"), S().Named("route_event"))
	})
	asserttest.Contains(t, rec.Message(t), "1 of 1 still have no parent after 50ms", ": parent 00000000000003e7 not received",
		"orphan: parent 00000000000003e7 never arrived")
}

// TestQuietInstanceIsFlagged: worker-2 sent spans before the assertion and
// nothing in the 3s it waited, while worker-1 kept sending. worker-3 was
// silent as long, but its own cadence is slower (5s between its batches),
// so it is not called quiet.
func TestQuietInstanceIsFlagged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Fast(st, "worker-3", "c-3", "order.validated", 0)
		time.Sleep(5 * time.Second) // fake time: worker-3's cadence is 5s
		asserttest.Fast(st, "worker-3", "c-3", "order.validated", 0)
		asserttest.Fast(st, "worker-2", "c-1", "order.validated", 0)
		time.Sleep(time.Second)
		defer time.AfterFunc(time.Second, func() { asserttest.Fast(st, "worker-1", "c-other", "order.validated", 0) }).Stop()
		rec := asserttest.Record(t, func(tb testing.TB) {
			assert.On(tb, st, assert.WithTimeout(3*time.Second)).Eventually(S().Named("route_event").Attr("event_name", "payment.processed").Correlated("c-1"), 1)
		})
		msg := rec.Message(t)
		asserttest.Contains(t, msg, "  worker-2  tasker-core       2 spans  last seen 4s ago  <- quiet: nothing for 4s, while others sent spans\n",
			"  worker-3  tasker-core       4 spans  last seen 4s ago\n")
		for line := range strings.Lines(msg) {
			if (strings.HasPrefix(line, "  worker-1 ") || strings.HasPrefix(line, "  worker-3 ")) && strings.Contains(line, "quiet") {
				t.Errorf("flagged quiet: %s", line)
			}
		}
	})
}

// An instance that exports every few hundred milliseconds is not quiet
// after a short assertion (traceproof#9 saw one flagged after 101ms).
func TestShortAssertionFlagsNoInstanceQuiet(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Fast(st, "worker-2", "c-1", "order.validated", 0)
		src := &asserttest.Hooked{Store: st, At: 1, Hook: func() { asserttest.Fast(st, "worker-1", "c-other", "order.validated", 0) }}
		rec := asserttest.Record(t, func(tb testing.TB) {
			assert.On(tb, src, assert.WithTimeout(101*time.Millisecond)).Eventually(S().Named("route_event").Attr("event_name", "payment.processed").Correlated("c-1"), 1)
		})
		if msg := rec.Message(t); strings.Contains(msg, "quiet") {
			t.Errorf("an instance was flagged quiet after 101ms:\n%s", msg)
		}
	})
}

func TestFailureReportsEvictionsAndDecodeErrors(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithStore(spanstore.New(spanstore.WithMaxSpans(2))))
	asserttest.Fast(sink.Store(), "w-1", "c-1", "a", 0)
	asserttest.Fast(sink.Store(), "w-1", "c-1", "b", 0)
	resp, err := http.Post(sink.HTTPURL()+"/v1/traces", "application/x-protobuf", strings.NewReader("not protobuf"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rec := asserttest.Record(t, func(tb testing.TB) { assert.On(tb, sink, short).Eventually(S().Named("nothing").Correlated("c-1"), 1) })
	asserttest.Contains(t, rec.Message(t),
		"WARNING: the sink evicted 2 spans (it was full); the spans asked for may have been among them",
		"WARNING: 1 requests did not decode; their spans are lost",
		"recent error: ")
}

func TestTimeoutScale(t *testing.T) {
	t.Setenv(assert.EnvTimeoutScale, "2.5")
	if got := assert.Scaled(time.Second); got != 2500*time.Millisecond {
		t.Errorf("Scaled(1s) = %s", got)
	}
	st := spanstore.New()
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, assert.WithTimeout(20*time.Millisecond)).Eventually(S().Named("x"), 1)
	})
	asserttest.Contains(t, rec.Message(t), "within 50ms")
	rec = asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, st, assert.WithTimeout(20*time.Millisecond)).Exactly(S().Named("x"), 1)
	})
	asserttest.Contains(t, rec.Message(t), "(waiting up to 50ms for them, then 750ms for extras)")

	t.Setenv(assert.EnvTimeoutScale, "nonsense")
	if got := assert.Scaled(time.Second); got != time.Second {
		t.Errorf("a bad scale should count as 1, got %s", got)
	}
}

func TestCheckerReturnsTheReportAsError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Fast(st, "worker-1", "c-1", "order.validated", 0)
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
		asserttest.Contains(t, err.Error(), "found 0 when the context ended after 0s (context canceled)")
	})
}
