package assert_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// BenchmarkWaitLatency measures how soon Eventually returns after the span it
// waits for arrives: ns/wake is the time from the arrival to the return, with
// the waiter already blocked (the hook releases the arrival only once the
// waiter has registered its watch). Waits wake on ingest, never by polling,
// so this stays in microseconds however long the timeout.
//
//	store: the span is handed to Store.Ingest.
//	grpc:  a real SDK exporter sends it over OTLP/gRPC (WithSyncer); the
//	       figure includes the export round trip.
func BenchmarkWaitLatency(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		st := spanstore.New()
		benchWake(b, st, func(corr string) func() {
			td := asserttest.Build("worker-1", []asserttest.Span{asserttest.Route(corr, "order.validated", "Fast", 0)})
			return func() { st.Ingest(td, spanstore.Origin{Sender: "bench", Transport: spanstore.TransportAPI}) }
		})
	})
	b.Run("grpc", func(b *testing.B) {
		sink := otlpsink.Start(b)
		tr := asserttest.SDKWorker(b, sink, "grpc", "worker-1", true)
		benchWake(b, sink.Store(), func(corr string) func() {
			_, sp := tr.Start(context.Background(), "route_event", trace.WithAttributes(attribute.String("correlation_id", corr)))
			return func() { sp.End() }
		})
	})
}

// benchWake waits for one route_event per iteration; arrive(corr) prepares
// the span and returns what makes it arrive.
func benchWake(b *testing.B, st *spanstore.Store, arrive func(corr string) func()) {
	var total time.Duration
	i := 0
	for b.Loop() {
		i++
		corr := "bench-" + strconv.Itoa(i)
		send := arrive(corr)
		ready := make(chan struct{})
		src := &asserttest.Hooked{Store: st, At: 1, Hook: func() { close(ready) }}
		returned := make(chan time.Time, 1)
		go func() {
			if _, err := assert.Check(src).Eventually(context.Background(), assert.Spans().Named("route_event").Correlated(corr), 1); err != nil {
				b.Error(err)
			}
			returned <- time.Now()
		}()
		<-ready
		sent := time.Now()
		send()
		total += (<-returned).Sub(sent)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/wake")
}
