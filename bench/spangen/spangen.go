// Package spangen makes the OTLP trace requests that traceproof's benchmarks
// send: spans shaped like the domain-event spans real workers emit (see
// docs/DESIGN), encoded once, and stamped with fresh trace IDs and
// correlation values for every request so a receiver never sees the same
// trace twice.
//
// Every span has 10 attributes and one span event with 4 attributes, under a
// resource with 5 attributes; encoded, a span is about 640 bytes. Two spans
// make a trace (route_event and its child publish_event) and 8 spans a task:
// every span carries its task's correlation_id, in its attributes and its
// event's, and its event the task's task_uuid.
package spangen

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Shape of the generated load.
const (
	SpansPerTrace = 2
	SpansPerTask  = 8
)

// Template is one encoded ExportTraceServiceRequest whose trace IDs and
// correlation values can be rewritten in place.
//
// Request seq of a template with n spans holds spans seq*n .. seq*n+n-1 of
// one endless stream: span g belongs to task g/8, so tasks run across request
// boundaries as they do behind a batch span processor, and every task has
// exactly 8 spans. Its traces are request-local: span i of the request
// belongs to trace seq*ceil(n/2) + i/2.
type Template struct {
	spans   int
	traces  uint64 // traces per request
	encoded []byte
	patches []patch
}

type patchKind uint8

const (
	patchTrace patchKind = iota // last 8 bytes of a trace ID
	patchHex                    // last 12 hex digits of a correlation_id or task_uuid
)

type patch struct {
	off  int
	kind patchKind
	span uint64 // index of the span within the request
}

const (
	traceIDPrefix = "\x7b\x3a\x91\xc4\x0e\x55\xd2\x18"
	corrPrefix    = "0198c0de-7a1b-7000-8000-"
	taskPrefix    = "0198c0de-7a1b-7000-9000-"
	markerBase    = 0xA5A5_0000_0000 // template counters: unlikely byte patterns
)

// CorrelationID is the correlation_id of global task number task.
func CorrelationID(task uint64) string { return fmt.Sprintf("%s%012x", corrPrefix, task&(1<<48-1)) }

// TaskUUID is the task_uuid of global task number task.
func TaskUUID(task uint64) string { return fmt.Sprintf("%s%012x", taskPrefix, task&(1<<48-1)) }

// TraceID is the trace ID of global trace number trace.
func TraceID(trace uint64) [16]byte {
	var id [16]byte
	copy(id[:8], traceIDPrefix)
	binary.BigEndian.PutUint64(id[8:], trace)
	return id
}

// New builds the template of a request with n spans (n >= 1).
func New(n int) *Template {
	if n < 1 {
		panic("spangen: a request needs at least one span")
	}
	t := &Template{spans: n, traces: uint64((n + SpansPerTrace - 1) / SpansPerTrace)}
	// Build the template with a distinct marker per span, then find where
	// the encoder put each one.
	marker := func(i int) uint64 { return markerBase + uint64(i) }
	td := build(n, marker, marker)
	enc, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	t.encoded = enc
	find := func(needle []byte, kind patchKind, span int, off int) {
		for i := 0; ; {
			j := bytes.Index(enc[i:], needle)
			if j < 0 {
				break
			}
			t.patches = append(t.patches, patch{off: i + j + off, kind: kind, span: uint64(span)})
			i += j + len(needle)
		}
	}
	for i := range n {
		id := TraceID(marker(i))
		find(id[:], patchTrace, i, 8)
		find([]byte(CorrelationID(marker(i))), patchHex, i, len(corrPrefix))
		find([]byte(TaskUUID(marker(i))), patchHex, i, len(taskPrefix))
	}
	// Every span has a trace ID, a correlation_id in its attributes and in its
	// event's, and a task_uuid.
	if len(t.patches) != 4*n {
		panic(fmt.Sprintf("spangen: found %d patch points in the template, want %d", len(t.patches), 4*n))
	}
	return t
}

// Spans is the number of spans per request.
func (t *Template) Spans() int { return t.spans }

// Size is the encoded size of a request.
func (t *Template) Size() int { return len(t.encoded) }

