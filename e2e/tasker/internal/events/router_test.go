package events

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type fakeQueue struct {
	mu   sync.Mutex
	sent map[string][]QueueMessage
	err  error
}

func (q *fakeQueue) Send(_ context.Context, queue string, m QueueMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	if q.sent == nil {
		q.sent = map[string][]QueueMessage{}
	}
	q.sent[queue] = append(q.sent[queue], m)
	return nil
}

type harness struct {
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	queue  *fakeQueue
	router *Router
	got    []Message
}

func newHarness(t *testing.T) *harness {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := &harness{rec: rec, tp: tp, queue: &fakeQueue{}}
	bus := NewBus()
	var mu sync.Mutex
	bus.Subscribe("*", func(_ context.Context, m Message) error {
		mu.Lock()
		defer mu.Unlock()
		h.got = append(h.got, m)
		return nil
	})
	h.router = NewRouter(Config{TracerProvider: tp, Queue: h.queue, Bus: bus})
	return h
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func byName(t *testing.T, spans []sdktrace.ReadOnlySpan) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	m := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		_, dup := m[s.Name()]
		require.False(t, dup, "span %s emitted twice", s.Name())
		m[s.Name()] = s
	}
	return m
}

func event(name string, mode DeliveryMode) Event {
	return Event{
		Name: name, Mode: mode, Namespace: "domain_events_rust",
		TaskUUID: "task-1", StepUUID: "step-1", StepName: "process_payment", CorrelationID: "corr-1",
		Payload: map[string]any{"transaction_id": "txn-1"},
	}
}

func TestDurableSpanShape(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// A caller span in ctx must not become the parent: events are own traces.
	ctx, caller := h.tp.Tracer("test").Start(context.Background(), "execute_step")
	require.NoError(t, h.router.Route(ctx, event("payment.processed", Durable)))
	caller.End()

	spans := byName(t, h.rec.Ended())
	require.Len(t, spans, 4)
	route, pub, send := spans[SpanRouteEvent], spans[SpanPublishEvent], spans[SpanSendJSONMessage]
	require.NotNil(t, route)
	require.NotNil(t, pub)
	require.NotNil(t, send)
	assert.Nil(t, spans[SpanPublish])

	assert.False(t, route.Parent().IsValid(), "route_event must be a root span")
	assert.NotEqual(t, caller.SpanContext().TraceID(), route.SpanContext().TraceID())
	assert.Equal(t, route.SpanContext().SpanID(), pub.Parent().SpanID())
	assert.Equal(t, route.SpanContext().TraceID(), pub.SpanContext().TraceID())
	assert.Equal(t, pub.SpanContext().SpanID(), send.Parent().SpanID())
	assert.Equal(t, trace.SpanKindInternal, route.SpanKind())

	assert.Equal(t, map[string]string{
		"delivery_mode": "Durable", "event_name": "payment.processed", "namespace": "domain_events_rust",
	}, attrs(route.Attributes()))
	require.Len(t, route.Events(), 1)
	assert.Equal(t, EventRouting, route.Events()[0].Name)
	assert.Equal(t, map[string]string{
		"delivery_mode": "Durable", "event_name": "payment.processed", "task_uuid": "task-1", "correlation_id": "corr-1",
	}, attrs(route.Events()[0].Attributes))

	assert.Equal(t, map[string]string{
		"event_name": "payment.processed", "namespace": "domain_events_rust", "correlation_id": "corr-1",
	}, attrs(pub.Attributes()))
	require.Len(t, pub.Events(), 2)
	assert.Equal(t, EventPublishing, pub.Events()[0].Name)
	pe := attrs(pub.Events()[0].Attributes)
	assert.NotEmpty(t, pe["event_id"])
	assert.Equal(t, map[string]string{
		"event_id": pe["event_id"], "queue_name": "domain_events_rust_domain_events", "task_uuid": "task-1", "correlation_id": "corr-1",
	}, pe)
	assert.Equal(t, EventPublished, pub.Events()[1].Name)
	assert.Empty(t, pub.Events()[1].Attributes)

	assert.Equal(t, map[string]string{"queue": "domain_events_rust_domain_events"}, attrs(send.Attributes()))
	assert.Empty(t, send.Events())
	for _, s := range []sdktrace.ReadOnlySpan{route, pub, send} {
		assert.Equal(t, codes.Unset, s.Status().Code, s.Name())
	}

	msgs := h.queue.sent["domain_events_rust_domain_events"]
	require.Len(t, msgs, 1)
	assert.Equal(t, pe["event_id"], msgs[0].EventID)
	var body map[string]any
	require.NoError(t, json.Unmarshal(msgs[0].Payload, &body))
	assert.Equal(t, "corr-1", body["correlation_id"])
	assert.Equal(t, "task-1", body["task_uuid"])
	assert.Equal(t, "txn-1", body["transaction_id"])
	assert.Empty(t, h.got, "durable events do not go to the in-process bus")

	st := h.router.Stats()
	assert.Equal(t, RouterStats{TotalRouted: 1, DurableRouted: 1}, st)
}

