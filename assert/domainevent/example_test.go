package domainevent_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
)

// A task's worker published its domain events; prove it from the traces.
// (emit publishes one event with DESIGN.md's spans, as a worker does.)
func Example() {
	// Spelled out here, the package's lead example; the others call exampleSink.
	sink, err := otlpsink.New() // loopback, free ports
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	worker, stop := asserttest.ExampleWorker(sink, "worker-rust-2")
	defer stop()

	asserttest.Emit(worker, "order-42", "order.validated", "Fast")
	asserttest.Emit(worker, "order-42", "payment.processed", "Durable")
	asserttest.Emit(worker, "order-7", "payment.failed", "Durable") // another test's task

	events, err := domainevent.Check(assert.Check(sink)).Published(context.Background(), "order-42",
		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"))
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

func ExampleChecker_NotPublished() {
	sink, worker, stop := asserttest.ExampleSink("worker-rust-1")
	defer stop()
	asserttest.Emit(worker, "order-42", "payment.processed", "Durable")

	c := domainevent.Check(assert.Check(sink))
	fmt.Println(c.NotPublished(context.Background(), "order-42", "payment.failed", 50*time.Millisecond))
	err := c.NotPublished(context.Background(), "order-42", "payment.processed", time.Second)
	fmt.Println(err.(*assert.Failure).Asked)
	// Output:
	// <nil>
	// correlation "order-42" not to publish "payment.processed" within 1s
}
