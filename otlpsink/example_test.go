package otlpsink_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// A worker exports over OTLP/gRPC; the test waits for its span by correlation
// ID. In a test, otlpsink.Start(t) replaces New and the deferred Close.
func Example() {
	sink, err := otlpsink.New()
	if err != nil {
		panic(err)
	}
	defer sink.Close()

	// The worker side: a real SDK exporter pointed at the sink.
	ctx := context.Background()
	exp, _ := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure())
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(
		attribute.String("service.name", "tasker-core"), attribute.String("service.instance.id", "worker-rust-1"))))
	_, span := tp.Tracer("worker").Start(ctx, "publish_event",
		trace.WithAttributes(attribute.String("correlation_id", "test-42"), attribute.String("event_name", "payment.processed")))
	span.End()
	_ = tp.Shutdown(ctx) // flushes

	// The test side.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	spans, err := sink.Store().Wait(ctx, spanstore.Filter{Correlation: "test-42", Name: "publish_event"}, 1)
	if err != nil {
		fmt.Println(err, sink.Stats())
		return
	}
	s := spans[0]
	fmt.Println(s.Name, s.Instance(), s.Attributes.Str("event_name"))
	// Output: publish_event worker-rust-1 payment.processed
}

// A saved dump (from `traceproof serve --out`, a failing test's
// TRACEPROOF_DUMP_DIR, or the Collector's file exporter) loads into a Store
// that answers the same queries.
func ExampleStore_LoadOTLPJSON() {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.instance.id", "worker-ruby-2")
	root := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	root.SetTraceID([16]byte{1})
	root.SetSpanID([8]byte{1})
	root.SetName("route_event")
	root.Events().AppendEmpty().SetName("Routing domain event")
	root.Events().At(0).Attributes().PutStr("correlation_id", "test-7")
	child := rs.ScopeSpans().At(0).Spans().AppendEmpty()
	child.SetTraceID([16]byte{1})
	child.SetSpanID([8]byte{2})
	child.SetParentSpanID([8]byte{1})
	child.SetName("publish")
	line, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()

	st := spanstore.New()
	n, err := st.LoadOTLPJSON(strings.NewReader(string(line)+"\n"), "dump.jsonl")
	fmt.Println(n, err)
	for _, s := range st.Correlated("test-7") {
		fmt.Println(s.Name, s.Instance())
	}
	// Output:
	// 2 <nil>
	// route_event worker-ruby-2
	// publish worker-ruby-2
}
