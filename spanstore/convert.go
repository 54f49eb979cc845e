package spanstore

import (
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recBuilder assembles one record at a time: both decoders (pdata's, in
// buildPdata, and the direct one in protodecode.go) add a span's strings,
// attributes, events and links to its scratch buffers, and finish copies them
// into the Store's slabs. The Store keeps one, so the scratch buffers are
// allocated once; it is used only under the Store's mu.
type recBuilder struct {
	st     *Store
	attrs  []attr
	strs   []byte
	extra  []Value
	events []eventRec
	links  []linkRec
	// seen is a small direct-mapped table of this span's strings, so a
	// string the span repeats (a correlation ID in its attributes and again
	// in its event's) is stored once.
	seen [32]strRef
}

// Slab block sizes: 32 KiB of attributes, 12 KiB of events, 64 KiB of
// strings, 4 KiB of links.
const (
	attrBlock  = 2048
	eventBlock = 512
	linkBlock  = 64
	strBlock   = 64 << 10
)

// reset starts a new span.
func (b *recBuilder) reset() {
	b.attrs, b.strs, b.extra = b.attrs[:0], b.strs[:0], b.extra[:0]
	b.events, b.links = b.events[:0], b.links[:0]
	b.seen = [32]strRef{}
}

// str adds a string of the span and returns its reference.
func (b *recBuilder) str(s string) strRef {
	return b.bytes(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// bytes adds the bytes of a string or bytes value (copied: s may alias a
// request buffer) and returns their reference.
func (b *recBuilder) bytes(s []byte) strRef {
	n := len(s)
	if n == 0 {
		return 0
	}
	h := (n*31 + int(s[0]) + 7*int(s[n-1]) + 13*int(s[n/2])) & (len(b.seen) - 1)
	if ref := b.seen[h]; int(uint32(ref)) == n {
		off := int(ref >> 32)
		if string(b.strs[off:off+n]) == string(s) {
			return ref
		}
	}
	ref := mkStrRef(len(b.strs), n)
	b.strs = append(b.strs, s...)
	b.seen[h] = ref
	return ref
}

// addAttr adds an attribute of the span, or of the event or link being
// built.
func (b *recBuilder) addAttr(a attr) { b.attrs = append(b.attrs, a) }

// tree adds a slice or map value and returns the index that goes in the
// attribute's num.
func (b *recBuilder) tree(v Value) uint64 {
	b.extra = append(b.extra, v)
	return uint64(len(b.extra) - 1)
}

// finish completes r, the span to be stored as seq, copying its payload from
// the scratch buffers into the slabs. r.nAttrs must be set: the attributes
// after the span's own belong to its events and links.
func (b *recBuilder) finish(r *spanRec, seq uint64) {
	st := b.st
	if n := len(b.events); n > 0 {
		var events []eventRec
		r.events, events = st.eventSlab.Take(n, seq)
		r.nEvents = uint32(copy(events, b.events))
	}
	if n := len(b.links); n > 0 {
		var links []linkRec
		r.links, links = st.linkSlab.Take(n, seq)
		r.nLinks = uint32(copy(links, b.links))
	}
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
}

// buildPdata converts sp into the record that will be stored as seq.
func (b *recBuilder) buildPdata(sp ptrace.Span, seq uint64, received int64, res, scope, origin uint32) spanRec {
	st := b.st
	b.reset()
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
	b.addPdataAttrs(sp.Attributes())
	r.nAttrs = uint32(len(b.attrs))
	for _, e := range sp.Events().All() {
		a0 := uint32(len(b.attrs))
		b.addPdataAttrs(e.Attributes())
		b.events = append(b.events, eventRec{time: int64(e.Timestamp()), name: st.strs.ID(e.Name()), a0: a0, a1: uint32(len(b.attrs))})
	}
	for _, l := range sp.Links().All() {
		a0 := uint32(len(b.attrs))
		b.addPdataAttrs(l.Attributes())
		b.links = append(b.links, linkRec{traceID: TraceID(l.TraceID()), spanID: SpanID(l.SpanID()),
			traceState: b.str(l.TraceState().AsRaw()), a0: a0, a1: uint32(len(b.attrs))})
	}
	b.finish(&r, seq)
	return r
}

func (b *recBuilder) addPdataAttrs(m pcommon.Map) {
	for k, v := range m.All() {
		a := attr{key: b.st.strs.ID(k), kind: pdataKind(v.Type())}
		switch v.Type() {
		case pcommon.ValueTypeStr:
			a.num = uint64(b.str(v.Str()))
		case pcommon.ValueTypeBytes:
			a.num = uint64(b.bytes(v.Bytes().AsRaw()))
		case pcommon.ValueTypeBool, pcommon.ValueTypeInt, pcommon.ValueTypeDouble:
			a.num = fromPdata(v).num
		case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
			a.num = b.tree(fromPdata(v))
		}
		b.addAttr(a)
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
