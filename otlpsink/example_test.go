package otlpsink_test

import (
	"context"
	"fmt"
	"time"

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
