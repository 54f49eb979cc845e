package assert_test

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// TestParallelTestsShareOneSink runs 50 parallel tests against one sink fed
// by four worker instances over three exporter transports. Each task's
// events are spread over the instances and every export batch mixes tasks;
// each test must pass, and see exactly its own spans.
func TestParallelTestsShareOneSink(t *testing.T) {
	successEvents := []domainevent.Event{
		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"),
		domainevent.Fast("inventory.updated"), domainevent.Fast("notification.sent"),
	}
	sink := otlpsink.Start(t)
	instances := []string{"worker-rust-1", "worker-rust-2", "worker-ruby-1", "worker-py-1"}
	protos := []string{"grpc", "http", "grpc+gzip", "http"}
	workers := make([]trace.Tracer, len(instances))
	for i := range instances {
		// A batch window long enough that every task's events are emitted
		// (below, before the tests start) within one window, however loaded
		// the machine: the batches then mix tasks by construction, not by
		// timing.
		workers[i] = asserttest.SDKWorkerBatching(t, sink, protos[i], instances[i], time.Second)
	}
	for i := range 50 {
		for j, ev := range successEvents {
			asserttest.Emit(workers[(i+j)%len(workers)], fmt.Sprintf("corr-%02d", i), ev.Name, string(ev.Mode))
		}
	}

	t.Run("tasks", func(t *testing.T) {
		for i := range 50 {
			t.Run(fmt.Sprintf("task-%02d", i), func(t *testing.T) {
				t.Parallel()
				corr := fmt.Sprintf("corr-%02d", i)
				tp := assert.On(t, sink, assert.WithSettle(50*time.Millisecond)).Require()

				got := domainevent.On(tp).Published(corr, successEvents...)
				traces := map[spanstore.TraceID]bool{}
				for j, e := range got {
					if want := instances[(i+j)%len(instances)]; e.Instance != want {
						t.Errorf("%s published on %s, want %s", e.Name, e.Instance, want)
					}
					if v := e.Route.Events[0].Attributes.Str("correlation_id"); v != corr {
						t.Errorf("%s: route of correlation %q", e.Name, v)
					}
					traces[e.Route.TraceID] = true
				}
				// 1 durable event of 3 spans, 3 fast ones of 2: all ours,
				// in our four traces, nothing else.
				mine := assert.Spans().Correlated(corr).Find(sink)
				if len(mine) != 9 {
					t.Errorf("correlation %s holds %d spans, want 9", corr, len(mine))
				}
				for _, s := range mine {
					if !traces[s.TraceID] {
						t.Errorf("sees a span of another trace: %s", s)
					}
				}
			})
		}
	})

	// The batches really were shared: requests held several tasks' spans,
	// and every instance sent.
	st := sink.Stats()
	if len(st.Instances) != len(instances) || st.Spans != 50*9 {
		t.Errorf("sink saw %d instances, %d spans", len(st.Instances), st.Spans)
	}
	if st.Requests >= 50*4 {
		t.Errorf("%d requests for 200 events: batches did not mix tasks", st.Requests)
	}
	t.Logf("%d spans in %d requests from %d instances", st.Spans, st.Requests, len(st.Instances))
}
