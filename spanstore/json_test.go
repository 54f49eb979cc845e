package spanstore_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// richTraces is one span with every field set and an attribute of every
// value kind, nested, as pdata (so it goes through the store like a received
// span).
func richTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	rs.Resource().Attributes().PutStr("service.name", "tasker-core")
	rs.Resource().Attributes().PutStr("service.instance.id", "worker-rust-1")
	rs.Resource().Attributes().PutInt("process.pid", 4242)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tasker.events")
	ss.Scope().SetVersion("0.9.1")
	ss.Scope().Attributes().PutBool("scope.flag", true)
	sp := ss.Spans().AppendEmpty()
	sp.SetTraceID([16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36})
	sp.SetSpanID([8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7})
	sp.SetParentSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	sp.TraceState().FromRaw("rojo=00f067aa0ba902b7")
	sp.SetFlags(1)
	sp.SetName("publish_event")
	sp.SetKind(ptrace.SpanKindProducer)
	start := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1800 * time.Microsecond)))
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("queue unavailable")
	a := sp.Attributes()
	a.PutStr("event_name", "payment.processed")
	a.PutBool("durable", true)
	a.PutInt("retries", -3)
	a.PutInt("big", math.MaxInt64)
	a.PutDouble("ratio", 0.25)
	a.PutDouble("whole", 42)
	a.PutDouble("tiny", 1e-9)
	a.PutDouble("huge", 1e300)
	a.PutDouble("negzero", math.Copysign(0, -1))
	a.PutEmpty("nothing")
	s := a.PutEmptySlice("mixed")
	s.AppendEmpty().SetStr("a")
	s.AppendEmpty().SetInt(1)
	s.AppendEmpty().SetDouble(2)
	s.AppendEmpty().SetBool(false)
	s.AppendEmpty()
	inner := s.AppendEmpty().SetEmptyMap()
	inner.PutStr("k", "v")
	inner.PutEmptySlice("deep").AppendEmpty().SetEmptyMap().PutInt("n", 7)
	m := a.PutEmptyMap("nested")
	m.PutStr("z", "first") // order must survive, not be sorted
	m.PutStr("a", "second")
	m.PutEmptyMap("empty")
	e := sp.Events().AppendEmpty()
	e.SetName("Publishing domain event")
	e.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(100 * time.Microsecond)))
	e.Attributes().PutStr("correlation_id", "order-A1")
	e.Attributes().PutStr("queue_name", "domain_events_rust_domain_events")
	sp.Events().AppendEmpty().SetName("no time, no attributes")
	l := sp.Links().AppendEmpty()
	l.SetTraceID([16]byte{9: 9})
	l.SetSpanID([8]byte{7: 7})
	l.TraceState().FromRaw("k=v")
	l.Attributes().PutStr("link.kind", "follows")
	return td
}

var receivedAt = time.Date(2026, 11, 27, 9, 0, 1, 5, time.FixedZone("CET", 3600))

func richSpan(t *testing.T) (*spanstore.Store, spanstore.Span) {
	t.Helper()
	st := spanstore.New()
	res := st.Ingest(richTraces(), spanstore.Origin{Sender: "127.0.0.1:50123", Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto, Compressed: true})
	require.Equal(t, 1, res.Accepted)
	spans := st.Spans(spanstore.Filter{})
	require.Len(t, spans, 1)
	spans[0].Received = receivedAt // deterministic for the golden text
	return st, spans[0]
}

// spanCmp compares spans by meaning: times by instant (not location), empty
// and nil slices alike, values through Equal plus their kind.
var spanCmp = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b spanstore.Value) bool {
		return a.Kind() == b.Kind() && a.Equal(b) && sameKinds(a, b)
	}),
}

// sameKinds checks the kinds of nested elements too: Equal alone says 2 and
// 2.0 are equal.
func sameKinds(a, b spanstore.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case spanstore.KindSlice:
		for i := range a.Slice() {
			if !sameKinds(a.Slice()[i], b.Slice()[i]) {
				return false
			}
		}
	case spanstore.KindMap:
		for i, kv := range a.Map() {
			if b.Map()[i].Key != kv.Key || !sameKinds(kv.Value, b.Map()[i].Value) {
				return false
			}
		}
	}
	return true
}

func TestSpanJSONRoundTrip(t *testing.T) {
	_, orig := richSpan(t)
	b, err := json.Marshal(orig)
	require.NoError(t, err)
	t.Logf("%s", b)

	var back spanstore.Span
	require.NoError(t, json.Unmarshal(b, &back))
	if d := cmp.Diff(orig, back, spanCmp); d != "" {
		t.Errorf("round trip changed the span (-orig +back):\n%s", d)
	}
	// Derived fields come back derived.
	assert.Equal(t, "worker-rust-1", back.Instance())
	assert.Equal(t, "tasker-core", back.Service())

	// And once more: the second encoding is byte for byte the first.
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2))
}

