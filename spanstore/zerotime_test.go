package spanstore_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// OTLP says a time of 0 is unknown. The store keeps it as the zero
// time.Time, and every way back to OTLP must turn that into 0 again, not into
// time.Time{}'s UnixNano (year 1, which wraps to 11651379494838206464 and
// reads back as 1754-08-30T22:43:41Z).
func TestZeroTimesRoundTrip(t *testing.T) {
	const (
		start = uint64(1_764_234_000_000_000_001)
		end   = uint64(1_764_234_000_000_500_002)
		evt   = uint64(1_764_234_000_000_250_003)
	)
	for _, tc := range []struct {
		name string
		// zero sets the time under test to 0 in the pdata span.
		zero func(sp ptrace.Span)
		// get reads that time from a stored span, from pdata and from the
		// span's OTLP/JSON object.
		get     func(s spanstore.Span) time.Time
		getPdat func(sp ptrace.Span) pcommon.Timestamp
		getJSON func(js jsonSpan) string
	}{
		{
			name:    "span start",
			zero:    func(sp ptrace.Span) { sp.SetStartTimestamp(0) },
			get:     func(s spanstore.Span) time.Time { return s.Start },
			getPdat: func(sp ptrace.Span) pcommon.Timestamp { return sp.StartTimestamp() },
			getJSON: func(js jsonSpan) string { return js.StartTimeUnixNano },
		},
		{
			name:    "span end",
			zero:    func(sp ptrace.Span) { sp.SetEndTimestamp(0) },
			get:     func(s spanstore.Span) time.Time { return s.End },
			getPdat: func(sp ptrace.Span) pcommon.Timestamp { return sp.EndTimestamp() },
			getJSON: func(js jsonSpan) string { return js.EndTimeUnixNano },
		},
		{
			name:    "event time",
			zero:    func(sp ptrace.Span) { sp.Events().At(0).SetTimestamp(0) },
			get:     func(s spanstore.Span) time.Time { return s.Events[0].Time },
			getPdat: func(sp ptrace.Span) pcommon.Timestamp { return sp.Events().At(0).Timestamp() },
			getJSON: func(js jsonSpan) string { return js.Events[0].TimeUnixNano },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetTraceID([16]byte{1})
			sp.SetSpanID([8]byte{2})
			sp.SetName("zero")
			sp.SetStartTimestamp(pcommon.Timestamp(start))
			sp.SetEndTimestamp(pcommon.Timestamp(end))
			sp.Events().AppendEmpty().SetName("e")
			sp.Events().At(0).SetTimestamp(pcommon.Timestamp(evt))
			tc.zero(sp)
			// What the other two times must stay, exactly.
			want := map[string]uint64{"start": uint64(sp.StartTimestamp()), "end": uint64(sp.EndTimestamp()), "event": uint64(sp.Events().At(0).Timestamp())}
			times := func(sp ptrace.Span) map[string]uint64 {
				return map[string]uint64{"start": uint64(sp.StartTimestamp()), "end": uint64(sp.EndTimestamp()), "event": uint64(sp.Events().At(0).Timestamp())}
			}

			// The store keeps 0 as the zero time.
			st := spanstore.New()
			st.Ingest(td, apiOrigin)
			spans := st.Spans(spanstore.Filter{})
			require.Len(t, spans, 1)
			assert.True(t, tc.get(spans[0]).IsZero(), "stored: %v", tc.get(spans[0]))

			// ToTraces gives 0 back, and the other times unchanged.
			back := onlySpan(t, spanstore.ToTraces(spans))
			assert.Zero(t, uint64(tc.getPdat(back)), "ToTraces")
			assert.Equal(t, want, times(back), "ToTraces")

			// The OTLP/JSON dump says 0 (or leaves the field out, which
			// means 0).
			var buf bytes.Buffer
			require.NoError(t, spanstore.WriteOTLPJSON(&buf, spans))
			js := decodeDump(t, buf.Bytes())
			assert.Contains(t, []string{"", "0"}, tc.getJSON(js), "dump: %s", buf.String())
			assert.NotContains(t, buf.String(), "11651379494838206464")

			// The loader reads it back as the zero time, and ToTraces of
			// the loaded span is the original again.
			loaded := spanstore.New()
			n, err := loaded.LoadOTLPJSON(bytes.NewReader(buf.Bytes()), "dump.jsonl")
			require.NoError(t, err)
			require.Equal(t, 1, n)
			got := loaded.Spans(spanstore.Filter{})
			assert.True(t, tc.get(got[0]).IsZero(), "loaded: %v", tc.get(got[0]))
			assert.Equal(t, want, times(onlySpan(t, spanstore.ToTraces(got))), "ToTraces after loading the dump")
		})
	}
}

// A Span built by hand with zero times converts to 0 as well.
func TestToTracesZeroTimeOfHandBuiltSpan(t *testing.T) {
	s := spanstore.Span{TraceID: spanstore.TraceID{1}, SpanID: spanstore.SpanID{2}, Name: "by hand",
		Events: []spanstore.Event{{Name: "e"}}}
	sp := onlySpan(t, spanstore.ToTraces([]spanstore.Span{s}))
	assert.Zero(t, uint64(sp.StartTimestamp()))
	assert.Zero(t, uint64(sp.EndTimestamp()))
	assert.Zero(t, uint64(sp.Events().At(0).Timestamp()))
}

func onlySpan(t *testing.T, td ptrace.Traces) ptrace.Span {
	t.Helper()
	require.Equal(t, 1, td.SpanCount())
	return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

// jsonSpan is the part of an OTLP/JSON span these tests read: the times, as
// the strings OTLP/JSON encodes 64-bit integers as.
type jsonSpan struct {
	StartTimeUnixNano string `json:"startTimeUnixNano"`
	EndTimeUnixNano   string `json:"endTimeUnixNano"`
	Events            []struct {
		TimeUnixNano string `json:"timeUnixNano"`
	} `json:"events"`
}

// decodeDump returns the only span of a one-line OTLP/JSON dump.
func decodeDump(t *testing.T, line []byte) jsonSpan {
	t.Helper()
	var doc struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []jsonSpan `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	require.NoError(t, json.Unmarshal(line, &doc))
	require.Len(t, doc.ResourceSpans, 1)
	require.Len(t, doc.ResourceSpans[0].ScopeSpans, 1)
	require.Len(t, doc.ResourceSpans[0].ScopeSpans[0].Spans, 1)
	return doc.ResourceSpans[0].ScopeSpans[0].Spans[0]
}
