package spanstore

import (
	"time"
	"unsafe"

	"github.com/traceproof/traceproof/spanstore/internal/arena"
)

// The store keeps spans in a compact, pointer-free form: attribute keys, span
// and event names are interned to uint32 IDs; every other string of a span
// lives in one run of bytes (once, if the span repeats it) and is referenced
// by offset and length; event and link attributes follow the span's own; and
// all of that payload lives in the Store's slabs (internal/arena), addressed
// by (block, offset). A span costs no allocation of its own and nothing the
// garbage collector has to scan: about 790 bytes for a typical span, where
// keeping pdata costs ~1.9 KiB and dozens of pointers (docs/BENCHMARKS.md).
// Public Span values are built from records on demand.

// strRef packs an offset and length into strs.
type strRef uint64

func mkStrRef(off, n int) strRef { return strRef(uint64(off)<<32 | uint64(uint32(n))) }

// attr is one attribute. For strings and bytes num is a strRef; for slices and
// maps it indexes the record's extra values; otherwise it holds the bits.
type attr struct {
	key  uint32
	kind ValueKind
	num  uint64
}

type eventRec struct {
	time   int64
	name   uint32
	a0, a1 uint32 // attribute range in spanRec.attrs
}

type linkRec struct {
	traceID    TraceID
	spanID     SpanID
	traceState strRef
	a0, a1     uint32
}

type spanRec struct {
	traceID    TraceID
	spanID     SpanID
	parentID   SpanID
	start, end int64
	received   int64
	statusMsg  strRef
	traceState strRef
	flags      uint32
	name       uint32
	resource   uint32 // index into Store.resources
	scope      uint32 // index into Store.scopes
	origin     uint32 // index into Store.origins
	nAttrs     uint32 // attrs[:nAttrs] are the span's own; the rest belong to events and links
	kind       SpanKind
	status     StatusCode

	// The payload lives in the Store's slabs; a record holds no pointers.
	attrs                        arena.Ref
	events                       arena.Ref
	links                        arena.Ref
	strs                         arena.Ref
	nAll, nEvents, nLinks, nStrs uint32 // nAll counts span, event and link attributes
	hasExtra                     bool   // slice or map values, in Store.extra[seq]
}

// recView is a record with its payload resolved from the slabs.
type recView struct {
	*spanRec
	attrs  []attr
	events []eventRec
	links  []linkRec
	strs   []byte
	extra  []Value // slice and map attribute values; nil for most spans
}

// view resolves a record's payload. Caller holds mu.
func (st *Store) view(seq uint64, r *spanRec) recView {
	v := recView{
		spanRec: r,
		attrs:   st.attrSlab.Get(r.attrs, r.nAll),
		events:  st.eventSlab.Get(r.events, r.nEvents),
		links:   st.linkSlab.Get(r.links, r.nLinks),
		strs:    st.strSlab.Get(r.strs, r.nStrs),
	}
	if r.hasExtra {
		v.extra = st.extra[seq]
	}
	return v
}

// str returns a string that aliases r.strs, valid as long as those bytes are:
// under mu for a view of the slab, for good after own.
func (r recView) str(ref strRef) string {
	n := int(uint32(ref))
	if n == 0 {
		return ""
	}
	off := int(ref >> 32)
	return unsafe.String(&r.strs[off], n)
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// own gives the view a private copy of its strings. Slab blocks are reused
// once their spans are evicted, so a Span must not point into them; one copy
// of the span's string bytes, shared by all its strings, is what that costs.
func (r *recView) own() {
	if len(r.strs) > 0 {
		s := string(r.strs)
		r.strs = unsafe.Slice(unsafe.StringData(s), len(s))
	}
}

// materialize builds the public Span for a record.
func (st *Store) materialize(seq uint64, rec *spanRec) Span {
	r := st.view(seq, rec)
	r.own()
	s := Span{
		TraceID:      r.traceID,
		SpanID:       r.spanID,
		ParentSpanID: r.parentID,
		TraceState:   r.str(r.traceState),
		Flags:        r.flags,
		Name:         st.strs.Get(r.name),
		Kind:         r.kind,
		Start:        unixTime(r.start),
		End:          unixTime(r.end),
		Status:       Status{Code: r.status, Message: r.str(r.statusMsg)},
		Received:     unixTime(r.received),
		Resource:     st.resources[r.resource].res,
		Scope:        st.scopes[r.scope].scope,
		Origin:       st.origins[r.origin],
		Seq:          seq,
	}
	// One allocation for all attributes of the span, events and links.
	all := make(Attributes, len(r.attrs))
	for i, a := range r.attrs {
		all[i] = Attr{Key: st.strs.Get(a.key), Value: r.value(a)}
	}
	s.Attributes = all[:r.nAttrs:r.nAttrs]
	if len(r.events) > 0 {
		s.Events = make([]Event, len(r.events))
		for i, e := range r.events {
			s.Events[i] = Event{Name: st.strs.Get(e.name), Time: unixTime(e.time), Attributes: all[e.a0:e.a1:e.a1]}
		}
	}
	if len(r.links) > 0 {
		s.Links = make([]Link, len(r.links))
		for i, l := range r.links {
			s.Links[i] = Link{TraceID: l.traceID, SpanID: l.spanID, TraceState: r.str(l.traceState), Attributes: all[l.a0:l.a1:l.a1]}
		}
	}
	return s
}

func (r recView) value(a attr) Value {
	switch a.kind {
	case KindString, KindBytes:
		return Value{kind: a.kind, str: r.str(strRef(a.num))}
	case KindSlice, KindMap:
		return r.extra[a.num]
	}
	return Value{kind: a.kind, num: a.num}
}
