package spanstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// The differential test: pdata traces go into a Store, come out as Spans,
// back to pdata through ToTraces, and through an OTLP/JSON dump and the
// loader; what comes back must be what went in, field for field, except for
// what normalize documents as not kept.
//
// Two comparisons: ptracetest.CompareTraces, the Collector's, whose messages
// name the field that differs; and the protobuf encodings, byte for byte,
// because CompareTraces does not look at span flags or link flags and
// matches floats with ==. A mismatch prints both sides as indented
// OTLP/JSON.

// roundTripSeeds is how many random traces TestRoundTripRandom tries; each
// seed is its own subtest, so a failure names the seed to rerun
// (-run 'TestRoundTripRandom/seed=17$').
const roundTripSeeds = 400

func TestRoundTripRandom(t *testing.T) {
	for seed := range uint64(roundTripSeeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			g := newGen(seed)
			td := g.traces()
			// Half the seeds send one request per resource, so resources are
			// interned both within a request and across requests.
			requireRoundTrip(t, td, seed%2 == 1)
		})
	}
}

// TestRoundTripEdgeCases are hand-picked inputs the generator reaches only
// by chance.
func TestRoundTripEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(td ptrace.Traces)
	}{
		{"bare span: IDs only, no name, zero times", func(td ptrace.Traces) {
			newSpan(td, 1, 1)
		}},
		{"zero and extreme times", func(td ptrace.Traces) {
			for i, ts := range []uint64{0, 1, math.MaxInt64, 1 << 63, math.MaxUint64} {
				sp := newSpan(td, 1, byte(i+1))
				sp.SetStartTimestamp(pcommon.Timestamp(ts))
				sp.SetEndTimestamp(pcommon.Timestamp(math.MaxUint64 - ts))
				sp.Events().AppendEmpty().SetTimestamp(pcommon.Timestamp(ts))
				sp.Events().AppendEmpty().SetName("zero time")
			}
		}},
		{"every value kind, nested, and empty ones", func(td ptrace.Traces) {
			sp := newSpan(td, 1, 1)
			// In a fixed order (FromRaw of a Go map would not be), nested.
			put(sp.Attributes(),
				kv{"", "empty key"},
				kv{"str", "x"},
				kv{"emptystr", ""},
				kv{"unicode", "é 日本 \U0001F600 \x00 \"q\" a=b"},
				kv{"bool", false},
				kv{"int", int64(math.MinInt64)},
				kv{"maxint", int64(math.MaxInt64)},
				kv{"double", math.Copysign(0, -1)},
				kv{"inf", math.Inf(-1)},
				kv{"tiny", math.SmallestNonzeroFloat64},
				kv{"bytes", []byte{0, 1, 0xff}},
				kv{"slice", []any{"a", int64(1), 1.0, true, []byte{}, []any{}, []kv{}, nil}},
				kv{"map", []kv{{"m", []kv{{"s", []any{[]kv{{"deep", []any{int64(1), "1"}}, {"z", nil}}}}}}, {"a", 1.5}}},
				kv{"empty", nil},
			)
			sp.Attributes().PutEmptyBytes("emptybytes")
			sp.Attributes().PutEmptySlice("emptyslice")
			sp.Attributes().PutEmptyMap("emptymap")
			sp.Events().AppendEmpty().Attributes().PutEmptyMap("m").PutEmptySlice("s").AppendEmpty().SetEmptyBytes().FromRaw([]byte("b"))
			sp.Links().AppendEmpty().Attributes().PutEmptySlice("s").AppendEmpty().SetDouble(math.Inf(1))
		}},
		{"links: zero IDs, trace state, attributes, same span twice", func(td ptrace.Traces) {
			sp := newSpan(td, 1, 1)
			sp.Links().AppendEmpty() // all zero: allowed in a link
			l := sp.Links().AppendEmpty()
			l.SetTraceID([16]byte{9})
			l.SetSpanID([8]byte{9})
			l.TraceState().FromRaw("vendor=x,other=y")
			l.Attributes().PutStr("correlation_id", "not a correlation: link attributes describe the other span")
			sp.Links().AppendEmpty().SetSpanID([8]byte{9})
		}},
		{"trace state, flags, kinds and status codes beyond the enum", func(td ptrace.Traces) {
			for i, v := range []int32{0, 1, 5, 6, 127, -1} {
				sp := newSpan(td, 1, byte(i+1))
				sp.TraceState().FromRaw(fmt.Sprintf("k%d=v", i))
				sp.SetFlags(uint32(v) * 0x01010101)
				sp.SetKind(ptrace.SpanKind(v))
				sp.Status().SetCode(ptrace.StatusCode(v))
				sp.Status().SetMessage(fmt.Sprint(v))
			}
		}},
		{"one resource in two ResourceSpans, one scope in two ScopeSpans: merged", func(td ptrace.Traces) {
			for i := range 2 {
				rs := td.ResourceSpans().AppendEmpty()
				rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
				rs.Resource().Attributes().PutStr("service.name", "tasker-core")
				rs.Resource().Attributes().PutInt("n", 1)
				for j := range 2 {
					ss := rs.ScopeSpans().AppendEmpty()
					ss.Scope().SetName("tracer")
					ss.Scope().SetVersion("1.0")
					ss.Scope().Attributes().PutBool("b", true)
					sp := ss.Spans().AppendEmpty()
					sp.SetTraceID([16]byte{1})
					sp.SetSpanID([8]byte{byte(i), byte(j), 1})
					sp.SetName(fmt.Sprintf("span %d.%d", i, j))
				}
			}
		}},
		{"resource attributes in another order are the same resource", func(td ptrace.Traces) {
			for i, keys := range [][]string{{"a", "b"}, {"b", "a"}} {
				rs := td.ResourceSpans().AppendEmpty()
				for _, k := range keys {
					rs.Resource().Attributes().PutStr(k, k)
				}
				sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
				sp.SetTraceID([16]byte{1})
				sp.SetSpanID([8]byte{byte(i + 1)})
			}
		}},
		{"resources and scopes without spans vanish; order follows first span", func(td ptrace.Traces) {
			td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("r", "no scopes")
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("r", "late")
			rs.ScopeSpans().AppendEmpty().Scope().SetName("no spans")
			newSpan(td, 1, 1).SetName("first")
			rs2 := td.ResourceSpans().AppendEmpty()
			rs.Resource().CopyTo(rs2.Resource())
			sp := rs2.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetTraceID([16]byte{1})
			sp.SetSpanID([8]byte{2})
			sp.SetName("second")
		}},
		{"scope name, version, attributes and schema URLs", func(td ptrace.Traces) {
			rs := td.ResourceSpans().AppendEmpty()
			rs.SetSchemaUrl("https://example.com/resource-schema")
			for i, sc := range []struct{ name, version string }{{"", ""}, {"a", ""}, {"", "a"}, {"a", "1"}} {
				ss := rs.ScopeSpans().AppendEmpty()
				ss.SetSchemaUrl("https://example.com/scope-schema")
				ss.Scope().SetName(sc.name)
				ss.Scope().SetVersion(sc.version)
				ss.Scope().Attributes().PutInt("i", int64(i))
				sp := ss.Spans().AppendEmpty()
				sp.SetTraceID([16]byte{1})
				sp.SetSpanID([8]byte{byte(i + 1)})
			}
		}},
		{"dropped counts everywhere", func(td ptrace.Traces) {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().SetDroppedAttributesCount(1)
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetDroppedAttributesCount(2)
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID([16]byte{1})
			sp.SetSpanID([8]byte{1})
			sp.SetDroppedAttributesCount(3)
			sp.SetDroppedEventsCount(4)
			sp.SetDroppedLinksCount(5)
			sp.Events().AppendEmpty().SetDroppedAttributesCount(6)
			l := sp.Links().AppendEmpty()
			l.SetDroppedAttributesCount(7)
			l.SetFlags(0x301)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			tc.build(td)
			requireRoundTrip(t, td, false)
			requireRoundTrip(t, td, true)
		})
	}
}

