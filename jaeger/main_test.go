package jaeger_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/jaegerbin"
)

// The package's tests and examples run against one real Jaeger v2 process
// (in-memory storage, loopback ports), started before them; each test
// exports under a service name of its own, so their searches never meet.
var (
	jaegerProc *jaegerbin.Jaeger
	// jaegerURL is the base URL of that Jaeger's query service.
	jaegerURL string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// Before m.Run, so that go test's -timeout does not count a cold
	// build (minutes); a later run finds the binary in the cache.
	info, err := jaegerbin.Build(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the jaeger package's tests run against a real Jaeger %s, and it could not be built (set %s to a prebuilt binary): %v\n",
			jaegerbin.Version, jaegerbin.EnvBin, err)
		return 1
	}
	if info.Built {
		fmt.Fprintf(os.Stderr, "built Jaeger %s in %s: %s\n", jaegerbin.Version, info.Took.Round(1e6), info.Path)
	}
	dir, err := os.MkdirTemp("", "traceproof-jaeger-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	jaegerProc, err = jaegerbin.Start(context.Background(), jaegerbin.Config{BinPath: info.Path, Dir: dir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: starting Jaeger: %v\n", err)
		return 1
	}
	jaegerURL = jaegerProc.QueryURL()
	code := m.Run()
	if err := jaegerProc.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "stopping Jaeger: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "Jaeger's config and log kept in %s\n", dir)
	}
	return code
}

// worker is a tracer of one service exporting over OTLP/gRPC to the test's
// Jaeger, each span as it ends; it is shut down with the test.
func worker(t *testing.T, service, instance string) trace.Tracer {
	t.Helper()
	tr, shutdown, err := newTracer(service, instance)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shutdown)
	return tr
}

func newTracer(service, instance string) (trace.Tracer, func(), error) {
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(jaegerProc.OTLPGRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(
		attribute.String("service.name", service), attribute.String("service.instance.id", instance))))
	return tp.Tracer("traceproof-jaeger-test"), func() { _ = tp.Shutdown(context.Background()) }, nil
}

// emit publishes one domain event with DESIGN.md's spans, as a worker does:
// the correlation ID only in route_event's span event and on
// publish_event, never on publish or send_json_message.
func emit(tr trace.Tracer, corr string, ev domainevent.Event) trace.SpanContext {
	ctx, route := tr.Start(context.Background(), "route_event", trace.WithAttributes(
		attribute.String("delivery_mode", string(ev.Mode)), attribute.String("event_name", ev.Name),
		attribute.String("namespace", "domain_events_rust")))
	route.AddEvent("Routing domain event", trace.WithAttributes(
		attribute.String("delivery_mode", string(ev.Mode)), attribute.String("event_name", ev.Name),
		attribute.String("task_uuid", "task-"+corr), attribute.String("correlation_id", corr)))
	if ev.Mode == domainevent.DeliveryDurable || ev.Mode == domainevent.DeliveryBroadcast {
		pctx, pub := tr.Start(ctx, "publish_event", trace.WithAttributes(attribute.String("event_name", ev.Name),
			attribute.String("namespace", "domain_events_rust"), attribute.String("correlation_id", corr)))
		pub.AddEvent("Publishing domain event", trace.WithAttributes(attribute.String("event_id", "ev-"+ev.Name),
			attribute.String("queue_name", "domain_events_rust_domain_events"), attribute.String("correlation_id", corr)))
		_, send := tr.Start(pctx, "send_json_message", trace.WithAttributes(attribute.String("queue", "domain_events_rust_domain_events")))
		send.End()
		pub.AddEvent("Domain event published successfully")
		pub.End()
	}
	if ev.Mode == domainevent.DeliveryFast || ev.Mode == domainevent.DeliveryBroadcast {
		_, pub := tr.Start(ctx, "publish", trace.WithAttributes(attribute.String("event_name", ev.Name),
			attribute.String("event_id", "ev-"+ev.Name), attribute.String("namespace", "domain_events_rust")))
		pub.AddEvent("Publishing in-process domain event", trace.WithAttributes(attribute.String("task_uuid", "task-"+corr)))
		pub.End()
	}
	route.End()
	return route.SpanContext()
}
