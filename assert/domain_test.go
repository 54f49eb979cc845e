package assert_test

import (
	"testing"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

var quick = assert.Settle(10 * time.Millisecond)

// referenceWorkflow emits what DESIGN.md's workflow publishes on success,
// its steps spread over two instances.
func referenceWorkflow(st *spanstore.Store, corr string) {
	fast(st, "worker-rust-1", corr, "order.validated", 0)
	durable(st, "worker-rust-2", corr, "payment.processed", 100*time.Millisecond, true)
	fast(st, "worker-rust-1", corr, "inventory.updated", 200*time.Millisecond)
	fast(st, "worker-rust-2", corr, "notification.sent", 300*time.Millisecond)
}

var successEvents = []assert.DomainEvent{
	assert.Fast("order.validated"), assert.Durable("payment.processed"),
	assert.Fast("inventory.updated"), assert.Fast("notification.sent"),
}

func TestPublishedReferenceWorkflow(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	referenceWorkflow(st, "c-1")
	referenceWorkflow(st, "c-2") // a parallel test's task
	passes(t, func(tb testing.TB) {
		got := assert.On(tb, st, quick).DomainEvents("c-1").Published(successEvents...)
		want := []struct {
			name, mode, instance, publish string
		}{
			{"order.validated", "Fast", "worker-rust-1", "publish"},
			{"payment.processed", "Durable", "worker-rust-2", "publish_event"},
			{"inventory.updated", "Fast", "worker-rust-1", "publish"},
			{"notification.sent", "Fast", "worker-rust-2", "publish"},
		}
		if len(got) != len(want) {
			tb.Fatalf("got %d events", len(got))
		}
		for i, w := range want {
			g := got[i]
			if g.Name != w.name || string(g.Mode) != w.mode || g.Instance != w.instance || len(g.Publish) != 1 || g.Publish[0].Name != w.publish || g.Route.Name != "route_event" {
				tb.Errorf("event %d: got %+v", i, g)
			}
		}
	})
}

func TestPublishedMissingAndUnconfirmed(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-rust-1", "c-1", "order.validated", 0)
	durable(st, "worker-rust-2", "c-1", "payment.processed", 100*time.Millisecond, false)
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).DomainEvents("c-1").Published(assert.Fast("order.validated"), assert.Durable("payment.processed"), assert.Fast("inventory.updated"))
	})
	contains(t, rec.message(t),
		`expected correlation "c-1" to publish exactly these domain events, once each: order.validated (Fast), payment.processed (Durable), inventory.updated (Fast) (waiting up to 50ms, then 300ms for extras)`,
		"\n1 of 3 published after 50ms\n",
		"  ✓ order.validated (Fast): published on worker-rust-1 at 10:00:00.000\n",
		`  ✗ payment.processed (Durable): routed on worker-rust-2 at 10:00:00.100, but its publish_event recorded no "Domain event published successfully" (events: "Publishing domain event"; send_json_message status Unset)`,
		`  ✗ inventory.updated (Fast): not routed (no route_event with event_name "inventory.updated")`,
		`spans of correlation "c-1" (5 spans in 2 traces):`,
		"└─ publish_event [worker-rust-2]")
}

func TestPublishedFailsFastOnAnUnexpectedEvent(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-rust-1", "c-1", "order.validated", 0)
	durable(st, "worker-rust-2", "c-1", "payment.failed", 100*time.Millisecond, true)
	start := time.Now()
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).DomainEvents("c-1").Published(assert.Fast("order.validated"), assert.Durable("payment.processed"))
	})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: an unexpected event should fail at once", d)
	}
	contains(t, rec.message(t), "1 of 2 published, 1 unexpected\n",
		"  ✗ payment.processed (Durable): not routed",
		"  ✗ unexpected: payment.failed (Durable) routed on worker-rust-2 at 10:00:00.100")
}

func TestPublishedNamesDuplicatesAcrossInstances(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	durable(st, "worker-rust-1", "c-1", "payment.processed", 100*time.Millisecond, true)
	durable(st, "worker-rust-2", "c-1", "payment.processed", 400*time.Millisecond, true)
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).DomainEvents("c-1").Published(assert.Durable("payment.processed"))
	})
	contains(t, rec.message(t), "0 of 1 published, 1 duplicated",
		"  ✗ payment.processed (Durable): published 2 times, expected once: worker-rust-1 at 10:00:00.100, worker-rust-2 at 10:00:00.400")
}

func TestPublishedChecksTheDeliveryMode(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-rust-1", "c-1", "payment.processed", 0)
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).DomainEvents("c-1").Published(assert.Durable("payment.processed"))
	})
	contains(t, rec.message(t), "0 of 1 published, 1 routed with the wrong mode",
		"  ✗ payment.processed (Durable): routed as Fast on worker-rust-1 at 10:00:00.000")

	// A mode left empty accepts any.
	passes(t, func(tb testing.TB) {
		got := assert.On(tb, st, quick).DomainEvents("c-1").Published(assert.DomainEvent{Name: "payment.processed"})
		if len(got) != 1 || got[0].Mode != assert.DeliveryFast {
			tb.Errorf("got %+v", got)
		}
	})
}

