package spanstore

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recBuilder converts pdata spans into records, writing their payload into
// the Store's slabs. The Store keeps one, so its scratch buffers are allocated
// once.
type recBuilder struct {
	st    *Store
	attrs []attr
	strs  []byte
	extra []Value
}

// Slab block sizes: 32 KiB of attributes, 12 KiB of events, 64 KiB of
// strings, 4 KiB of links.
const (
	attrBlock  = 2048
	eventBlock = 512
	linkBlock  = 64
	strBlock   = 64 << 10
)

// build converts sp into the record that will be stored as seq.
func (b *recBuilder) build(sp ptrace.Span, seq uint64, received int64, res, scope, origin uint32) spanRec {
	st := b.st
	b.attrs, b.strs, b.extra = b.attrs[:0], b.strs[:0], b.extra[:0]
	r := spanRec{
		traceID:  TraceID(sp.TraceID()),
		spanID:   SpanID(sp.SpanID()),
		parentID: SpanID(sp.ParentSpanID()),
		start:    int64(sp.StartTimestamp()),
		end:      int64(sp.EndTimestamp()),
		received: received,
		flags:    sp.Flags(),
		name:     st.strs.ID(sp.Name()),
		kind:     SpanKind(sp.Kind()),
		status:   StatusCode(sp.Status().Code()),
		resource: res,
		scope:    scope,
		origin:   origin,
	}
	r.statusMsg = b.str(sp.Status().Message())
	r.traceState = b.str(sp.TraceState().AsRaw())
	b.addAttrs(sp.Attributes())
	r.nAttrs = uint32(len(b.attrs))

	evs := sp.Events()
	if n := evs.Len(); n > 0 {
		var events []eventRec
		r.events, events = st.eventSlab.Take(n, seq)
		r.nEvents = uint32(n)
		for i := range n {
			e := evs.At(i)
			a0 := uint32(len(b.attrs))
			b.addAttrs(e.Attributes())
			events[i] = eventRec{time: int64(e.Timestamp()), name: st.strs.ID(e.Name()), a0: a0, a1: uint32(len(b.attrs))}
		}
	}
	lks := sp.Links()
	if n := lks.Len(); n > 0 {
		var links []linkRec
		r.links, links = st.linkSlab.Take(n, seq)
		r.nLinks = uint32(n)
		for i := range n {
			l := lks.At(i)
			a0 := uint32(len(b.attrs))
			b.addAttrs(l.Attributes())
			links[i] = linkRec{traceID: TraceID(l.TraceID()), spanID: SpanID(l.SpanID()),
				traceState: b.str(l.TraceState().AsRaw()), a0: a0, a1: uint32(len(b.attrs))}
		}
	}
	// Copies into the slabs: the scratch buffers are reused for the next span.
	var attrs []attr
	r.attrs, attrs = st.attrSlab.Take(len(b.attrs), seq)
	r.nAll = uint32(copy(attrs, b.attrs))
	var strs []byte
	r.strs, strs = st.strSlab.Take(len(b.strs), seq)
	r.nStrs = uint32(copy(strs, b.strs))
	if len(b.extra) > 0 {
		r.hasExtra = true
		st.extra[seq] = append(make([]Value, 0, len(b.extra)), b.extra...)
	}
	return r
}

func (b *recBuilder) str(s string) strRef {
	if s == "" {
		return 0
	}
	off := len(b.strs)
	b.strs = append(b.strs, s...)
	return mkStrRef(off, len(s))
}

func (b *recBuilder) addAttrs(m pcommon.Map) {
	for k, v := range m.All() {
		a := attr{key: b.st.strs.ID(k), kind: pdataKind(v.Type())}
		switch v.Type() {
		case pcommon.ValueTypeStr:
			a.num = uint64(b.str(v.Str()))
		case pcommon.ValueTypeBytes:
			a.num = uint64(b.str(string(v.Bytes().AsRaw())))
		case pcommon.ValueTypeBool, pcommon.ValueTypeInt, pcommon.ValueTypeDouble:
			a.num = fromPdata(v).num
		case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
			a.num = uint64(len(b.extra))
			b.extra = append(b.extra, fromPdata(v))
		}
		b.attrs = append(b.attrs, a)
	}
}

func pdataKind(t pcommon.ValueType) ValueKind {
	switch t {
	case pcommon.ValueTypeStr:
		return KindString
	case pcommon.ValueTypeBool:
		return KindBool
	case pcommon.ValueTypeInt:
		return KindInt
	case pcommon.ValueTypeDouble:
		return KindDouble
	case pcommon.ValueTypeBytes:
		return KindBytes
	case pcommon.ValueTypeSlice:
		return KindSlice
	case pcommon.ValueTypeMap:
		return KindMap
	}
	return KindEmpty
}

// fromPdata converts a pdata value into a self-contained Value.
func fromPdata(v pcommon.Value) Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return StringValue(v.Str())
	case pcommon.ValueTypeBool:
		return BoolValue(v.Bool())
	case pcommon.ValueTypeInt:
		return IntValue(v.Int())
	case pcommon.ValueTypeDouble:
		return DoubleValue(v.Double())
	case pcommon.ValueTypeBytes:
		return BytesValue(v.Bytes().AsRaw())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]Value, s.Len())
		for i := range out {
			out[i] = fromPdata(s.At(i))
		}
		return SliceValue(out...)
	case pcommon.ValueTypeMap:
		return MapValue(attrsFromPdata(v.Map()))
	}
	return Value{}
}

func attrsFromPdata(m pcommon.Map) Attributes {
	if m.Len() == 0 {
		return nil
	}
	out := make(Attributes, 0, m.Len())
	for k, v := range m.All() {
		out = append(out, Attr{Key: k, Value: fromPdata(v)})
	}
	return out
}

// toPdata writes v into dst.
func toPdata(v Value, dst pcommon.Value) {
	switch v.kind {
	case KindString:
		dst.SetStr(v.str)
	case KindBool:
		dst.SetBool(v.Bool())
	case KindInt:
		dst.SetInt(v.Int())
	case KindDouble:
		dst.SetDouble(v.Double())
	case KindBytes:
		dst.SetEmptyBytes().FromRaw([]byte(v.str))
	case KindSlice:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(v.list))
		for _, e := range v.list {
			toPdata(e, s.AppendEmpty())
		}
	case KindMap:
		attrsToPdata(v.kvs, dst.SetEmptyMap())
	}
}

func attrsToPdata(as Attributes, m pcommon.Map) {
	m.EnsureCapacity(len(as))
	for _, a := range as {
		toPdata(a.Value, m.PutEmpty(a.Key))
	}
}
