package waterfall_test

import (
	"crypto/sha256"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// The fixture is a task whose workflow publishes its domain events as
// DESIGN.md's spans, on two worker instances, where the durable publish of
// payment.processed fails: send_json_message errors and publish_event never
// records "Domain event published successfully". IDs and times are fixed, so
// pages and screenshots come out the same every run.

var fixtureEpoch = time.Date(2026, 11, 27, 9, 14, 2, 0, time.UTC)

// kvs are attributes in order (a map would shuffle them from run to run).
type kvs []any

func (a kvs) put(m pcommon.Map) {
	for i := 0; i+1 < len(a); i += 2 {
		k := a[i].(string)
		switch v := a[i+1].(type) {
		case string:
			m.PutStr(k, v)
		case int:
			m.PutInt(k, int64(v))
		case float64:
			m.PutDouble(k, v)
		case bool:
			m.PutBool(k, v)
		}
	}
}

type fxEvent struct {
	name   string
	attrs  kvs
	offset time.Duration
}

type fxSpan struct {
	name, parent string // parent names a span of the same trace
	attrs        kvs
	events       []fxEvent
	start, dur   time.Duration
	errMsg       string
	kind         ptrace.SpanKind
}

type fxTrace struct {
	key      string // seeds the IDs
	instance string
	spans    []fxSpan
}

func fxTraceID(key string) spanstore.TraceID {
	sum := sha256.Sum256([]byte("trace/" + key))
	return spanstore.TraceID(sum[:16])
}

func fxSpanID(key, name string) spanstore.SpanID {
	sum := sha256.Sum256([]byte("span/" + key + "/" + name))
	return spanstore.SpanID(sum[:8])
}

func (t fxTrace) traces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "tasker-core")
	ra.PutStr("service.instance.id", t.instance)
	ra.PutStr("service.version", "0.1.8")
	ra.PutStr("deployment.environment", "test")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tasker_worker::events")
	ss.Scope().SetVersion("0.1.8")
	for _, s := range t.spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID(fxTraceID(t.key)))
		sp.SetSpanID(pcommon.SpanID(fxSpanID(t.key, s.name)))
		if s.parent != "" {
			sp.SetParentSpanID(pcommon.SpanID(fxSpanID(t.key, s.parent)))
		}
		sp.SetName(s.name)
		sp.SetKind(s.kind)
		if s.kind == ptrace.SpanKindUnspecified {
			sp.SetKind(ptrace.SpanKindInternal)
		}
		start := fixtureEpoch.Add(s.start)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(s.dur)))
		s.attrs.put(sp.Attributes())
		if s.errMsg != "" {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage(s.errMsg)
		}
		for _, e := range s.events {
			pe := sp.Events().AppendEmpty()
			pe.SetName(e.name)
			pe.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(e.offset)))
			e.attrs.put(pe.Attributes())
		}
	}
	return td
}

// routeTrace is one domain event as a worker publishes it.
func routeTrace(corr, event, mode, instance string, at time.Duration, sendErr string) fxTrace {
	key := corr + "/" + event
	ns := "domain_events_rust"
	route := fxSpan{name: "route_event", start: at, dur: 2400 * time.Microsecond,
		attrs: kvs{"delivery_mode", mode, "event_name", event, "namespace", ns},
		events: []fxEvent{{name: "Routing domain event", offset: 60 * time.Microsecond,
			attrs: kvs{"delivery_mode", mode, "event_name", event, "task_uuid", "task-" + corr, "correlation_id", corr}}}}
	tr := fxTrace{key: key, instance: instance}
	eventID := fxSpanID(key, "event").String()
	switch mode {
	case "Durable":
		pub := fxSpan{name: "publish_event", parent: "route_event", start: at + 300*time.Microsecond, dur: 1800 * time.Microsecond,
			kind:  ptrace.SpanKindProducer,
			attrs: kvs{"event_name", event, "namespace", ns, "correlation_id", corr},
			events: []fxEvent{{name: "Publishing domain event", offset: 80 * time.Microsecond,
				attrs: kvs{"event_id", eventID, "queue_name", ns + "_domain_events", "task_uuid", "task-" + corr, "correlation_id", corr}}}}
		send := fxSpan{name: "send_json_message", parent: "publish_event", start: at + 450*time.Microsecond, dur: 1250 * time.Microsecond,
			kind: ptrace.SpanKindClient, attrs: kvs{"queue", ns + "_domain_events", "messaging.system", "pgmq", "payload_bytes", 412}}
		if sendErr != "" {
			send.errMsg = sendErr
			send.attrs = append(send.attrs, "retry_attempt", 3)
			pub.errMsg = "domain event not published: " + sendErr
		} else {
			pub.events = append(pub.events, fxEvent{name: "Domain event published successfully", offset: 1700 * time.Microsecond})
		}
		tr.spans = []fxSpan{route, pub, send}
	default:
		route.dur = 500 * time.Microsecond
		pub := fxSpan{name: "publish", parent: "route_event", start: at + 200*time.Microsecond, dur: 150 * time.Microsecond,
			attrs: kvs{"event_name", event, "event_id", eventID, "namespace", ns},
			events: []fxEvent{{name: "Publishing in-process domain event", offset: 40 * time.Microsecond,
				attrs: kvs{"task_uuid", "task-" + corr}}}}
		tr.spans = []fxSpan{route, pub}
	}
	return tr
}

// failingTask is the fixture's four traces for correlation corr.
func failingTask(corr string) []fxTrace {
	return []fxTrace{
		routeTrace(corr, "order.validated", "Fast", "worker-rust-1", 0, ""),
		routeTrace(corr, "payment.processed", "Durable", "worker-rust-2", 6*time.Millisecond, "pgmq send failed: connection reset by peer"),
		routeTrace(corr, "inventory.updated", "Fast", "worker-rust-1", 13*time.Millisecond, ""),
		routeTrace(corr, "notification.sent", "Fast", "worker-rust-3", 17*time.Millisecond, ""),
	}
}

// loadFixture ingests traces into a new store, each from its instance's
// address, and returns the store.
func loadFixture(trs ...[]fxTrace) *spanstore.Store {
	st := spanstore.New()
	for _, group := range trs {
		for _, tr := range group {
			st.Ingest(tr.traces(), spanstore.Origin{Sender: senderOf(tr.instance), Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto})
		}
	}
	return st
}

func senderOf(instance string) string {
	switch instance {
	case "worker-rust-1":
		return "10.4.0.11:43122"
	case "worker-rust-2":
		return "10.4.0.12:51870"
	}
	return "10.4.0.13:39004"
}
