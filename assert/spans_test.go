package assert_test

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

// base is the clock of built spans, so messages show stable times.
var base = time.Date(2026, 1, 1, 10, 0, 0, 0, time.Local)

var lastID atomic.Uint64

func newID() uint64 { return lastID.Add(1) }

func traceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[8:], n)
	id[0] = 0x7a
	return id
}

func spanID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

// span describes one span to build; zero trace and id mean fresh ones.
type span struct {
	name          string
	trace, id     uint64
	parent        uint64
	at            time.Duration // start, after base
	attrs         []any         // key, value, key, value...
	events        []event
	status        spanstore.StatusCode
	statusMessage string
	kind          ptrace.SpanKind
}

type event struct {
	name  string
	attrs []any
}

func putAll(m pcommon.Map, kvs []any) {
	for i := 0; i+1 < len(kvs); i += 2 {
		if err := m.PutEmpty(kvs[i].(string)).FromRaw(kvs[i+1]); err != nil {
			panic(err)
		}
	}
}

// ingest stores spans as one export request of instance (service
// tasker-core), and returns them with their IDs filled in.
func ingest(st *spanstore.Store, instance string, spans ...span) []span {
	td := build(instance, spans)
	st.Ingest(td, spanstore.Origin{Sender: "127.0.0.1:" + instance, Transport: spanstore.TransportAPI})
	return spans
}

// build makes one export request of spans, filling in their IDs.
func build(instance string, spans []span) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	putAll(rs.Resource().Attributes(), []any{"service.name", "tasker-core", "service.instance.id", instance})
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tasker")
	for i := range spans {
		s := &spans[i]
		if s.trace == 0 {
			s.trace = newID()
		}
		if s.id == 0 {
			s.id = newID()
		}
		p := ss.Spans().AppendEmpty()
		p.SetTraceID(traceID(s.trace))
		p.SetSpanID(spanID(s.id))
		if s.parent != 0 {
			p.SetParentSpanID(spanID(s.parent))
		}
		p.SetName(s.name)
		p.SetKind(s.kind)
		p.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(s.at)))
		p.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(s.at + 2*time.Millisecond)))
		p.Status().SetCode(ptrace.StatusCode(s.status))
		p.Status().SetMessage(s.statusMessage)
		putAll(p.Attributes(), s.attrs)
		for _, e := range s.events {
			pe := p.Events().AppendEmpty()
			pe.SetName(e.name)
			pe.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(s.at + time.Millisecond)))
			putAll(pe.Attributes(), e.attrs)
		}
	}
	return td
}

// The shapes of DESIGN.md, one trace per event.

func route(corr, name string, mode assert.Delivery, at time.Duration) span {
	return span{name: "route_event", trace: newID(), id: newID(), at: at,
		attrs: []any{"delivery_mode", string(mode), "event_name", name, "namespace", "domain_events_rust"},
		events: []event{{"Routing domain event", []any{"delivery_mode", string(mode), "event_name", name,
			"task_uuid", "task-" + corr, "correlation_id", corr}}}}
}

func durableChild(r span, corr string, ok bool) span {
	ev := []event{{"Publishing domain event", []any{"event_id", "ev-1", "queue_name", "domain_events_rust_domain_events",
		"task_uuid", "task-" + corr, "correlation_id", corr}}}
	if ok {
		ev = append(ev, event{"Domain event published successfully", nil})
	}
	return span{name: "publish_event", trace: r.trace, id: newID(), parent: r.id, at: r.at + time.Millisecond,
		attrs:  []any{"event_name", r.attrs[3], "namespace", "domain_events_rust", "correlation_id", corr},
		events: ev}
}

func sendChild(p span) span {
	return span{name: "send_json_message", trace: p.trace, id: newID(), parent: p.id, at: p.at + time.Millisecond,
		attrs: []any{"queue", "domain_events_rust_domain_events"}}
}

func fastChild(r span) span {
	return span{name: "publish", trace: r.trace, id: newID(), parent: r.id, at: r.at + time.Millisecond,
		attrs:  []any{"event_name", r.attrs[3], "event_id", "ev-2", "namespace", "domain_events_rust"},
		events: []event{{"Publishing in-process domain event", []any{"task_uuid", "task-x"}}}}
}

// durable emits a durable event's spans; ok says whether it confirmed.
func durable(st *spanstore.Store, instance, corr, name string, at time.Duration, ok bool) {
	r := route(corr, name, assert.DeliveryDurable, at)
	p := durableChild(r, corr, ok)
	ingest(st, instance, r, p, sendChild(p))
}

func fast(st *spanstore.Store, instance, corr, name string, at time.Duration) {
	r := route(corr, name, assert.DeliveryFast, at)
	ingest(st, instance, r, fastChild(r))
}

// hooked is a Source that runs a hook after a chosen watch (a Changed call
// and the Spans call after it), so a test can make a span arrive while an
// assertion waits, at a known point, without sleeping.
type hooked struct {
	*spanstore.Store
	mu       sync.Mutex
	calls    int
	watching bool                        // a Changed call awaits its Spans call
	at       int                         // run hook after this watch (1-based)
	when     func([]spanstore.Span) bool // or after the first watch whose answer satisfies when
	hook     func()
	done     bool
}

func (h *hooked) Changed(f spanstore.Filter) <-chan struct{} {
	h.mu.Lock()
	h.watching = true
	h.mu.Unlock()
	return h.Store.Changed(f)
}

// Spans runs the hook after the answer of a watch is computed: the spans it
// ingests close the channel the waiter holds, and the waiter wakes.
func (h *hooked) Spans(f spanstore.Filter) []spanstore.Span {
	spans := h.Store.Spans(f)
	h.mu.Lock()
	if !h.watching {
		h.mu.Unlock()
		return spans
	}
	h.watching = false
	h.calls++
	run := !h.done && ((h.when == nil && h.calls == h.at) || (h.when != nil && h.when(spans)))
	if run {
		h.done = true
	}
	h.mu.Unlock()
	if run {
		h.hook()
	}
	return spans
}
