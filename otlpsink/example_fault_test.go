package otlpsink_test

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/otlpsink"
)

// The sink refuses the first two gRPC requests with Unavailable; the
// exporter retries (here with a short backoff) and the third attempt is
// stored. The ledger shows every attempt and proves nothing was lost; in a
// test, assert.On(t, sink).Delivered(sink.Ledger()) waits for that proof.
func ExampleWithFaults() {
	rule, err := fault.ParseRule("grpc traces first=2 -> unavailable")
	if err != nil {
		fmt.Println(err)
		return
	}
	sink, err := otlpsink.New(otlpsink.WithFaults(rule))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sink.Close()

	ctx := context.Background()
	exp, _ := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond}))
	defer exp.Shutdown(ctx)
	fmt.Println("export error:", exp.ExportSpans(ctx, testSpans("worker-rust-1", 2)))

	for _, a := range sink.Ledger().Attempts() {
		fmt.Printf("%s %s, %d spans: %s\n", a.Transport, a.Signal, len(a.Spans), a.Answer)
	}
	fmt.Println(fault.Lost(sink.Ledger().Attempts()))
	fmt.Println(sink.Stats().Faults)
	// Output:
	// export error: <nil>
	// grpc traces, 2 spans: unavailable
	// grpc traces, 2 spans: unavailable
	// grpc traces, 2 spans: ok
	// no span lost: 2 refused spans were stored by a later attempt
	// map[rule 1 (grpc traces first=2 -> unavailable):2]
}
