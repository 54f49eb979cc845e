package spanstore_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// The store shares one Resource (and one Scope) value between the spans of
// one process. Two resources that differ only inside a slice or map value,
// by the kind of a value that prints alike (an int 1 and a double 1; bytes
// and the string of their base64), are different resources: each span must
// come back with its own.
func TestLookalikeResourcesAndScopesStayApart(t *testing.T) {
	pairs := []struct {
		name string
		a, b func(pcommon.Value)
	}{
		{"int and double in a slice",
			func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetInt(1) },
			func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetDouble(1) }},
		{"bytes and their base64 in a slice",
			func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetEmptyBytes().FromRaw([]byte("1")) },
			func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetStr("MQ==") }},
		{"int and double in a map",
			func(v pcommon.Value) { v.SetEmptyMap().PutInt("k", 1) },
			func(v pcommon.Value) { v.SetEmptyMap().PutDouble("k", 1) }},
	}
	for _, p := range pairs {
		// Adjacent, the second resource is compared with the one just
		// before it (Store.resourceID's fast path, sameResource); with
		// another between, it is looked up by canonicalKey. Scopes are
		// always looked up by canonicalKey.
		for _, between := range []bool{false, true} {
			for _, split := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/another_between=%v/one_request_each=%v", p.name, between, split), func(t *testing.T) {
					lookalike(t, p.a, p.b, between, split)
				})
			}
		}
	}
}

func lookalike(t *testing.T, a, b func(pcommon.Value), between, split bool) {
	other := func(v pcommon.Value) { v.SetStr("other") }
	sets := []func(pcommon.Value){a, b}
	if between {
		sets = []func(pcommon.Value){a, other, b}
	}
	td := ptrace.NewTraces()
	for i, set := range sets {
		rs := td.ResourceSpans().AppendEmpty()
		set(rs.Resource().Attributes().PutEmpty("r"))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("scope")
		set(ss.Scope().Attributes().PutEmpty("s"))
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID([16]byte{1})
		sp.SetSpanID([8]byte{byte(i + 1)})
	}
	st := spanstore.New()
	for _, req := range requests(td, split) {
		st.Ingest(req, apiOrigin)
	}
	spans := st.Spans(spanstore.Filter{})
	require.Len(t, spans, len(sets))
	for i := range spans {
		rs := td.ResourceSpans().At(i)
		assert.Equal(t, typedPdata(rs.Resource().Attributes()), typedAttrs(spans[i].Resource.Attributes),
			"span %d: resource attributes", i+1)
		assert.Equal(t, typedPdata(rs.ScopeSpans().At(0).Scope().Attributes()), typedAttrs(spans[i].Scope.Attributes),
			"span %d: scope attributes", i+1)
	}
}

// typedPdata and typedAttrs render attributes with the kind of every value,
// so that an int 1 and a double 1 read differently in a failure.
func typedPdata(m pcommon.Map) string {
	out := "{"
	for k, v := range m.All() {
		out += fmt.Sprintf("%q: %s, ", k, typedPdataValue(v))
	}
	return out + "}"
}

func typedPdataValue(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		out := "Slice["
		for _, e := range v.Slice().All() {
			out += typedPdataValue(e) + ", "
		}
		return out + "]"
	case pcommon.ValueTypeMap:
		return "Map" + typedPdata(v.Map())
	case pcommon.ValueTypeBytes:
		return fmt.Sprintf("Bytes(%q)", v.Bytes().AsRaw())
	}
	return fmt.Sprintf("%s(%s)", v.Type(), v.AsString())
}

func typedAttrs(as spanstore.Attributes) string {
	out := "{"
	for _, a := range as {
		out += fmt.Sprintf("%q: %s, ", a.Key, typedValue(a.Value))
	}
	return out + "}"
}

func typedValue(v spanstore.Value) string {
	switch v.Kind() {
	case spanstore.KindSlice:
		out := "Slice["
		for _, e := range v.Slice() {
			out += typedValue(e) + ", "
		}
		return out + "]"
	case spanstore.KindMap:
		return "Map" + typedAttrs(v.Map())
	case spanstore.KindBytes:
		return fmt.Sprintf("Bytes(%q)", v.Bytes())
	}
	return fmt.Sprintf("%s(%s)", v.Kind(), v.AsString())
}