// Doubles keep their bits: NaN (with a payload, and negative), -0 and the
// infinities. CompareTraces cannot say so (NaN != NaN); the stored value's
// bits and the protobuf encoding can.
func TestRoundTripDoubleBits(t *testing.T) {
	bits := []uint64{
		math.Float64bits(math.NaN()),
		0x7ff8000000000001, // quiet NaN with a payload
		0xfff8000000000000, // negative NaN
		math.Float64bits(math.Copysign(0, -1)),
		math.Float64bits(math.Inf(1)),
		math.Float64bits(math.Inf(-1)),
	}
	td := ptrace.NewTraces()
	sp := newSpan(td, 1, 1)
	s := sp.Attributes().PutEmptySlice("doubles")
	for i, b := range bits {
		sp.Attributes().PutDouble(fmt.Sprint(i), math.Float64frombits(b))
		s.AppendEmpty().SetDouble(math.Float64frombits(b))
	}
	st := spanstore.New()
	st.Ingest(td, apiOrigin)
	spans := st.Spans(spanstore.Filter{})
	for i, b := range bits {
		v, ok := spans[0].Attributes.Get(fmt.Sprint(i))
		require.True(t, ok)
		assert.Equal(t, b, math.Float64bits(v.Double()), "attribute %d", i)
	}
	var m ptrace.ProtoMarshaler
	wb, err := m.MarshalTraces(td)
	require.NoError(t, err)
	gb, err := m.MarshalTraces(spanstore.ToTraces(spans))
	require.NoError(t, err)
	assert.Equal(t, wb, gb, "protobuf encodings")
}

