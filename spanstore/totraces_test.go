package spanstore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/spanstore"
)

// ToTraces groups spans by resource and scope. Resources or scopes that
// print alike but differ (an int 1 and a string "1", a bool and the string
// "true", a schema URL that looks like an attribute) stay apart: each span
// comes back under its own resource and scope.
func TestToTracesKeepsLookalikeResourcesApart(t *testing.T) {
	attrs := func(kvs ...any) spanstore.Attributes {
		var as spanstore.Attributes
		for i := 0; i < len(kvs); i += 2 {
			as = append(as, spanstore.Attr{Key: kvs[i].(string), Value: spanstore.ValueOf(kvs[i+1])})
		}
		return as
	}
	resources := []spanstore.Resource{
		{Attributes: attrs("a", int64(1))},
		{Attributes: attrs("a", "1")},
		{Attributes: attrs("a", 1.0)},
		{Attributes: attrs("a", []any{int64(1)})},
		{Attributes: attrs("a", []any{"1"})},
		{Attributes: attrs("a", []byte("1"))},
		{Attributes: attrs("a", "MQ==")}, // base64 of "1", as bytes print
		{Attributes: attrs("a", map[string]any{"k": int64(1)})},
		{Attributes: attrs("a", map[string]any{"k": 1.0})},
		{Attributes: attrs("a b", "c")},
		{Attributes: attrs("a", "b c")},
		{SchemaURL: "s", Attributes: attrs("a", "1")},
		{SchemaURL: "s\x00a=1"},
	}
	scopes := []spanstore.Scope{
		{Name: "n", Attributes: attrs("x", true)},
		{Name: "n", Attributes: attrs("x", "true")},
		{Name: "n\x00v"},
		{Name: "n", Version: "v"},
	}
	var spans []spanstore.Span
	for i, r := range resources {
		for j, sc := range scopes {
			spans = append(spans, spanstore.Span{TraceID: spanstore.TraceID{1}, SpanID: spanstore.SpanID{byte(i), byte(j)},
				Name: "s", Resource: r, Scope: sc})
		}
	}
	td := spanstore.ToTraces(spans)
	require.Equal(t, len(resources), td.ResourceSpans().Len())
	for i, r := range resources {
		rs := td.ResourceSpans().At(i)
		assert.Equal(t, r.SchemaURL, rs.SchemaUrl(), "resource %d", i)
		assert.Equal(t, asRaw(r.Attributes), rs.Resource().Attributes().AsRaw(), "resource %d", i)
		require.Equal(t, len(scopes), rs.ScopeSpans().Len(), "resource %d", i)
		for j, sc := range scopes {
			ss := rs.ScopeSpans().At(j)
			assert.Equal(t, sc.Name, ss.Scope().Name(), "resource %d scope %d", i, j)
			assert.Equal(t, sc.Version, ss.Scope().Version(), "resource %d scope %d", i, j)
			assert.Equal(t, asRaw(sc.Attributes), ss.Scope().Attributes().AsRaw(), "resource %d scope %d", i, j)
			require.Equal(t, 1, ss.Spans().Len(), "resource %d scope %d", i, j)
			assert.Equal(t, [8]byte{byte(i), byte(j)}, [8]byte(ss.Spans().At(0).SpanID()), "resource %d scope %d", i, j)
		}
	}
}

// asRaw renders attributes as pcommon.Map.AsRaw does.
func asRaw(as spanstore.Attributes) map[string]any {
	out := map[string]any{}
	for _, a := range as {
		out[a.Key] = rawValue(a.Value)
	}
	return out
}

func rawValue(v spanstore.Value) any {
	switch v.Kind() {
	case spanstore.KindString:
		return v.Str()
	case spanstore.KindBool:
		return v.Bool()
	case spanstore.KindInt:
		return v.Int()
	case spanstore.KindDouble:
		return v.Double()
	case spanstore.KindBytes:
		return v.Bytes()
	case spanstore.KindSlice:
		out := []any{}
		for _, e := range v.Slice() {
			out = append(out, rawValue(e))
		}
		return out
	case spanstore.KindMap:
		return asRaw(v.Map())
	}
	return nil
}