// TestSpanJSONShape pins the field names and value forms DESIGN.md promises
// to clients.
func TestSpanJSONShape(t *testing.T) {
	st, s := richSpan(t)
	corrs := st.TraceCorrelations(s.TraceID)
	assert.Equal(t, []string{"order-A1"}, corrs)
	var got map[string]any
	require.NoError(t, json.Unmarshal(spanstore.AppendJSON(nil, s, corrs), &got))

	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", got["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", got["span_id"])
	assert.Equal(t, "0102030405060708", got["parent_span_id"])
	assert.Equal(t, "publish_event", got["name"])
	assert.Equal(t, "producer", got["kind"])
	assert.Equal(t, "2026-11-27T09:00:00.123456789Z", got["start"])
	assert.Equal(t, "2026-11-27T09:00:00.125256789Z", got["end"])
	assert.Equal(t, map[string]any{"code": "error", "message": "queue unavailable"}, got["status"])
	assert.Equal(t, "tasker-core", got["service"])
	assert.Equal(t, "worker-rust-1", got["instance"])
	assert.Equal(t, "127.0.0.1:50123", got["sender"])
	assert.Equal(t, "2026-11-27T08:00:01.000000005Z", got["received"], "UTC, nanoseconds")
	assert.Equal(t, []any{"order-A1"}, got["correlations"])
	assert.Equal(t, map[string]any{"name": "tasker.events", "version": "0.9.1", "attributes": map[string]any{"scope.flag": true}}, got["scope"])
	assert.Equal(t, map[string]any{
		"attributes": map[string]any{"service.name": "tasker-core", "service.instance.id": "worker-rust-1", "process.pid": float64(4242)},
		"schema_url": "https://opentelemetry.io/schemas/1.26.0",
	}, got["resource"])
	assert.Equal(t, []any{
		map[string]any{"name": "Publishing domain event", "time": "2026-11-27T09:00:00.123556789Z",
			"attributes": map[string]any{"correlation_id": "order-A1", "queue_name": "domain_events_rust_domain_events"}},
		map[string]any{"name": "no time, no attributes"},
	}, got["events"])
	assert.Equal(t, []any{map[string]any{"trace_id": "00000000000000000009000000000000", "span_id": "0000000000000007",
		"trace_state": "k=v", "attributes": map[string]any{"link.kind": "follows"}}}, got["links"])

	// Attribute values by their JSON text: the exact form decides the type
	// a client's decoder sees.
	raw := rawAttrs(t, spanstore.AppendJSON(nil, s, nil))
	for k, want := range map[string]string{
		"event_name": `"payment.processed"`,
		"durable":    `true`,
		"retries":    `-3`,
		"big":        `9223372036854775807`,
		"ratio":      `0.25`,
		"whole":      `42.0`,
		"tiny":       `1e-9`,
		"huge":       `1e+300`,
		"negzero":    `-0.0`,
		"nothing":    `null`,
		"mixed":      `["a",1,2.0,false,null,{"k":"v","deep":[{"n":7}]}]`,
		"nested":     `{"z":"first","a":"second","empty":{}}`,
	} {
		assert.Equal(t, want, string(raw[k]), "attribute %s", k)
	}
}

func rawAttrs(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var top struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
	}
	require.NoError(t, json.Unmarshal(b, &top))
	return top.Attributes
}

func TestSpanJSONRootAndZeroFields(t *testing.T) {
	s := spanstore.Span{TraceID: spanstore.TraceID{1}, SpanID: spanstore.SpanID{2}, Name: "route_event"}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"trace_id":"01000000000000000000000000000000","span_id":"0200000000000000","parent_span_id":"",
		"name":"route_event","kind":"unspecified","status":{"code":"unset"}}`, string(b))
	var back spanstore.Span
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.IsRoot())
	assert.True(t, back.Start.IsZero() && back.End.IsZero() && back.Received.IsZero())

	for kind, name := range map[spanstore.SpanKind]string{spanstore.KindInternal: "internal", spanstore.KindServer: "server",
		spanstore.KindClient: "client", spanstore.KindProducer: "producer", spanstore.KindConsumer: "consumer"} {
		s.Kind = kind
		b, _ := json.Marshal(s)
		assert.Contains(t, string(b), `"kind":"`+name+`"`)
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, kind, back.Kind)
	}
	s.Kind, s.Status.Code = 9, 7 // not defined by OTLP: kept as numbers
	b, _ = json.Marshal(s)
	assert.Contains(t, string(b), `"kind":9`)
	assert.Contains(t, string(b), `"status":{"code":7}`)
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, spanstore.SpanKind(9), back.Kind)
	assert.Equal(t, spanstore.StatusCode(7), back.Status.Code)
}

// TestValueJSONLossy pins the two documented losses: bytes and non-finite
// doubles come back as strings.
func TestValueJSONLossy(t *testing.T) {
	for _, tc := range []struct {
		v    spanstore.Value
		text string
	}{
		{spanstore.BytesValue([]byte{0xde, 0xad, 0xbe, 0xef}), `"3q2+7w=="`},
		{spanstore.DoubleValue(math.NaN()), `"NaN"`},
		{spanstore.DoubleValue(math.Inf(1)), `"+Inf"`},
		{spanstore.DoubleValue(math.Inf(-1)), `"-Inf"`},
	} {
		b, err := json.Marshal(tc.v)
		require.NoError(t, err)
		assert.Equal(t, tc.text, string(b))
		var back spanstore.Value
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, spanstore.KindString, back.Kind())
		assert.Equal(t, strings.Trim(tc.text, `"`), back.Str())
	}
}

