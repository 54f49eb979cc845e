package spanstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// oneSpan is a request of one span of trace t on instance, carrying corr (if
// any) as its correlation_id.
func oneSpan(t, span byte, instance, corr string, status ptrace.StatusCode) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tasker-core")
	rs.Resource().Attributes().PutStr("service.instance.id", instance)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{t})
	sp.SetSpanID([8]byte{span})
	sp.SetName("s")
	sp.Status().SetCode(status)
	if corr != "" {
		sp.Attributes().PutStr("correlation_id", corr)
	}
	return td
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func TestCorrelations(t *testing.T) {
	st := New(WithMaxSpans(5))
	o := Origin{Sender: "10.0.0.1:4000", Transport: TransportAPI}
	st.ingestAt(oneSpan(1, 1, "worker-rust-1", "order-A", ptrace.StatusCodeUnset), o, t0)
	st.ingestAt(oneSpan(1, 2, "worker-rust-2", "", ptrace.StatusCodeError), o, t0.Add(time.Second)) // correlated through its trace
	st.ingestAt(oneSpan(2, 1, "worker-rust-1", "order-B", ptrace.StatusCodeOk), o, t0.Add(2*time.Second))
	st.ingestAt(oneSpan(3, 1, "worker-rust-1", "order-A", ptrace.StatusCodeError), o, t0.Add(3*time.Second))

	got := st.Correlations()
	require.Len(t, got, 2)
	assert.Equal(t, CorrelationSummary{
		Value: "order-A", TraceIDs: []TraceID{{1}, {3}}, Spans: 3, Errors: 2,
		Instances: []string{"worker-rust-1", "worker-rust-2"}, Services: []string{"tasker-core"},
		FirstReceived: time.Unix(0, t0.UnixNano()), LastReceived: time.Unix(0, t0.Add(3*time.Second).UnixNano()),
	}, got[0], "newest first")
	assert.Equal(t, "order-B", got[1].Value)
	assert.Equal(t, 1, got[1].Spans)
	assert.Zero(t, got[1].Errors)

	one, ok := st.Correlation("order-B")
	assert.True(t, ok)
	assert.Equal(t, got[1], one)
	_, ok = st.Correlation("order-C")
	assert.False(t, ok)

	// Eviction (cap 5) drops the oldest span of order-A: counts follow.
	st.ingestAt(oneSpan(4, 1, "worker-rust-3", "order-C", ptrace.StatusCodeUnset), o, t0.Add(4*time.Second))
	st.ingestAt(oneSpan(4, 2, "worker-rust-3", "", ptrace.StatusCodeUnset), o, t0.Add(5*time.Second))
	a, ok := st.Correlation("order-A")
	require.True(t, ok)
	assert.Equal(t, 2, a.Spans)
	assert.Equal(t, time.Unix(0, t0.Add(time.Second).UnixNano()), a.FirstReceived)
	assert.Equal(t, "order-C", st.Correlations()[0].Value)

	st.Reset()
	assert.Empty(t, st.Correlations())
}

func TestSpansSince(t *testing.T) {
	st := New(WithMaxSpans(3))
	o := Origin{Sender: "s", Transport: TransportAPI}
	assert.Zero(t, st.LastSeq())
	assert.Empty(t, st.SpansSince(0, 0))

	changed := st.Changed(Filter{})
	st.ingestAt(oneSpan(1, 1, "i", "c", ptrace.StatusCodeUnset), o, t0)
	<-changed // the follower's wake-up: closed by the ingest
	st.ingestAt(oneSpan(1, 2, "i", "c", ptrace.StatusCodeUnset), o, t0)
	assert.Equal(t, uint64(2), st.LastSeq())
	seqs := func(ss []Span) (out []uint64) {
		for _, s := range ss {
			out = append(out, s.Seq)
		}
		return out
	}
	assert.Equal(t, []uint64{1, 2}, seqs(st.SpansSince(0, 0)))
	assert.Equal(t, []uint64{2}, seqs(st.SpansSince(1, 0)))
	assert.Equal(t, []uint64{1}, seqs(st.SpansSince(0, 1)), "limit keeps the oldest")
	assert.Empty(t, st.SpansSince(2, 0))
	assert.Empty(t, st.SpansSince(99, 0))

	for i := byte(3); i <= 5; i++ {
		st.ingestAt(oneSpan(1, i, "i", "c", ptrace.StatusCodeUnset), o, t0)
	}
	assert.Equal(t, []uint64{3, 4, 5}, seqs(st.SpansSince(0, 0)), "evicted spans are gone")

	st.Reset()
	assert.Equal(t, uint64(5), st.LastSeq(), "seq keeps counting over a reset")
	assert.Empty(t, st.SpansSince(0, 0))
	st.ingestAt(oneSpan(1, 9, "i", "c", ptrace.StatusCodeUnset), o, t0)
	assert.Equal(t, []uint64{6}, seqs(st.SpansSince(5, 0)))
}