func TestFastSpanShape(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	require.NoError(t, h.router.Route(context.Background(), event("order.validated", Fast)))

	spans := byName(t, h.rec.Ended())
	require.Len(t, spans, 2)
	route, pub := spans[SpanRouteEvent], spans[SpanPublish]
	require.NotNil(t, route)
	require.NotNil(t, pub)
	assert.False(t, route.Parent().IsValid())
	assert.Equal(t, route.SpanContext().SpanID(), pub.Parent().SpanID())
	assert.Equal(t, "Fast", attrs(route.Attributes())["delivery_mode"])
	require.Len(t, route.Events(), 1)
	assert.Equal(t, map[string]string{
		"delivery_mode": "Fast", "event_name": "order.validated", "task_uuid": "task-1", "correlation_id": "corr-1",
	}, attrs(route.Events()[0].Attributes))

	pa := attrs(pub.Attributes())
	assert.NotEmpty(t, pa["event_id"])
	assert.Equal(t, map[string]string{
		"event_name": "order.validated", "event_id": pa["event_id"], "namespace": "domain_events_rust",
	}, pa)
	_, hasCorr := pa["correlation_id"]
	assert.False(t, hasCorr, "publish carries no correlation_id: it is reachable through the parent only")
	require.Len(t, pub.Events(), 1)
	assert.Equal(t, EventPublishingInProc, pub.Events()[0].Name)
	assert.Equal(t, map[string]string{"task_uuid": "task-1"}, attrs(pub.Events()[0].Attributes))

	require.Len(t, h.got, 1)
	assert.Equal(t, pa["event_id"], h.got[0].EventID)
	assert.Equal(t, "corr-1", h.got[0].CorrelationID)
	assert.Empty(t, h.queue.sent)
	assert.Equal(t, RouterStats{TotalRouted: 1, FastRouted: 1}, h.router.Stats())
	assert.Equal(t, uint64(1), h.router.Bus().Stats().TotalEventsDispatched)
}

func TestBroadcastSpanShape(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	require.NoError(t, h.router.Route(context.Background(), event("order.shipped", Broadcast)))

	spans := byName(t, h.rec.Ended())
	require.Len(t, spans, 4)
	route := spans[SpanRouteEvent]
	pubEvent, send, pub := spans[SpanPublishEvent], spans[SpanSendJSONMessage], spans[SpanPublish]
	require.NotNil(t, pubEvent)
	require.NotNil(t, send)
	require.NotNil(t, pub)
	assert.Equal(t, "Broadcast", attrs(route.Attributes())["delivery_mode"])
	assert.Equal(t, route.SpanContext().SpanID(), pubEvent.Parent().SpanID())
	assert.Equal(t, route.SpanContext().SpanID(), pub.Parent().SpanID())
	assert.Equal(t, pubEvent.SpanContext().SpanID(), send.Parent().SpanID())
	// One event, one id, on both paths.
	assert.Equal(t, attrs(pubEvent.Events()[0].Attributes)["event_id"], attrs(pub.Attributes())["event_id"])
	assert.Len(t, h.queue.sent["domain_events_rust_domain_events"], 1)
	assert.Len(t, h.got, 1)
	assert.Equal(t, RouterStats{TotalRouted: 1, BroadcastRouted: 1}, h.router.Stats())
}

func TestDurableFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.queue.err = errors.New("disk full")
	err := h.router.Route(context.Background(), event("payment.failed", Durable))
	require.ErrorContains(t, err, "disk full")

	spans := byName(t, h.rec.Ended())
	pub := spans[SpanPublishEvent]
	require.Len(t, pub.Events(), 1, "no success event when the insert failed")
	assert.Equal(t, EventPublishing, pub.Events()[0].Name)
	for _, n := range []string{SpanRouteEvent, SpanPublishEvent, SpanSendJSONMessage} {
		assert.Equal(t, codes.Error, spans[n].Status().Code, n)
	}
	assert.Equal(t, RouterStats{TotalRouted: 1, RoutingErrors: 1}, h.router.Stats())
}

func TestFastDeliveryError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.router.Bus().Subscribe("order.*", func(context.Context, Message) error { return errors.New("subscriber down") })
	require.Error(t, h.router.Route(context.Background(), event("order.validated", Fast)))
	require.Error(t, h.router.Route(context.Background(), Event{Name: "x", Mode: "Carrier pigeon"}))
	assert.Equal(t, RouterStats{TotalRouted: 2, FastDeliveryErrors: 1, RoutingErrors: 1}, h.router.Stats())
	bs := h.router.Bus().Stats()
	assert.Equal(t, uint64(1), bs.HandlerErrors)
	assert.Equal(t, 2, bs.HandlerCount)
	assert.Equal(t, 2, bs.SubscriberPatterns)
}

func TestSnapshotJSONShape(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b, err := json.Marshal(h.router.Snapshot("worker-rust-1"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "worker-rust-1", m["worker_id"])
	assert.NotEmpty(t, m["captured_at"])
	router := m["router"].(map[string]any)
	for _, k := range []string{"total_routed", "durable_routed", "fast_routed", "broadcast_routed", "fast_delivery_errors", "routing_errors"} {
		assert.Contains(t, router, k)
	}
	assert.Contains(t, m["in_process_bus"], "total_events_dispatched")
}

func TestBusPatterns(t *testing.T) {
	t.Parallel()
	assert.True(t, matches("*", "a.b"))
	assert.True(t, matches("payment.*", "payment.failed"))
	assert.False(t, matches("payment.*", "paymentx.failed"))
	assert.True(t, matches("a.b", "a.b"))
	assert.False(t, matches("a.b", "a.c"))
}