// TestRoundTripLosesOnlyWhatNormalizeSays pins down, field by field, what the
// store does not keep (see normalize): each comes back as its zero value.
// Should the store start keeping one, this test fails, and normalize must
// stop clearing it.
func TestRoundTripLosesOnlyWhatNormalizeSays(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().SetDroppedAttributesCount(1)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl("https://example.com/scope-schema")
	ss.Scope().SetDroppedAttributesCount(2)
	sp := ss.Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.SetDroppedAttributesCount(3)
	sp.SetDroppedEventsCount(4)
	sp.SetDroppedLinksCount(5)
	sp.Events().AppendEmpty().SetDroppedAttributesCount(6)
	l := sp.Links().AppendEmpty()
	l.SetDroppedAttributesCount(7)
	l.SetFlags(0x301)

	st := spanstore.New()
	st.Ingest(td, apiOrigin)
	got := spanstore.ToTraces(st.Spans(spanstore.Filter{}))
	grs := got.ResourceSpans().At(0)
	gss := grs.ScopeSpans().At(0)
	gsp := gss.Spans().At(0)
	assert.Zero(t, grs.Resource().DroppedAttributesCount(), "resource dropped_attributes_count")
	assert.Empty(t, gss.SchemaUrl(), "scope spans schema_url")
	assert.Zero(t, gss.Scope().DroppedAttributesCount(), "scope dropped_attributes_count")
	assert.Zero(t, gsp.DroppedAttributesCount(), "span dropped_attributes_count")
	assert.Zero(t, gsp.DroppedEventsCount(), "span dropped_events_count")
	assert.Zero(t, gsp.DroppedLinksCount(), "span dropped_links_count")
	assert.Zero(t, gsp.Events().At(0).DroppedAttributesCount(), "event dropped_attributes_count")
	assert.Zero(t, gsp.Links().At(0).DroppedAttributesCount(), "link dropped_attributes_count")
	assert.Zero(t, gsp.Links().At(0).Flags(), "link flags")
}

// requireRoundTrip ingests td (in one request, or one per ResourceSpans) and
// checks that the store's spans convert back to td, directly and through an
// OTLP/JSON dump read back by the loader; and that the store's trace, name
// and correlation indexes select what td says they should.
func requireRoundTrip(t *testing.T, td ptrace.Traces, split bool) {
	t.Helper()
	want := normalize(td)
	st := spanstore.New()
	for _, req := range requests(td, split) {
		res := st.Ingest(req, apiOrigin)
		require.Zero(t, res.Rejected, res.RejectReason)
	}
	spans := st.Spans(spanstore.Filter{})
	require.Len(t, spans, want.SpanCount())
	requireSameTraces(t, "Ingest, Spans, ToTraces", want, spanstore.ToTraces(spans))
	requireIndexes(t, st, want)

	var buf bytes.Buffer
	require.NoError(t, spanstore.WriteOTLPJSON(&buf, spans))
	loaded := spanstore.New()
	n, err := loaded.LoadOTLPJSON(bytes.NewReader(buf.Bytes()), "dump.jsonl")
	require.NoError(t, err)
	require.Equal(t, want.SpanCount(), n)
	requireSameTraces(t, "WriteOTLPJSON, LoadOTLPJSON, Spans, ToTraces", want, spanstore.ToTraces(loaded.Spans(spanstore.Filter{})))
}