// Bytes returns a fresh copy of the encoded template, to Stamp.
func (t *Template) Bytes() []byte { return bytes.Clone(t.encoded) }

// Request returns request number seq, encoded.
func (t *Template) Request(seq uint64) []byte {
	b := t.Bytes()
	t.Stamp(b, seq)
	return b
}

// Stamp rewrites buf, a copy of the template, into request number seq.
func (t *Template) Stamp(buf []byte, seq uint64) {
	const hexd = "0123456789abcdef"
	n := uint64(t.spans)
	for _, p := range t.patches {
		switch p.kind {
		case patchTrace:
			binary.BigEndian.PutUint64(buf[p.off:], seq*t.traces+p.span/SpansPerTrace)
		case patchHex:
			v := ((seq*n + p.span) / SpansPerTask) & (1<<48 - 1)
			dst := buf[p.off : p.off+12]
			for i := 11; i >= 0; i-- {
				dst[i] = hexd[v&15]
				v >>= 4
			}
		}
	}
}

// Traces builds request seq of a template of n spans as pdata, without
// encoding it.
func Traces(n int, seq uint64) ptrace.Traces {
	traces := uint64((n + SpansPerTrace - 1) / SpansPerTrace)
	return build(n,
		func(i int) uint64 { return seq*traces + uint64(i/SpansPerTrace) },
		func(i int) uint64 { return (seq*uint64(n) + uint64(i)) / SpansPerTask })
}

func build(n int, traceOf, taskOf func(i int) uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "tasker-core")
	ra.PutStr("service.instance.id", "worker-rust-1")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ra.PutStr("telemetry.sdk.language", "rust")
	ra.PutStr("telemetry.sdk.version", "0.30.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tasker_worker::domain_events")
	ss.Scope().SetVersion("0.1.0")
	spans := ss.Spans()
	spans.EnsureCapacity(n)

	events := [...]string{"order.validated", "payment.processed", "inventory.updated", "notification.sent"}
	const t0 = 1_764_000_000_000_000_000
	for i := range n {
		trace, task := traceOf(i), taskOf(i)
		event := events[(i/SpansPerTrace)%len(events)]
		sp := spans.AppendEmpty()
		sp.SetTraceID(TraceID(trace))
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
		sp.SetSpanID(sid)
		start := pcommon.Timestamp(t0 + uint64(i)*1_000_000)
		a := sp.Attributes()
		a.EnsureCapacity(10)
		root := i%SpansPerTrace == 0
		if root {
			sp.SetName("route_event")
			a.PutStr("delivery_mode", "Durable")
		} else {
			var parent [8]byte
			binary.BigEndian.PutUint64(parent[:], uint64(i))
			sp.SetParentSpanID(parent)
			sp.SetName("publish_event")
			a.PutStr("queue", "domain_events_rust_domain_events")
		}
		sp.SetKind(ptrace.SpanKindInternal)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + 250_000)
		a.PutStr("event_name", event)
		a.PutStr("namespace", "domain_events_rust")
		a.PutStr("correlation_id", CorrelationID(task))
		a.PutStr("code.filepath", "src/events/router.rs")
		a.PutStr("code.namespace", "tasker_worker::events")
		a.PutInt("code.lineno", 212)
		a.PutStr("thread.name", "tokio-runtime-worker")
		a.PutInt("busy_ns", 183_417)
		a.PutInt("idle_ns", 66_583)

		ev := sp.Events().AppendEmpty()
		ev.SetTimestamp(start + 100_000)
		if root {
			ev.SetName("Routing domain event")
		} else {
			ev.SetName("Publishing domain event")
		}
		ea := ev.Attributes()
		ea.EnsureCapacity(4)
		if root {
			ea.PutStr("delivery_mode", "Durable")
			ea.PutStr("event_name", event)
		} else {
			ea.PutStr("event_id", fmt.Sprintf("0198c0de-7a1b-7000-a000-%012x", uint64(i)))
			ea.PutStr("queue_name", "domain_events_rust_domain_events")
		}
		ea.PutStr("task_uuid", TaskUUID(task))
		ea.PutStr("correlation_id", CorrelationID(task))
	}
	return td
}
