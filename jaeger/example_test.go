package jaeger_test

import (
	"context"
	"fmt"
	"log"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/jaeger"
)

// A worker exported its domain events to Jaeger; prove from Jaeger that its
// task published them. (jaegerURL is the query service of the Jaeger these
// examples run against; emit publishes one event with DESIGN.md's spans.)
func Example() {
	src, err := jaeger.New(jaeger.Config{URL: jaegerURL, Services: []string{"example-worker"}})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	w, shutdown, err := newTracer("example-worker", "worker-rust-1")
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown()
	emit(w, "order-42", domainevent.Fast("order.validated"))
	emit(w, "order-42", domainevent.Durable("payment.processed"))

	check := domainevent.Check(assert.Check(src))
	got, err := check.Published(context.Background(), "order-42",
		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range got {
		fmt.Printf("%s (%s) published by %s\n", e.Name, e.Mode, e.Instance)
	}
	fmt.Println("complete:", src.Err() == nil)
	// Output:
	// order.validated (Fast) published by worker-rust-1
	// payment.processed (Durable) published by worker-rust-1
	// complete: true
}