func TestBroadcastNeedsBothPaths(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	r := route("c-1", "order.shipped", assert.DeliveryBroadcast, 0)
	ingest(st, "worker-rust-1", r, durableChild(r, "c-1", true))
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).DomainEvents("c-1").Published(assert.Broadcast("order.shipped"))
	})
	contains(t, rec.message(t), "  ✗ order.shipped (Broadcast): routed on worker-rust-1 at 10:00:00.000, but no publish child received")

	ingest(st, "worker-rust-1", fastChild(r))
	passes(t, func(tb testing.TB) {
		got := assert.On(tb, st, quick).DomainEvents("c-1").Published(assert.Broadcast("order.shipped"))
		if len(got) != 1 || len(got[0].Publish) != 2 {
			tb.Errorf("got %+v", got)
		}
	})
}

// Spans of one trace may arrive in different export batches: a
// publish_event before its route_event. (A lone publish is invisible: it
// carries the correlation only through its parent.)
func TestPublishedWaitsForARouteThatArrivesAfterItsChild(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	r := route("c-1", "payment.processed", assert.DeliveryDurable, 0)
	ingest(st, "worker-rust-1", durableChild(r, "c-1", true))
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st, short).DomainEvents("c-1").Published(assert.Durable("payment.processed"))
	})
	contains(t, rec.message(t), "  ✗ payment.processed (Durable): publish_event arrived from worker-rust-1 at 10:00:00.001, but its route_event has not",
		"orphan: parent ")

	src := &hooked{Store: st, at: 1, hook: func() { ingest(st, "worker-rust-1", r) }}
	passes(t, func(tb testing.TB) {
		assert.On(tb, src, quick).DomainEvents("c-1").Published(assert.Durable("payment.processed"))
	})
}

func TestIncludesAllowsOtherEvents(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	referenceWorkflow(st, "c-1")
	fast(st, "worker-rust-2", "c-1", "order.validated", time.Second) // a repeat is fine too
	start := time.Now()
	passes(t, func(tb testing.TB) {
		// Extras are allowed, so there is no settle window to wait out.
		got := assert.On(tb, st, assert.Settle(time.Minute)).DomainEvents("c-1").Includes(assert.Durable("payment.processed"))
		if len(got) != 1 || got[0].Instance != "worker-rust-2" {
			tb.Errorf("got %+v", got)
		}
	})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: Includes should return once the events are confirmed", d)
	}
}

func TestNotPublished(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	referenceWorkflow(st, "c-1")
	durable(st, "worker-rust-1", "c-2", "payment.failed", 0, true)
	passes(t, func(tb testing.TB) {
		if !assert.On(tb, st).DomainEvents("c-1").NotPublished("payment.failed", 20*time.Millisecond) {
			tb.Errorf("NotPublished failed")
		}
	})

	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).DomainEvents("c-2").NotPublished("payment.failed", time.Minute)
	})
	contains(t, rec.message(t), `expected correlation "c-2" not to publish "payment.failed" within 1m0s`,
		"found 2 after ", "  route_event [worker-rust-1] span ")
}

func TestDomainConfigForAnotherSystem(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	r := span{name: "dispatch", trace: newID(), id: newID(),
		attrs: []any{"mode", "Durable", "topic", "invoice.sent", "correlation_id", "c-1"}}
	p := span{name: "enqueue", trace: r.trace, id: newID(), parent: r.id, events: []event{{"enqueued", nil}}}
	ingest(st, "billing-1", r, p)
	cfg := assert.DomainConfig{RouteSpan: "dispatch", DurableSpan: "enqueue", EventNameAttr: "topic",
		DeliveryModeAttr: "mode", PublishedEvent: "enqueued"}
	passes(t, func(tb testing.TB) {
		got := assert.On(tb, st, assert.Domain(cfg), quick).DomainEvents("c-1").Published(assert.Durable("invoice.sent"))
		if len(got) != 1 || got[0].Publish[0].Name != "enqueue" {
			tb.Errorf("got %+v", got)
		}
	})
}

func TestEventListedTwiceIsAnError(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	_, err := assert.Check(st).Published(t.Context(), "c-1", assert.Fast("a"), assert.Durable("a"))
	if err == nil || err.Error() != `assert: domain event "a" listed twice` {
		t.Errorf("got %v", err)
	}
}

func TestIncludesFailure(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	fast(st, "worker-rust-1", "c-1", "order.validated", 0)
	fast(st, "worker-rust-1", "c-1", "payment.processed", 0)
	rec := record(t, func(tb testing.TB) {
		assert.On(tb, st).With(short).DomainEvents("c-1").Includes(assert.Durable("payment.processed"), assert.Fast("order.validated"))
	})
	contains(t, rec.message(t),
		`expected correlation "c-1" to publish at least these domain events: payment.processed (Durable), order.validated (Fast), within 50ms`,
		"1 of 2 published after 50ms",
		"  ✗ payment.processed (Durable): routed as Fast on worker-rust-1 at 10:00:00.000",
		"  ✓ order.validated (Fast): published on worker-rust-1")
}

func TestAssertionInCleanupStillWaits(t *testing.T) {
	st := spanstore.New()
	t.Run("inner", func(t *testing.T) {
		t.Cleanup(func() {
			passes(t, func(tb testing.TB) {
				assert.On(tb, st).DomainEvents("c-1").NotPublished("payment.failed", 20*time.Millisecond)
			})
		})
	})
}
