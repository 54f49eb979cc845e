package spanstore

import (
	"math"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Resources and scopes are interned by content, so the spans of one process
// share one Resource value. Two resources are the same when their schema URLs
// are and they hold the same attributes, in any order (OTLP's attributes are a
// map), equal in key, kind and value (doubles bit for bit, nested values
// element by element and in order); scopes likewise with name and version.
// The relation is exact, so whichever decoder read a request the same content
// gives the same Resource; the first to arrive gives its attribute order.

// internResource returns the ID of the resource, adding it if new; attrs
// then belong to the store.
func (st *Store) internResource(attrs Attributes, schemaURL string) uint32 {
	key := appendStr(st.keyBuf[:0], schemaURL)
	key = st.appendSortedAttrs(key, attrs)
	st.keyBuf = key
	if id, ok := st.resIdx[string(key)]; ok {
		return id
	}
	e := resourceEntry{res: Resource{Attributes: attrs, SchemaURL: schemaURL}}
	for _, k := range st.corrKeys {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			e.corrs = append(e.corrs, v.AsString())
		}
	}
	id := uint32(len(st.resources))
	st.resources = append(st.resources, e)
	st.resIdx[string(key)] = id
	return id
}

// internScope returns the ID of the scope, adding it if new; attrs then
// belong to the store.
func (st *Store) internScope(name, version string, attrs Attributes) uint32 {
	key := appendStr(st.keyBuf[:0], name)
	key = appendStr(key, version)
	key = st.appendSortedAttrs(key, attrs)
	st.keyBuf = key
	if id, ok := st.scopeIdx[string(key)]; ok {
		return id
	}
	id := uint32(len(st.scopes))
	st.scopes = append(st.scopes, scopeEntry{scope: Scope{Name: name, Version: version, Attributes: attrs}})
	st.scopeIdx[string(key)] = id
	return id
}

// appendSortedAttrs is appendAttrs of attrs in key order (stable, as a
// request may repeat a key).
func (st *Store) appendSortedAttrs(b []byte, attrs Attributes) []byte {
	if slices.IsSortedFunc(attrs, byKey) {
		return appendAttrs(b, attrs)
	}
	st.sortBuf = append(st.sortBuf[:0], attrs...)
	slices.SortStableFunc(st.sortBuf, byKey)
	b = appendAttrs(b, st.sortBuf)
	clear(st.sortBuf)
	return b
}

func byKey(a, b Attr) int { return strings.Compare(a.Key, b.Key) }

// resourceIDPdata is internResource for a pdata resource. Most requests come
// from the process seen last, and comparing with it allocates nothing.
func (st *Store) resourceIDPdata(r pcommon.Resource, schemaURL string) uint32 {
	if st.lastRes != noID {
		if known := st.resources[st.lastRes].res; known.SchemaURL == schemaURL && samePdataAttrs(known.Attributes, r.Attributes()) {
			return st.lastRes
		}
	}
	st.lastRes = st.internResource(attrsFromPdata(r.Attributes()), schemaURL)
	return st.lastRes
}

// scopeIDPdata is internScope for a pdata scope.
func (st *Store) scopeIDPdata(s pcommon.InstrumentationScope) uint32 {
	if st.lastScope != noID {
		if known := st.scopes[st.lastScope].scope; known.Name == s.Name() && known.Version == s.Version() && samePdataAttrs(known.Attributes, s.Attributes()) {
			return st.lastScope
		}
	}
	st.lastScope = st.internScope(s.Name(), s.Version(), attrsFromPdata(s.Attributes()))
	return st.lastScope
}

const noID = ^uint32(0)

// sameValue is the exact equality above (Value.Equal is the tester's looser
// one: 42 equals 42.0 there).
func sameValue(a, b Value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case KindString, KindBytes:
		return a.str == b.str
	case KindBool, KindInt, KindDouble:
		return a.num == b.num
	case KindSlice:
		if len(a.list) != len(b.list) {
			return false
		}
		for i := range a.list {
			if !sameValue(a.list[i], b.list[i]) {
				return false
			}
		}
		return true
	case KindMap:
		return sameAttrs(a.kvs, b.kvs)
	}
	return true
}

func sameAttrs(a, b Attributes) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !sameValue(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// samePdataAttrs is sameAttrs(known, attrsFromPdata(m)) without building the
// second list.
func samePdataAttrs(known Attributes, m pcommon.Map) bool {
	if len(known) != m.Len() {
		return false
	}
	i := 0
	for k, v := range m.All() {
		a := known[i]
		i++
		if a.Key != k || !samePdataValue(a.Value, v) {
			return false
		}
	}
	return true
}

func samePdataValue(a Value, v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return a.kind == KindEmpty
	case pcommon.ValueTypeStr:
		return a.kind == KindString && a.str == v.Str()
	case pcommon.ValueTypeInt:
		return a.kind == KindInt && a.num == uint64(v.Int())
	case pcommon.ValueTypeBool:
		return a.kind == KindBool && a.num == b2u(v.Bool())
	case pcommon.ValueTypeDouble:
		return a.kind == KindDouble && a.num == math.Float64bits(v.Double())
	case pcommon.ValueTypeBytes:
		return a.kind == KindBytes && a.str == string(v.Bytes().AsRaw())
	}
	return sameValue(a, fromPdata(v))
}
