package otlpsink_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/traceproof/traceproof/otlpsink"
)

// worker is a TracerProvider standing in for one worker instance: a real
// OTLP exporter behind a batch span processor, as real workers run.
type worker struct {
	tp *sdktrace.TracerProvider
}

func newWorker(t testing.TB, sink *otlpsink.Sink, proto otlpsink.Protocol, instance string, opts ...sdktrace.BatchSpanProcessorOption) *worker {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch proto {
	case otlpsink.ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure())
	case otlpsink.ProtocolGRPC + "+gzip":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithCompressor("gzip"))
	case otlpsink.ProtocolHTTPProtobuf:
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(sink.HTTPAddr()), otlptracehttp.WithInsecure())
	case otlpsink.ProtocolHTTPProtobuf + "+gzip":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(sink.HTTPAddr()), otlptracehttp.WithInsecure(),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	default:
		t.Fatalf("unknown protocol %q", proto)
	}
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", "tasker-core"),
		attribute.String("service.instance.id", instance),
	)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp, opts...))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &worker{tp: tp}
}

func (w *worker) flush(t testing.TB) {
	t.Helper()
	if err := w.tp.ForceFlush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
}