func requests(td ptrace.Traces, split bool) []ptrace.Traces {
	if !split {
		return []ptrace.Traces{td}
	}
	var out []ptrace.Traces
	for i := range td.ResourceSpans().Len() {
		req := ptrace.NewTraces()
		td.ResourceSpans().At(i).CopyTo(req.ResourceSpans().AppendEmpty())
		out = append(out, req)
	}
	return out
}

func requireSameTraces(t *testing.T, path string, want, got ptrace.Traces) {
	t.Helper()
	require.NoError(t, ptracetest.CompareTraces(want, got), "%s: ptracetest.CompareTraces", path)
	var m ptrace.ProtoMarshaler
	wb, err := m.MarshalTraces(want)
	require.NoError(t, err)
	gb, err := m.MarshalTraces(got)
	require.NoError(t, err)
	if !bytes.Equal(wb, gb) {
		assert.Equal(t, indentedJSON(t, want), indentedJSON(t, got), "%s: protobuf encodings differ", path)
		t.FailNow()
	}
}

func indentedJSON(t *testing.T, td ptrace.Traces) string {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, b, "", "  "))
	return out.String()
}

// requireIndexes checks Filter{TraceID}, Filter{Name} and
// Filter{Correlation} against a model computed from want: a trace is
// correlated with a value when one of its spans holds it under a correlation
// key in its attributes, its events' attributes or its resource (link
// attributes describe another span and do not count).
func requireIndexes(t *testing.T, st *spanstore.Store, want ptrace.Traces) {
	t.Helper()
	type ref struct {
		trace spanstore.TraceID
		span  spanstore.SpanID
	}
	var all []ref
	byTrace := map[spanstore.TraceID][]ref{}
	byName := map[string][]ref{}
	corrTraces := map[string]map[spanstore.TraceID]bool{}
	corrOf := func(m pcommon.Map, tr spanstore.TraceID) {
		for _, k := range spanstore.DefaultCorrelationKeys() {
			if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
				if corrTraces[v.Str()] == nil {
					corrTraces[v.Str()] = map[spanstore.TraceID]bool{}
				}
				corrTraces[v.Str()][tr] = true
			}
		}
	}
	forSpans(want, func(res pcommon.Resource, sp ptrace.Span) {
		r := ref{spanstore.TraceID(sp.TraceID()), spanstore.SpanID(sp.SpanID())}
		all = append(all, r)
		byTrace[r.trace] = append(byTrace[r.trace], r)
		byName[sp.Name()] = append(byName[sp.Name()], r)
		corrOf(res.Attributes(), r.trace)
		corrOf(sp.Attributes(), r.trace)
		for i := range sp.Events().Len() {
			corrOf(sp.Events().At(i).Attributes(), r.trace)
		}
	})
	// The store answers in arrival order, which is want's order only when
	// want has no merged resources; compare in arrival order instead.
	arrival := map[ref]int{}
	for i, s := range st.Spans(spanstore.Filter{}) {
		arrival[ref{s.TraceID, s.SpanID}] = i
	}
	refs := func(spans []spanstore.Span) []ref {
		out := []ref{}
		for _, s := range spans {
			out = append(out, ref{s.TraceID, s.SpanID})
		}
		return out
	}
	inArrivalOrder := func(rs []ref) []ref {
		out := append([]ref{}, rs...)
		slices.SortStableFunc(out, func(a, b ref) int { return arrival[a] - arrival[b] })
		return out
	}
	for id, rs := range byTrace {
		assert.Equal(t, inArrivalOrder(rs), refs(st.Spans(spanstore.Filter{TraceID: id})), "Filter{TraceID: %s}", id)
	}
	for name, rs := range byName {
		if name == "" {
			continue // Filter{Name: ""} selects by no name at all
		}
		assert.Equal(t, inArrivalOrder(rs), refs(st.Spans(spanstore.Filter{Name: name})), "Filter{Name: %q}", name)
	}
	for v, traces := range corrTraces {
		var rs []ref
		for _, r := range all {
			if traces[r.trace] {
				rs = append(rs, r)
			}
		}
		assert.Equal(t, inArrivalOrder(rs), refs(st.Spans(spanstore.Filter{Correlation: v})), "Filter{Correlation: %q}", v)
	}
	for _, v := range corrPool {
		if v != "" && corrTraces[v] == nil { // "" is no filter at all
			assert.Empty(t, st.Spans(spanstore.Filter{Correlation: v}), "Filter{Correlation: %q}: no span holds it", v)
		}
	}
}

