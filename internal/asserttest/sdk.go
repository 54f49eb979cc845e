package asserttest

import (
	"context"
	"log"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/otlpsink"
)

// SDKWorker is a TracerProvider standing in for one worker instance: a real
// OTLP exporter (gRPC, gRPC+gzip or HTTP) behind a batch span processor with
// a short timeout, as real workers run (DESIGN.md), named by
// service.instance.id. With sync, each span is exported as it ends instead.
func SDKWorker(t testing.TB, sink *otlpsink.Sink, proto, instance string, sync bool) trace.Tracer {
	t.Helper()
	if sync {
		return SDKWorkerBatching(t, sink, proto, instance, 0)
	}
	return SDKWorkerBatching(t, sink, proto, instance, 20*time.Millisecond)
}

// SDKWorkerBatching is SDKWorker whose batch span processor exports every
// timeout (0: each span as it ends), for tests whose assertions depend on
// how spans are batched.
func SDKWorkerBatching(t testing.TB, sink *otlpsink.Sink, proto, instance string, timeout time.Duration) trace.Tracer {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch proto {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure())
	case "grpc+gzip":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithCompressor("gzip"))
	case "http":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(sink.HTTPAddr()), otlptracehttp.WithInsecure())
	default:
		t.Fatalf("unknown protocol %q", proto)
	}
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "tasker-core"), attribute.String("service.instance.id", instance))
	processor := sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(timeout))
	if timeout == 0 {
		processor = sdktrace.WithSyncer(exp)
	}
	tp := sdktrace.NewTracerProvider(processor, sdktrace.WithResource(res))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("tasker-worker")
}

// Emit publishes a domain event the way DESIGN.md says the workers do: a
// route_event root carrying the correlation in a span event, and under it
// publish_event (with correlation_id and the success event) and its
// send_json_message for durable delivery, publish for fast.
func Emit(tr trace.Tracer, corr, name, mode string) {
	ctx, route := tr.Start(context.Background(), "route_event", trace.WithAttributes(
		attribute.String("delivery_mode", mode), attribute.String("event_name", name),
		attribute.String("namespace", "domain_events_rust")))
	route.AddEvent("Routing domain event", trace.WithAttributes(
		attribute.String("delivery_mode", mode), attribute.String("event_name", name),
		attribute.String("task_uuid", "task-"+corr), attribute.String("correlation_id", corr)))
	if mode == "Durable" || mode == "Broadcast" {
		pctx, pub := tr.Start(ctx, "publish_event", trace.WithAttributes(attribute.String("event_name", name),
			attribute.String("namespace", "domain_events_rust"), attribute.String("correlation_id", corr)))
		pub.AddEvent("Publishing domain event", trace.WithAttributes(attribute.String("event_id", "ev-"+name),
			attribute.String("queue_name", "domain_events_rust_domain_events"), attribute.String("correlation_id", corr)))
		_, send := tr.Start(pctx, "send_json_message", trace.WithAttributes(attribute.String("queue", "domain_events_rust_domain_events")))
		send.End()
		pub.AddEvent("Domain event published successfully")
		pub.End()
	}
	if mode == "Fast" || mode == "Broadcast" {
		_, pub := tr.Start(ctx, "publish", trace.WithAttributes(attribute.String("event_name", name),
			attribute.String("event_id", "ev-"+name), attribute.String("namespace", "domain_events_rust")))
		pub.AddEvent("Publishing in-process domain event", trace.WithAttributes(attribute.String("task_uuid", "task-"+corr)))
		pub.End()
	}
	route.End()
}

// ExampleWorker stands in for one worker instance: a tracer exporting over
// OTLP/gRPC to sink, each span as it ends, so examples print the same every
// run. Real workers batch; assertions wait for their spans either way.
func ExampleWorker(sink *otlpsink.Sink, instance string) (trace.Tracer, func()) {
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(
		attribute.String("service.name", "tasker-core"), attribute.String("service.instance.id", instance))))
	return tp.Tracer("tasker"), func() { _ = tp.Shutdown(context.Background()) }
}

// ExampleSink starts a sink and one worker instance exporting to it; stop
// shuts down both.
func ExampleSink(instance string) (sink *otlpsink.Sink, worker trace.Tracer, stop func()) {
	sink, err := otlpsink.New() // loopback, free ports
	if err != nil {
		log.Fatal(err)
	}
	worker, stopWorker := ExampleWorker(sink, instance)
	return sink, worker, func() { stopWorker(); sink.Close() }
}
