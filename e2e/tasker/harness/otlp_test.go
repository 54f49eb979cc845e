package harness

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// The binary exports spans of the documented shapes over each flavour's
// protocol, with service.instance.id, and loses none on SIGTERM: the batch
// delay is a minute, so everything arrives through the shutdown flush.
//
// Each process exports to a sink of its own, so that each sink's Stats say
// what that process sent: its metrics (which a sink counts but does not
// keep) and the transports of all its requests.
func TestOTLPExportAndFlushOnStop(t *testing.T) {
	t.Parallel()
	sinks := map[string]*otlpsink.Sink{}
	for _, id := range []string{"orchestration-1", "worker-rust-1", "worker-ruby-1", "worker-python-1"} {
		sinks[id] = otlpsink.Start(t)
	}
	// spans selects f's spans from every sink.
	spans := func(f spanstore.Filter) []spanstore.Span {
		var out []spanstore.Span
		for _, s := range sinks {
			out = append(out, s.Store().Spans(f)...)
		}
		return out
	}
	c := StartTB(t, Config{
		Mode: ModeSingle,
		Env: func(role, id, flavour string) []string {
			sink := sinks[id]
			if sink == nil {
				t.Errorf("no sink for instance %s", id)
				return nil
			}
			// No protocol: the binary picks each flavour's own, which is
			// what this test checks.
			endpoint := "http://" + sink.GRPCAddr()
			if flavour == "ruby" {
				endpoint = sink.HTTPURL()
			}
			return []string{
				"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint,
				"OTEL_BSP_SCHEDULE_DELAY=60000",
				"OTEL_METRIC_EXPORT_INTERVAL=60000",
			}
		},
	})
	ctx := testCtx(t, 60*time.Second)
	client := c.Client()
	type tc struct {
		flavour string
		fail    bool
		task    Task
	}
	cases := []*tc{{flavour: "rust"}, {flavour: "ruby"}, {flavour: "python"}, {flavour: "rust", fail: true}}
	for _, cs := range cases {
		task, err := client.CreateTask(ctx, DomainEventTask(cs.flavour, corrID(t, cs.flavour), cs.fail))
		require.NoError(t, err)
		cs.task, err = client.WaitFinal(ctx, task.TaskUUID)
		require.NoError(t, err)
	}
	assert.Empty(t, spans(spanstore.Filter{}), "nothing exported before the batch delay or shutdown")
	// Stop returns once every process has exited, and a process exits only
	// after its exporters' last requests were answered, which the sinks do
	// after storing them: nothing to wait for.
	require.NoError(t, c.Stop(ctx), "every process exits 0 after flushing")

	all := spans(spanstore.Filter{})
	require.NotEmpty(t, all)
	for _, s := range all {
		assert.Equal(t, "tasker-core", s.Resource.Attributes.Str("service.name"))
		assert.NotEmpty(t, s.Resource.Attributes.Str("service.instance.id"))
	}
	children := func(parent spanstore.Span, name string) []spanstore.Span {
		return spans(spanstore.Filter{TraceID: parent.TraceID, Name: name, Match: func(s *spanstore.Span) bool {
			return s.ParentSpanID == parent.SpanID
		}})
	}
	withAttr := func(name, key, value string) []spanstore.Span {
		return spans(spanstore.Filter{Name: name, Match: func(s *spanstore.Span) bool { return s.Attributes.Str(key) == value }})
	}

	for _, cs := range cases {
		corr := cs.task.CorrelationID
		instance := "worker-" + cs.flavour + "-1"
		wantTransport, wantGzip := spanstore.TransportGRPC, cs.flavour == "python"
		if cs.flavour == "ruby" {
			wantTransport = spanstore.TransportHTTP
		}
		var routed []DomainEvent
		routes := spans(spanstore.Filter{Name: "route_event", Match: func(s *spanstore.Span) bool {
			return len(s.Events) == 1 && s.Events[0].Attributes.Str("correlation_id") == corr
		}})
		for _, s := range routes {
			assert.True(t, s.IsRoot(), "route_event is a root")
			assert.Equal(t, "Routing domain event", s.Events[0].Name)
			assert.Equal(t, cs.task.TaskUUID, s.Events[0].Attributes.Str("task_uuid"))
			assert.Equal(t, instance, s.Resource.Attributes.Str("service.instance.id"))
			assert.Equal(t, wantTransport, s.Origin.Transport, cs.flavour)
			assert.Equal(t, spanstore.EncodingProto, s.Origin.Encoding, cs.flavour)
			assert.Equal(t, wantGzip, s.Origin.Compressed, cs.flavour)
			mode := s.Attributes.Str("delivery_mode")
			routed = append(routed, DomainEvent{Name: s.Attributes.Str("event_name"), DeliveryMode: mode})
			assert.Equal(t, NamespaceFor(cs.flavour), s.Attributes.Str("namespace"))
			if mode == "Durable" {
				pubs := children(s, "publish_event")
				require.Len(t, pubs, 1)
				assert.Equal(t, corr, pubs[0].Attributes.Str("correlation_id"))
				require.Len(t, pubs[0].Events, 2)
				assert.Equal(t, "Domain event published successfully", pubs[0].Events[1].Name)
				sends := children(pubs[0], "send_json_message")
				require.Len(t, sends, 1)
				assert.Equal(t, QueueName(NamespaceFor(cs.flavour)), sends[0].Attributes.Str("queue"))
			} else {
				pubs := children(s, "publish")
				require.Len(t, pubs, 1)
				assert.NotEmpty(t, pubs[0].Attributes.Str("event_id"))
				require.NotEmpty(t, pubs[0].Events)
				assert.Equal(t, cs.task.TaskUUID, pubs[0].Events[0].Attributes.Str("task_uuid"))
			}
		}
		execs := withAttr("execute_step", "correlation_id", corr)
		for _, s := range execs {
			assert.Equal(t, instance, s.Attributes.Str("worker.instance_id"))
		}
		finals := withAttr("finalize_task", "correlation_id", corr)
		for _, s := range finals {
			assert.Equal(t, "orchestration-1", s.Resource.Attributes.Str("service.instance.id"))
			assert.Equal(t, cs.task.State, s.Attributes.Str("task.state"))
		}
		var want []DomainEvent
		for _, e := range ExpectedEvents(cs.fail) {
			want = append(want, DomainEvent{Name: e.Name, DeliveryMode: e.DeliveryMode})
		}
		assert.ElementsMatch(t, want, routed, corr)
		wantExecs := 4
		if cs.fail {
			wantExecs = 2
		}
		assert.Len(t, execs, wantExecs, corr)
		assert.Len(t, finals, 1, corr)
	}

	// Each process flushed its metrics on stop too, over its own transport
	// (traces and metrics alike: "grpc/proto" or "http/proto").
	for id, sink := range sinks {
		st := sink.Stats()
		assert.Positive(t, st.MetricPoints, "%s flushed its metrics on stop: %s", id, st)
		want := "grpc/proto"
		if id == "worker-ruby-1" {
			want = "http/proto"
		}
		assert.Equal(t, []string{want}, slices.Sorted(maps.Keys(st.ByTransport)), "%s: requests by transport", id)
		assert.Zero(t, st.DecodeErrors+st.RefusedTotal(), "%s: %s", id, st)
	}
}
