package assert_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/otlpsink"
)

// exampleWorker stands in for one worker instance: a tracer exporting over
// OTLP/gRPC to sink, each span as it ends, so examples print the same every
// run. Real workers batch; assertions wait for their spans either way.
func exampleWorker(sink *otlpsink.Sink, instance string) (trace.Tracer, func()) {
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(
		attribute.String("service.name", "tasker-core"), attribute.String("service.instance.id", instance))))
	return tp.Tracer("tasker"), func() { _ = tp.Shutdown(context.Background()) }
}

// exampleSink starts a sink and one worker instance exporting to it; stop
// shuts down both.
func exampleSink(instance string) (sink *otlpsink.Sink, worker trace.Tracer, stop func()) {
	sink, err := otlpsink.New() // loopback, free ports
	if err != nil {
		log.Fatal(err)
	}
	worker, stopWorker := exampleWorker(sink, instance)
	return sink, worker, func() { stopWorker(); sink.Close() }
}

// A task's worker published its domain events; prove it from the traces.
// (emit publishes one event with DESIGN.md's spans, as a worker does.)
func Example() {
	// Spelled out here, the package's lead example; the others call exampleSink.
	sink, err := otlpsink.New() // loopback, free ports
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	worker, stop := exampleWorker(sink, "worker-rust-2")
	defer stop()

	emit(worker, "order-42", assert.Fast("order.validated"))
	emit(worker, "order-42", assert.Durable("payment.processed"))
	emit(worker, "order-7", assert.Durable("payment.failed")) // another test's task

	events, err := assert.Check(sink).Published(context.Background(), "order-42",
		assert.Fast("order.validated"), assert.Durable("payment.processed"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		fmt.Println(e.Name, e.Mode, "on", e.Instance, "confirmed by", e.Publish[0].Name)
	}
	// Output:
	// order.validated Fast on worker-rust-2 confirmed by publish
	// payment.processed Durable on worker-rust-2 confirmed by publish_event
}

// In a test, assertions report through t; this is what one reads like.
func ExampleOn() {
	var t *testing.T // func TestPayment(t *testing.T) { ...
	sink := otlpsink.Start(t)
	// ... start workers with sink.ExporterEnv(otlpsink.ProtocolGRPC, "worker-rust-1"),
	// and create a task whose correlation ID is id ...
	id := "order-42"

	tp := assert.On(t, sink)
	tp.DomainEvents(id).Published(
		assert.Fast("order.validated"), assert.Durable("payment.processed"),
		assert.Fast("inventory.updated"), assert.Fast("notification.sent"))
	tp.DomainEvents(id).NotPublished("payment.failed", time.Second)

	steps := assert.Spans().Named("execute_step").Correlated(id)
	tp.OncePer(steps, "step_name", "validate", "charge", "reserve", "notify")

	routed := func(event string) assert.Query {
		return assert.Spans().Named("route_event").Attr("event_name", event).Correlated(id)
	}
	tp.InOrder(routed("order.validated"), routed("payment.processed"), routed("notification.sent"))

	// Require stops the test at the first failure, like testify's require.
	tp.Require().Eventually(assert.Spans().Named("finalize_task").Correlated(id), 1)
}

func ExampleQuery_String() {
	q := assert.Spans().
		Named("publish_event").
		Attr("event_name", "payment.processed").
		HasEvent("Domain event published successfully").
		Correlated("order-42")
	fmt.Println(q)

	fmt.Println(assert.Spans().Named("publish").ChildOf(
		assert.Spans().Named("route_event").Attr("delivery_mode", "Fast")))
	fmt.Println(assert.Spans().Attr("retries", assert.AtLeast(2)).AttrIn(assert.ScopeResource, "service.instance.id", assert.Matches("^worker-")))
	// Output:
	// spans named "publish_event" with event_name = "payment.processed" with event "Domain event published successfully" in the trace of correlation "order-42"
	// spans named "publish" whose parent is (a span named "route_event" with delivery_mode = "Fast")
	// spans with retries >= 2 with resource attribute service.instance.id matching /^worker-/
}

// Structure queries follow parent/child links within a trace: here, route
// events whose publish child exists (a confirmed fast event).
func ExampleChecker_Eventually() {
	sink, worker, stop := exampleSink("worker-ruby-1")
	defer stop()
	emit(worker, "order-42", assert.Fast("order.validated"))
	emit(worker, "order-42", assert.Durable("payment.processed"))

	confirmedFast := assert.Spans().Named("route_event").HasChild(assert.Spans().Named("publish")).Correlated("order-42")
	spans, err := assert.Check(sink).Eventually(context.Background(), confirmedFast, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range spans {
		fmt.Println(s.Name, s.Attributes.Str("event_name"), s.Instance())
	}
	// Output:
	// route_event order.validated worker-ruby-1
}

// Each step ran once across all instances, or the failure names the
// instances that ran it twice.
func ExampleChecker_OncePer() {
	sink, w1, stop1 := exampleSink("worker-1")
	defer stop1()
	w2, stop2 := exampleWorker(sink, "worker-2")
	defer stop2()
	run := func(w trace.Tracer, step string) {
		_, sp := w.Start(context.Background(), "execute_step", trace.WithAttributes(
			attribute.String("step_name", step), attribute.String("correlation_id", "order-42")))
		sp.End()
	}
	run(w1, "validate")
	run(w1, "charge")
	run(w2, "charge") // claimed twice

	_, err := assert.Check(sink).OncePer(context.Background(),
		assert.Spans().Named("execute_step").Correlated("order-42"), "step_name")
	var f *assert.Failure
	if errors.As(err, &f) {
		fmt.Println(f.Found)
	}
	// Output:
	// 1 of 2 step_name values occurred more than once
}

func ExampleChecker_InOrder() {
	sink, worker, stop := exampleSink("worker-py-1")
	defer stop()
	emit(worker, "order-42", assert.Fast("order.validated"))
	emit(worker, "order-42", assert.Durable("payment.processed"))

	routed := func(event string) assert.Query {
		return assert.Spans().Named("route_event").Attr("event_name", event).Correlated("order-42")
	}
	first, err := assert.Check(sink).InOrder(context.Background(), routed("order.validated"), routed("payment.processed"))
	fmt.Println(len(first), err)
	_, err = assert.Check(sink).InOrder(context.Background(), routed("payment.processed"), routed("order.validated"))
	f := err.(*assert.Failure)
	fmt.Println(f.Details[len(f.Details)-1])
	// Output:
	// 2 <nil>
	// order seen by start time: 2, 1
}

// A failure says what was asked, what was found, and which spans nearly
// matched and why not.
func ExampleFailure() {
	sink, worker, stop := exampleSink("worker-rust-1")
	defer stop()
	emit(worker, "order-42", assert.Durable("payment.failed"))

	paid := assert.Spans().Named("publish_event").Attr("event_name", "payment.processed").Correlated("order-42")
	_, err := assert.Check(sink, assert.Timeout(100*time.Millisecond)).Eventually(context.Background(), paid, 1)
	var f *assert.Failure
	if errors.As(err, &f) {
		fmt.Println("expected", f.Asked)
		fmt.Println(f.Found)
		for _, n := range f.NearMisses {
			fmt.Printf("near miss: %s [%s] misses [%s]; saw %s\n", n.Span.Name, n.Span.Instance(), n.Missed, n.Seen)
		}
	}
	// Output:
	// expected at least 1 span named "publish_event" with event_name = "payment.processed" in the trace of correlation "order-42" within 100ms
	// found 0 after 100ms
	// near miss: publish_event [worker-rust-1] misses [with event_name = "payment.processed"]; saw event_name = "payment.failed"
}

func ExampleChecker_NotPublished() {
	sink, worker, stop := exampleSink("worker-rust-1")
	defer stop()
	emit(worker, "order-42", assert.Durable("payment.processed"))

	c := assert.Check(sink)
	fmt.Println(c.NotPublished(context.Background(), "order-42", "payment.failed", 50*time.Millisecond))
	err := c.NotPublished(context.Background(), "order-42", "payment.processed", time.Second)
	fmt.Println(err.(*assert.Failure).Asked)
	// Output:
	// <nil>
	// correlation "order-42" not to publish "payment.processed" within 1s
}