func forSpans(td ptrace.Traces, f func(pcommon.Resource, ptrace.Span)) {
	for i := range td.ResourceSpans().Len() {
		rs := td.ResourceSpans().At(i)
		for j := range rs.ScopeSpans().Len() {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := range spans.Len() {
				f(rs.Resource(), spans.At(k))
			}
		}
	}
}

// normalize returns what the store should give back for td. The store keeps
// spans, not requests, and some OTLP fields it does not keep at all:
//
//   - Not kept, so cleared here: dropped_attributes_count (of resources,
//     scopes, spans, events and links), dropped_events_count and
//     dropped_links_count of spans, the flags of links, and the schema_url of
//     ScopeSpans (spanstore.Scope has no field for it; the resource's
//     schema_url is kept).
//   - Spans of one resource (same schema URL and attributes, in any order)
//     come back under one ResourceSpans, and spans of one scope (same name,
//     version and attributes) under one ScopeSpans, each placed where its
//     first span arrived; resources and scopes without spans vanish.
//
// Everything else must come back exactly.
func normalize(td ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	resource := func(src ptrace.ResourceSpans) ptrace.ResourceSpans {
		for i := range out.ResourceSpans().Len() {
			rs := out.ResourceSpans().At(i)
			if rs.SchemaUrl() == src.SchemaUrl() && reflect.DeepEqual(rs.Resource().Attributes().AsRaw(), src.Resource().Attributes().AsRaw()) {
				return rs
			}
		}
		rs := out.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl(src.SchemaUrl())
		src.Resource().CopyTo(rs.Resource())
		rs.Resource().SetDroppedAttributesCount(0)
		return rs
	}
	scope := func(rs ptrace.ResourceSpans, src pcommon.InstrumentationScope) ptrace.ScopeSpans {
		for i := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(i)
			if sc := ss.Scope(); sc.Name() == src.Name() && sc.Version() == src.Version() &&
				reflect.DeepEqual(sc.Attributes().AsRaw(), src.Attributes().AsRaw()) {
				return ss
			}
		}
		ss := rs.ScopeSpans().AppendEmpty()
		src.CopyTo(ss.Scope())
		ss.Scope().SetDroppedAttributesCount(0)
		return ss
	}
	for i := range td.ResourceSpans().Len() {
		srs := td.ResourceSpans().At(i)
		for j := range srs.ScopeSpans().Len() {
			sss := srs.ScopeSpans().At(j)
			if sss.Spans().Len() == 0 {
				continue
			}
			dst := scope(resource(srs), sss.Scope()).Spans()
			for k := range sss.Spans().Len() {
				sp := dst.AppendEmpty()
				sss.Spans().At(k).CopyTo(sp)
				sp.SetDroppedAttributesCount(0)
				sp.SetDroppedEventsCount(0)
				sp.SetDroppedLinksCount(0)
				for e := range sp.Events().Len() {
					sp.Events().At(e).SetDroppedAttributesCount(0)
				}
				for l := range sp.Links().Len() {
					sp.Links().At(l).SetDroppedAttributesCount(0)
					sp.Links().At(l).SetFlags(0)
				}
			}
		}
	}
	return out
}

// kv is one attribute for put; a []kv value is a map, a []any a slice
// (whose elements may be []kv too).
type kv struct {
	k string
	v any
}

