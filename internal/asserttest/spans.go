package asserttest

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// Base is the clock of built spans, so messages show stable times.
var Base = time.Date(2026, 1, 1, 10, 0, 0, 0, time.Local)

var lastID atomic.Uint64

func NewID() uint64 { return lastID.Add(1) }

func TraceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[8:], n)
	id[0] = 0x7a
	return id
}

func SpanID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

// Span describes one span to build; zero Trace and ID mean fresh ones.
type Span struct {
	Name          string
	Trace, ID     uint64
	Parent        uint64
	At            time.Duration // start, after Base
	Attrs         []any         // key, value, key, value...
	Events        []Event
	Status        spanstore.StatusCode
	StatusMessage string
	Kind          ptrace.SpanKind
}

// Event is a span event to build.
type Event struct {
	Name  string
	Attrs []any
}

func putAll(m pcommon.Map, kvs []any) {
	for i := 0; i+1 < len(kvs); i += 2 {
		if err := m.PutEmpty(kvs[i].(string)).FromRaw(kvs[i+1]); err != nil {
			panic(err)
		}
	}
}

// Ingest stores spans as one export request of instance (service
// tasker-core), and returns them with their IDs filled in.
func Ingest(st *spanstore.Store, instance string, spans ...Span) []Span {
	td := Build(instance, spans)
	st.Ingest(td, spanstore.Origin{Sender: "127.0.0.1:" + instance, Transport: spanstore.TransportAPI})
	return spans
}

// Build makes one export request of spans, filling in their IDs.
func Build(instance string, spans []Span) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	putAll(rs.Resource().Attributes(), []any{"service.name", "tasker-core", "service.instance.id", instance})
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tasker")
	for i := range spans {
		s := &spans[i]
		if s.Trace == 0 {
			s.Trace = NewID()
		}
		if s.ID == 0 {
			s.ID = NewID()
		}
		p := ss.Spans().AppendEmpty()
		p.SetTraceID(TraceID(s.Trace))
		p.SetSpanID(SpanID(s.ID))
		if s.Parent != 0 {
			p.SetParentSpanID(SpanID(s.Parent))
		}
		p.SetName(s.Name)
		p.SetKind(s.Kind)
		p.SetStartTimestamp(pcommon.NewTimestampFromTime(Base.Add(s.At)))
		p.SetEndTimestamp(pcommon.NewTimestampFromTime(Base.Add(s.At + 2*time.Millisecond)))
		p.Status().SetCode(ptrace.StatusCode(s.Status))
		p.Status().SetMessage(s.StatusMessage)
		putAll(p.Attributes(), s.Attrs)
		for _, e := range s.Events {
			pe := p.Events().AppendEmpty()
			pe.SetName(e.Name)
			pe.SetTimestamp(pcommon.NewTimestampFromTime(Base.Add(s.At + time.Millisecond)))
			putAll(pe.Attributes(), e.Attrs)
		}
	}
	return td
}

// The shapes of DESIGN.md, one trace per event.

func Route(corr, name string, mode string, at time.Duration) Span {
	return Span{Name: "route_event", Trace: NewID(), ID: NewID(), At: at,
		Attrs: []any{"delivery_mode", mode, "event_name", name, "namespace", "domain_events_rust"},
		Events: []Event{{"Routing domain event", []any{"delivery_mode", mode, "event_name", name,
			"task_uuid", "task-" + corr, "correlation_id", corr}}}}
}

func DurableChild(r Span, corr string, ok bool) Span {
	ev := []Event{{"Publishing domain event", []any{"event_id", "ev-1", "queue_name", "domain_events_rust_domain_events",
		"task_uuid", "task-" + corr, "correlation_id", corr}}}
	if ok {
		ev = append(ev, Event{"Domain event published successfully", nil})
	}
	return Span{Name: "publish_event", Trace: r.Trace, ID: NewID(), Parent: r.ID, At: r.At + time.Millisecond,
		Attrs:  []any{"event_name", r.Attrs[3], "namespace", "domain_events_rust", "correlation_id", corr},
		Events: ev}
}

func SendChild(p Span) Span {
	return Span{Name: "send_json_message", Trace: p.Trace, ID: NewID(), Parent: p.ID, At: p.At + time.Millisecond,
		Attrs: []any{"queue", "domain_events_rust_domain_events"}}
}

func FastChild(r Span) Span {
	return Span{Name: "publish", Trace: r.Trace, ID: NewID(), Parent: r.ID, At: r.At + time.Millisecond,
		Attrs:  []any{"event_name", r.Attrs[3], "event_id", "ev-2", "namespace", "domain_events_rust"},
		Events: []Event{{"Publishing in-process domain event", []any{"task_uuid", "task-x"}}}}
}

// Durable emits a Durable Event's spans; ok says whether it confirmed.
func Durable(st *spanstore.Store, instance, corr, name string, at time.Duration, ok bool) {
	r := Route(corr, name, "Durable", at)
	p := DurableChild(r, corr, ok)
	Ingest(st, instance, r, p, SendChild(p))
}

func Fast(st *spanstore.Store, instance, corr, name string, at time.Duration) {
	r := Route(corr, name, "Fast", at)
	Ingest(st, instance, r, FastChild(r))
}

// ReferenceWorkflow emits what DESIGN.md's workflow publishes on success,
// its steps spread over two instances.
func ReferenceWorkflow(st *spanstore.Store, corr string) {
	Fast(st, "worker-rust-1", corr, "order.validated", 0)
	Durable(st, "worker-rust-2", corr, "payment.processed", 100*time.Millisecond, true)
	Fast(st, "worker-rust-1", corr, "inventory.updated", 200*time.Millisecond)
	Fast(st, "worker-rust-2", corr, "notification.sent", 300*time.Millisecond)
}
