package otlpsink_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// TestLoadExactCount runs 8 concurrent exporters (gRPC, gRPC+gzip, HTTP,
// HTTP+gzip) of 10,000 spans each and checks that every span arrived exactly
// once.
func TestLoadExactCount(t *testing.T) {
	t.Parallel()
	const exporters, perExporter = 8, 10_000
	sink := otlpsink.Start(t)
	protos := []otlpsink.Protocol{otlpsink.ProtocolGRPC, otlpsink.ProtocolGRPC + "+gzip", otlpsink.ProtocolHTTPProtobuf, otlpsink.ProtocolHTTPProtobuf + "+gzip"}
	var wg sync.WaitGroup
	for i := range exporters {
		w := newWorker(t, sink, protos[i%len(protos)], fmt.Sprintf("worker-%d", i),
			// A queue big enough that the SDK never drops: the test is about
			// the sink losing nothing, not the exporter.
			sdktrace.WithMaxQueueSize(perExporter), sdktrace.WithMaxExportBatchSize(512))
		wg.Go(func() {
			tr := w.tp.Tracer("load")
			for j := range perExporter {
				_, sp := tr.Start(context.Background(), "step", trace.WithAttributes(
					attribute.String("correlation_id", fmt.Sprintf("load-%d", i)), attribute.Int("j", j)))
				sp.End()
			}
			w.flush(t)
		})
	}
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range exporters {
		spans, err := sink.Store().Wait(ctx, spanstore.Filter{Correlation: fmt.Sprintf("load-%d", i)}, perExporter)
		require.NoError(t, err)
		require.Len(t, spans, perExporter, "exporter %d", i)
		seen := make([]bool, perExporter)
		for _, s := range spans {
			v, _ := s.Attributes.Get("j")
			require.False(t, seen[v.Int()], "duplicate span j=%d from exporter %d", v.Int(), i)
			seen[v.Int()] = true
		}
	}
	st := sink.Stats()
	assert.EqualValues(t, exporters*perExporter, st.Spans)
	assert.Equal(t, exporters*perExporter, st.Stored)
	assert.Zero(t, st.Evicted+st.Rejected+st.DecodeErrors+st.RefusedTotal())
	assert.Len(t, st.Instances, exporters)
}