func put(m pcommon.Map, kvs ...kv) {
	for _, a := range kvs {
		setRaw(m.PutEmpty(a.k), a.v)
	}
}

func setRaw(v pcommon.Value, raw any) {
	switch x := raw.(type) {
	case []kv:
		put(v.SetEmptyMap(), x...)
	case []any:
		s := v.SetEmptySlice()
		for _, e := range x {
			setRaw(s.AppendEmpty(), e)
		}
	default:
		if err := v.FromRaw(raw); err != nil {
			panic(err)
		}
	}
}

// newSpan appends a span with the given trace and span ID bytes under a new
// resource and scope.
func newSpan(td ptrace.Traces, trace, span byte) ptrace.Span {
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{trace, 0xaa})
	sp.SetSpanID([8]byte{span, 0xbb})
	return sp
}

// gen builds random traces from a seeded source, so a seed always gives the
// same traces.
type gen struct {
	r        *rand.Rand
	traceIDs []pcommon.TraceID
	spans    []pcommon.SpanID
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, 0x747261636570726f))}
}

var (
	strPool = []string{"", "a", "publish_event", "route_event", "Domain event published successfully",
		"é", "日本語", "\U0001F600", "with space", "quote\"d", "k=v,x", "\x00nul", "line\nbreak"}
	keyPool = []string{"", "k", "event_name", "namespace", "service.name", "service.instance.id",
		"http.status_code", "a.b.c", "é", "key with space"}
	// corrPool are the values given to correlation keys; "" is one, which
	// correlates nothing.
	corrPool = []string{"", "corr-1", "corr-2", "task-3"}
)

func (g *gen) pick(pool []string) string { return pool[g.r.IntN(len(pool))] }

func (g *gen) str() string {
	if g.r.IntN(4) == 0 {
		return fmt.Sprintf("s%x", g.r.Uint32())
	}
	return g.pick(strPool)
}

func (g *gen) traces() ptrace.Traces {
	g.traceIDs = nil
	g.spans = nil
	for range 1 + g.r.IntN(4) {
		var id pcommon.TraceID
		g.nonZero(id[:])
		g.traceIDs = append(g.traceIDs, id)
	}
	td := ptrace.NewTraces()
	for range 1 + g.r.IntN(4) {
		rs := td.ResourceSpans().AppendEmpty()
		if g.r.IntN(2) == 0 {
			rs.SetSchemaUrl("https://opentelemetry.io/schemas/" + g.str())
		}
		g.attrs(rs.Resource().Attributes(), 4)
		rs.Resource().SetDroppedAttributesCount(g.count())
		for range 1 + g.r.IntN(3) {
			ss := rs.ScopeSpans().AppendEmpty()
			if g.r.IntN(3) == 0 {
				ss.SetSchemaUrl("https://example.com/" + g.str())
			}
			ss.Scope().SetName(g.str())
			ss.Scope().SetVersion(g.str())
			g.attrs(ss.Scope().Attributes(), 2)
			ss.Scope().SetDroppedAttributesCount(g.count())
			for range g.r.IntN(6) {
				g.span(ss.Spans().AppendEmpty())
			}
		}
	}
	return td
}

func (g *gen) span(sp ptrace.Span) {
	sp.SetTraceID(g.traceIDs[g.r.IntN(len(g.traceIDs))])
	var id pcommon.SpanID
	g.nonZero(id[:])
	sp.SetSpanID(id)
	if len(g.spans) > 0 && g.r.IntN(3) > 0 {
		sp.SetParentSpanID(g.spans[g.r.IntN(len(g.spans))])
	}
	g.spans = append(g.spans, id)
	sp.TraceState().FromRaw(g.traceState())
	sp.SetFlags(g.flags())
	sp.SetName(g.str())
	sp.SetKind(ptrace.SpanKind(g.r.IntN(7)))
	sp.SetStartTimestamp(g.time())
	sp.SetEndTimestamp(g.time())
	sp.Status().SetCode(ptrace.StatusCode(g.r.IntN(4)))
	if g.r.IntN(2) == 0 {
		sp.Status().SetMessage(g.str())
	}
	g.attrs(sp.Attributes(), 6)
	sp.SetDroppedAttributesCount(g.count())
	for range g.r.IntN(4) {
		e := sp.Events().AppendEmpty()
		e.SetName(g.str())
		e.SetTimestamp(g.time())
		g.attrs(e.Attributes(), 3)
		e.SetDroppedAttributesCount(g.count())
	}
	sp.SetDroppedEventsCount(g.count())
	for range g.r.IntN(3) {
		l := sp.Links().AppendEmpty()
		if g.r.IntN(5) > 0 { // else all-zero IDs, which a link may have
			l.SetTraceID(g.traceIDs[g.r.IntN(len(g.traceIDs))])
			var lid pcommon.SpanID
			g.nonZero(lid[:])
			l.SetSpanID(lid)
		}
		l.TraceState().FromRaw(g.traceState())
		l.SetFlags(g.flags())
		g.attrs(l.Attributes(), 3)
		l.SetDroppedAttributesCount(g.count())
	}
	sp.SetDroppedLinksCount(g.count())
}