func TestValueJSONDecodeTypes(t *testing.T) {
	for text, want := range map[string]spanstore.Value{
		`7`:                    spanstore.IntValue(7),
		`-7`:                   spanstore.IntValue(-7),
		`7.0`:                  spanstore.DoubleValue(7),
		`7e2`:                  spanstore.DoubleValue(700),
		`18446744073709551615`: spanstore.DoubleValue(18446744073709551615), // over int64
		`"7"`:                  spanstore.StringValue("7"),
		`null`:                 {},
		`[]`:                   spanstore.SliceValue(),
		` {"b":1,"a":[true]} `: spanstore.MapValue(spanstore.Attributes{{Key: "b", Value: spanstore.IntValue(1)}, {Key: "a", Value: spanstore.SliceValue(spanstore.BoolValue(true))}}),
	} {
		var v spanstore.Value
		require.NoError(t, json.Unmarshal([]byte(text), &v), text)
		assert.True(t, v.Kind() == want.Kind() && v.Equal(want) && sameKinds(v, want), "%s decoded to %v (%s), want %v (%s)", text, v, v.Kind(), want, want.Kind())
	}
	var v spanstore.Value
	assert.Error(t, v.UnmarshalJSON([]byte(`1 2`)))
}

// TestSpanJSONHTMLSafe: span JSON may be embedded in a page as it is.
func TestSpanJSONHTMLSafe(t *testing.T) {
	evil := "</script><script>alert(1)</script>"
	s := spanstore.Span{TraceID: spanstore.TraceID{1}, SpanID: spanstore.SpanID{2}, Name: evil,
		Attributes: spanstore.Attributes{{Key: evil, Value: spanstore.StringValue(evil + " & \u2028")}}}
	b := spanstore.AppendJSON(nil, s, []string{evil})
	assert.NotContains(t, string(b), "<")
	assert.NotContains(t, string(b), ">")
	assert.NotContains(t, string(b), "\u2028")
	var back spanstore.Span
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, evil, back.Name)
	assert.Equal(t, evil+" & \u2028", back.Attributes.Str(evil))
}

func TestSpanJSONErrorsNameTheField(t *testing.T) {
	base := `"trace_id":"01000000000000000000000000000000","span_id":"0200000000000000"`
	for _, tc := range []struct{ in, want string }{
		{`{"span_id":"0200000000000000"}`, "trace_id"},
		{`{` + base + `,"parent_span_id":"xyz"}`, "parent_span_id"},
		{`{` + base + `,"start":"yesterday"}`, "start"},
		{`{` + base + `,"kind":"sideways"}`, `kind: want one of internal|server|client|producer|consumer|unspecified, got "sideways"`},
		{`{` + base + `,"status":{"code":"meh"}}`, "status"},
		{`{` + base + `,"attributes":[1]}`, "attributes"},
		{`{` + base + `,"links":[{"trace_id":"00","span_id":"0000000000000007"}]}`, "links[0].trace_id"},
		{`{` + base + `,"name":3}`, "name"},
	} {
		var s spanstore.Span
		err := json.Unmarshal([]byte(tc.in), &s)
		if assert.Error(t, err, tc.in) {
			assert.Contains(t, err.Error(), tc.want, tc.in)
		}
	}
	_, corrs, err := spanstore.DecodeSpanJSON([]byte(`{` + base + `,"correlations":["order-A1","task-1"]}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"order-A1", "task-1"}, corrs)
}

func TestTraceCorrelations(t *testing.T) {
	st := spanstore.New()
	st.Ingest(traces(spanSpec{trace: 1, span: 2, parent: 1, name: "publish"}), apiOrigin)
	id := spanstore.TraceID{1, 0xaa}
	assert.Empty(t, st.TraceCorrelations(id), "the child alone carries no ID")
	st.Ingest(traces(spanSpec{trace: 1, span: 1, name: "route_event", events: map[string]map[string]any{
		"Routing domain event": {"correlation_id": "corr-1", "task_uuid": "task-1"}}}), apiOrigin)
	got := st.TraceCorrelations(id)
	assert.ElementsMatch(t, []string{"corr-1", "task-1"}, got)
	got[0] = "changed"
	assert.NotContains(t, st.TraceCorrelations(id), "changed", "the caller gets a copy")
	assert.Nil(t, st.TraceCorrelations(spanstore.TraceID{9}))
}
