package otlpsink_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

func TestRealExportersEveryTransport(t *testing.T) {
	sink := otlpsink.Start(t)
	protos := []otlpsink.Protocol{otlpsink.ProtocolGRPC, otlpsink.ProtocolGRPC + "+gzip", otlpsink.ProtocolHTTPProtobuf, otlpsink.ProtocolHTTPProtobuf + "+gzip"}
	for i, p := range protos {
		w := newWorker(t, sink, p, "worker-"+string(p))
		_, sp := w.tp.Tracer("test").Start(context.Background(), "route_event",
			trace.WithAttributes(attribute.String("correlation_id", "corr-"+string(p)), attribute.Int("n", i)))
		sp.AddEvent("Routing domain event", trace.WithAttributes(attribute.String("task_uuid", "task-1")))
		sp.End()
		w.flush(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, p := range protos {
		got, err := sink.Store().Wait(ctx, spanstore.Filter{Correlation: "corr-" + string(p)}, 1)
		require.NoError(t, err, "protocol %s", p)
		require.Len(t, got, 1)
		s := got[0]
		assert.Equal(t, "route_event", s.Name)
		assert.Equal(t, "worker-"+string(p), s.Instance())
		assert.Equal(t, "tasker-core", s.Service())
		v, ok := s.Attributes.Get("n")
		assert.True(t, ok)
		assert.True(t, v.Equal(i), "int attribute compares with a Go int")
		assert.Equal(t, "Routing domain event", s.Events[0].Name)
		assert.Equal(t, "task-1", s.Events[0].Attributes.Str("task_uuid"))
	}
	for _, p := range protos {
		s := sink.Store().Correlated("corr-" + string(p))[0]
		assert.Equal(t, strings.HasSuffix(string(p), "+gzip"), s.Origin.Compressed, "protocol %s", p)
	}
	st := sink.Stats()
	assert.EqualValues(t, 4, st.Spans)
	assert.Equal(t, uint64(2), st.ByTransport["grpc/proto"])
	assert.Equal(t, uint64(2), st.ByTransport["http/proto"])
	// task_uuid is a default correlation key, found in the span event.
	assert.Len(t, sink.Store().Correlated("task-1"), 4)
}