func (g *gen) nonZero(b []byte) {
	for {
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		if slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
			return
		}
	}
}

func (g *gen) traceState() string {
	switch g.r.IntN(3) {
	case 0:
		return ""
	case 1:
		return "vendor=" + fmt.Sprint(g.r.IntN(100))
	}
	return "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
}

func (g *gen) flags() uint32 {
	switch g.r.IntN(4) {
	case 0:
		return 0
	case 1:
		return 1 // sampled
	case 2:
		return 0x301 // sampled, parent is remote (bits 8 and 9)
	}
	return g.r.Uint32()
}

func (g *gen) count() uint32 {
	if g.r.IntN(3) == 0 {
		return g.r.Uint32N(1000)
	}
	return 0
}

// time is 0 (unknown) often, now-ish mostly, and anywhere in uint64 (past
// int64 too) sometimes.
func (g *gen) time() pcommon.Timestamp {
	switch g.r.IntN(10) {
	case 0, 1:
		return 0
	case 2:
		return pcommon.Timestamp(g.r.Uint64())
	case 3:
		return pcommon.Timestamp([]uint64{1, math.MaxInt64, 1 << 63, math.MaxUint64}[g.r.IntN(4)])
	}
	return pcommon.Timestamp(1_764_234_000_000_000_000 + g.r.Uint64N(1e12))
}

// attrs fills m with up to n random attributes, and sometimes correlation
// keys with string values.
func (g *gen) attrs(m pcommon.Map, n int) {
	for range g.r.IntN(n + 1) {
		g.value(m.PutEmpty(g.pick(keyPool)), 3)
	}
	if g.r.IntN(4) == 0 {
		m.PutStr(spanstore.DefaultCorrelationKeys()[g.r.IntN(2)], g.pick(corrPool))
	}
}

func (g *gen) value(v pcommon.Value, depth int) {
	kinds := 8
	if depth == 0 {
		kinds = 6 // no more slices or maps
	}
	switch g.r.IntN(kinds) {
	case 0: // empty
	case 1:
		v.SetStr(g.str())
	case 2:
		v.SetBool(g.r.IntN(2) == 0)
	case 3:
		v.SetInt([]int64{0, -1, 42, math.MinInt64, math.MaxInt64, g.r.Int64()}[g.r.IntN(6)])
	case 4:
		// No NaN: CompareTraces matches values with reflect.DeepEqual, for
		// which NaN never equals itself. The edge cases cover -0 and the
		// infinities; the protobuf comparison checks their bits.
		v.SetDouble([]float64{0, math.Copysign(0, -1), 1, -1.5, math.Inf(1), math.Inf(-1), math.MaxFloat64,
			math.SmallestNonzeroFloat64, g.r.NormFloat64() * 1e6}[g.r.IntN(9)])
	case 5:
		b := make([]byte, g.r.IntN(9))
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		v.SetEmptyBytes().FromRaw(b)
	case 6:
		s := v.SetEmptySlice()
		for range g.r.IntN(4) {
			g.value(s.AppendEmpty(), depth-1)
		}
	case 7:
		m := v.SetEmptyMap()
		for range g.r.IntN(4) {
			g.value(m.PutEmpty(g.pick(keyPool)), depth-1)
		}
	}
}
