package assert_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
)

// A worker published a payment event; wait for its span, from any instance.
func Example() {
	sink, worker, stop := asserttest.ExampleSink("worker-rust-2")
	defer stop()
	asserttest.Emit(worker, "order-42", "payment.processed", "Durable")
	asserttest.Emit(worker, "order-7", "payment.failed", "Durable") // another test's task

	paid := assert.Spans().Named("publish_event").Attr("event_name", "payment.processed").Correlated("order-42")
	spans, err := assert.Check(sink).Eventually(context.Background(), paid, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spans[0].Name, "on", spans[0].Instance(), "confirmed:", spans[0].HasEvent("Domain event published successfully"))
	// Output:
	// publish_event on worker-rust-2 confirmed: true
}

// In a test, assertions report through t; this is what one reads like.
func ExampleOn() {
	var t *testing.T // func TestPayment(t *testing.T) { ...
	sink := otlpsink.Start(t)
	// ... start workers with sink.ExporterEnv(otlpsink.ProtocolGRPC, "worker-rust-1"),
	// and create a task whose correlation ID is id ...
	id := "order-42"

	tp := assert.On(t, sink)
	domainevent.On(tp).Published(id,
		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"),
		domainevent.Fast("inventory.updated"), domainevent.Fast("notification.sent"))
	domainevent.On(tp).NotPublished(id, "payment.failed", time.Second)

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
	fmt.Println(assert.Spans().Attr("retries", assert.AtLeast(2)).AttrIn(assert.InResource, "service.instance.id", assert.Matches("^worker-")))
	// Output:
	// spans named "publish_event" with event_name = "payment.processed" with event "Domain event published successfully" in the trace of correlation "order-42"
	// spans named "publish" whose parent is (a span named "route_event" with delivery_mode = "Fast")
	// spans with retries >= 2 with resource attribute service.instance.id matching /^worker-/
}

// Structure queries follow parent/child links within a trace: here, route
// events whose publish child exists (a confirmed fast event).
func ExampleChecker_Eventually() {
	sink, worker, stop := asserttest.ExampleSink("worker-ruby-1")
	defer stop()
	asserttest.Emit(worker, "order-42", "order.validated", "Fast")
	asserttest.Emit(worker, "order-42", "payment.processed", "Durable")

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
	sink, w1, stop1 := asserttest.ExampleSink("worker-1")
	defer stop1()
	w2, stop2 := asserttest.ExampleWorker(sink, "worker-2")
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
	sink, worker, stop := asserttest.ExampleSink("worker-py-1")
	defer stop()
	asserttest.Emit(worker, "order-42", "order.validated", "Fast")
	asserttest.Emit(worker, "order-42", "payment.processed", "Durable")

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
	sink, worker, stop := asserttest.ExampleSink("worker-rust-1")
	defer stop()
	asserttest.Emit(worker, "order-42", "payment.failed", "Durable")

	paid := assert.Spans().Named("publish_event").Attr("event_name", "payment.processed").Correlated("order-42")
	_, err := assert.Check(sink, assert.WithTimeout(100*time.Millisecond)).Eventually(context.Background(), paid, 1)
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
