package remote_test

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/traceproof/traceproof/spanstore"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The spans queries are tested against: DESIGN.md's domain-event shapes,
// one trace per event, from two worker instances and two tasks, plus a
// span of another service. Each span has a label for the tests to name it.
//
//	order-A1 on worker-rust-1: payment.processed (durable), order.validated (fast)
//	order-B2 on worker-rust-2: payment.failed (durable, unconfirmed, error), notification.sent (broadcast)
//	orch-1 (service orchestration): create_task
type fixture struct {
	store  *spanstore.Store
	labels map[spanstore.SpanID]string
	traces map[string]string // "A1.paid" → its trace ID in hex
}

// label is the name of a span the fixture builds.
func (f *fixture) label(s spanstore.Span) string { return f.labels[s.SpanID] }

// all is every label, sorted.
func (f *fixture) all() []string {
	var out []string
	for _, l := range f.labels {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// spec is one span to build: its parent is the previous spec of the same
// trace whose label it names.
type spec struct {
	label, name, parent string
	kind                ptrace.SpanKind
	status              ptrace.StatusCode
	statusMsg           string
	attrs               []any // key, value, ...
	events              []eventSpec
}

type eventSpec struct {
	name  string
	attrs []any
}

var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newFixture() *fixture {
	f := &fixture{store: spanstore.New(), labels: map[spanstore.SpanID]string{}, traces: map[string]string{}}
	var n uint64
	ingest := func(service, instance string, slot int, traceLabel string, specs ...spec) {
		n++
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[:8], 0x5eed)
		binary.BigEndian.PutUint64(tid[8:], n)
		f.traces[traceLabel] = spanstore.TraceID(tid).String()
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		put(rs.Resource().Attributes(), "service.name", service, "service.instance.id", instance, "worker.slot", slot)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("tasker")
		ids := map[string]pcommon.SpanID{}
		for i, sp := range specs {
			n++
			var sid pcommon.SpanID
			binary.BigEndian.PutUint64(sid[:], n)
			ids[sp.label] = sid
			f.labels[spanstore.SpanID(sid)] = sp.label
			s := ss.Spans().AppendEmpty()
			s.SetTraceID(tid)
			s.SetSpanID(sid)
			if sp.parent != "" {
				s.SetParentSpanID(ids[sp.parent])
			}
			s.SetName(sp.name)
			s.SetKind(sp.kind)
			at := base.Add(time.Duration(n) * time.Millisecond)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(len(specs)-i) * time.Millisecond)))
			s.Status().SetCode(sp.status)
			s.Status().SetMessage(sp.statusMsg)
			put(s.Attributes(), sp.attrs...)
			for _, e := range sp.events {
				pe := s.Events().AppendEmpty()
				pe.SetName(e.name)
				pe.SetTimestamp(pcommon.NewTimestampFromTime(at))
				put(pe.Attributes(), e.attrs...)
			}
		}
		f.store.Ingest(td, spanstore.Origin{Sender: "127.0.0.1:4317", Transport: spanstore.TransportAPI})
	}

	route := func(label, corr, mode, event string, kind ptrace.SpanKind) spec {
		return spec{label: label, name: "route_event", kind: kind,
			attrs: []any{"delivery_mode", mode, "event_name", event, "namespace", "domain_events_rust"},
			events: []eventSpec{{"Routing domain event", []any{"delivery_mode", mode, "event_name", event,
				"task_uuid", "task-" + corr[len("order-"):], "correlation_id", corr}}}}
	}
	publishEvent := func(label, parent, corr, event string, status ptrace.StatusCode, attempt int, confirmed bool) spec {
		s := spec{label: label, name: "publish_event", parent: parent, kind: ptrace.SpanKindProducer, status: status,
			attrs: []any{"event_name", event, "namespace", "domain_events_rust", "correlation_id", corr,
				"attempt", attempt, "retried", attempt > 1},
			events: []eventSpec{{"Publishing domain event", []any{"event_id", "ev-" + label,
				"queue_name", "domain_events_rust_domain_events", "task_uuid", "task-" + corr[len("order-"):], "correlation_id", corr}}}}
		if confirmed {
			s.events = append(s.events, eventSpec{name: "Domain event published successfully"})
		} else {
			s.statusMsg = "queue unavailable"
		}
		return s
	}
	send := func(label, parent string, payload int) spec {
		return spec{label: label, name: "send_json_message", parent: parent, kind: ptrace.SpanKindClient,
			attrs: []any{"queue", "domain_events_rust_domain_events", "payload_bytes", payload}}
	}
	publish := func(label, parent, corr, event string) spec {
		return spec{label: label, name: "publish", parent: parent, kind: ptrace.SpanKindInternal,
			attrs:  []any{"event_name", event, "event_id", "ev-" + label, "namespace", "domain_events_rust"},
			events: []eventSpec{{"Publishing in-process domain event", []any{"task_uuid", "task-" + corr[len("order-"):]}}}}
	}

	paid := route("A1.paid.route", "order-A1", "Durable", "payment.processed", ptrace.SpanKindInternal)
	paid.attrs = append(paid.attrs, "sample_rate", 0.25)
	ingest("tasker-core", "worker-rust-1", 1, "A1.paid", paid,
		publishEvent("A1.paid.publish_event", "A1.paid.route", "order-A1", "payment.processed", ptrace.StatusCodeOk, 1, true),
		send("A1.paid.send", "A1.paid.publish_event", 512))
	ingest("tasker-core", "worker-rust-1", 1, "A1.validated",
		route("A1.validated.route", "order-A1", "Fast", "order.validated", ptrace.SpanKindInternal),
		publish("A1.validated.publish", "A1.validated.route", "order-A1", "order.validated"))
	ingest("tasker-core", "worker-rust-2", 2, "B2.failed",
		route("B2.failed.route", "order-B2", "Durable", "payment.failed", ptrace.SpanKindServer),
		publishEvent("B2.failed.publish_event", "B2.failed.route", "order-B2", "payment.failed", ptrace.StatusCodeError, 3, false),
		send("B2.failed.send", "B2.failed.publish_event", 2048))
	ingest("tasker-core", "worker-rust-2", 2, "B2.sent",
		route("B2.sent.route", "order-B2", "Broadcast", "notification.sent", ptrace.SpanKindInternal),
		publishEvent("B2.sent.publish_event", "B2.sent.route", "order-B2", "notification.sent", ptrace.StatusCodeOk, 2, true),
		send("B2.sent.send", "B2.sent.publish_event", 1024),
		publish("B2.sent.publish", "B2.sent.route", "order-B2", "notification.sent"))
	ingest("orchestration", "orch-1", 0, "orch",
		spec{label: "orch.create_task", name: "create_task", kind: ptrace.SpanKindServer,
			attrs: []any{"http.status_code", 201, "tags", []any{"api", "v1"}, "task name", "create task"}})
	return f
}

func put(m pcommon.Map, kvs ...any) {
	for i := 0; i+1 < len(kvs); i += 2 {
		if err := m.PutEmpty(kvs[i].(string)).FromRaw(kvs[i+1]); err != nil {
			panic(err)
		}
	}
}
