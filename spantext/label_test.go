package spantext

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/traceproof/traceproof/spanstore"
)

func attrs(kv ...string) spanstore.Attributes {
	var a spanstore.Attributes
	for i := 0; i+1 < len(kv); i += 2 {
		a = append(a, spanstore.Attr{Key: kv[i], Value: spanstore.StringValue(kv[i+1])})
	}
	return a
}

// TestTreeLabelsAndOptions: a span without service.instance.id or host.name
// is labelled by its sender when it arrived over the network and by its
// service when it was loaded from a file (never by the file's name); Kind,
// Service and Times add the span's kind, service and start time.
func TestTreeLabelsAndOptions(t *testing.T) {
	start := time.Date(2026, 3, 14, 9, 26, 53, 589_123_000, time.UTC)
	mk := func(id byte, parent byte, name string, o spanstore.Origin, res ...string) spanstore.Span {
		s := spanstore.Span{TraceID: spanstore.TraceID{1}, SpanID: spanstore.SpanID{id}, Name: name, Kind: spanstore.KindProducer,
			Start: start.Add(time.Duration(id) * time.Millisecond), Origin: o, Resource: spanstore.Resource{Attributes: attrs(res...)}}
		if parent != 0 {
			s.ParentSpanID = spanstore.SpanID{parent}
		}
		s.End = s.Start.Add(1500 * time.Microsecond)
		return s
	}
	file := spanstore.Origin{Sender: "/tmp/spans.jsonl", Transport: spanstore.TransportFile}
	net := spanstore.Origin{Sender: "127.0.0.1:40412", Transport: spanstore.TransportGRPC}
	spans := []spanstore.Span{
		mk(1, 0, "route_event", file, "service.name", "tasker-core"),
		mk(2, 1, "publish_event", net),
		mk(3, 1, "publish", file, "service.name", "tasker-core", "service.instance.id", "worker-rust-1"),
		mk(4, 1, "send", file),
	}
	got := TreeString(spans, TreeOptions{})
	assert.Equal(t, strings.Join([]string{
		"trace 01000000000000000000000000000000 (4 spans; 127.0.0.1:40412, no instance, tasker-core, worker-rust-1)",
		"└─ route_event [tasker-core] 1.5ms",
		"   ├─ publish_event [127.0.0.1:40412] 1.5ms",
		"   ├─ publish [worker-rust-1] 1.5ms",
		"   └─ send [no instance] 1.5ms",
		""}, "\n"), got)
	assert.NotContains(t, got, "spans.jsonl")

	got = TreeString(spans[:3], TreeOptions{Kind: true, Service: true, Times: true, Location: time.UTC})
	assert.Equal(t, strings.Join([]string{
		"trace 01000000000000000000000000000000 (3 spans; 127.0.0.1:40412, tasker-core, worker-rust-1) 2026-03-14",
		"└─ route_event producer [tasker-core] 09:26:53.590123 1.5ms",
		"   ├─ publish_event producer [127.0.0.1:40412] 09:26:53.591123 1.5ms",
		"   └─ publish producer [worker-rust-1 tasker-core] 09:26:53.592123 1.5ms",
		""}, "\n"), got)
}
