package spanstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/VictoriaMetrics/easyproto"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// IngestProto stores the spans of an OTLP/protobuf ExportTraceServiceRequest
// (the body of a gRPC Export call or of an OTLP/HTTP POST /v1/traces), as
// Ingest does with pdata, but decoding the bytes straight into the store's
// records: no pdata tree is built, and strings are copied once, into the
// store. body is only read during the call, never retained.
//
// It stores exactly what Ingest(pdata's decoding of body) would store, and
// accepts exactly what pdata accepts (a fuzz test holds it to that). An error
// means body does not decode; nothing of it is stored then. Attribute values
// nested deeper than pdata's limit (100 KeyValue, AnyValue, ArrayValue and
// KeyValueList messages in a chain) do not decode. Strings are stored byte for
// byte, invalid UTF-8 included, as pdata does.
func (st *Store) IngestProto(body []byte, origin Origin) (IngestResult, error) {
	res, _, err := st.ingestProtoAt(body, origin, time.Now(), nil)
	return res, err
}

// ingestProtoAt is IngestProto at a given time, filling rc if not nil;
// deferred reports that the direct decoder left the request to pdata.
func (st *Store) ingestProtoAt(body []byte, origin Origin, now time.Time, rc *Receipt) (res IngestResult, deferred bool, err error) {
	res, err = st.decodeProto(body, origin, now, rc)
	if !errors.Is(err, errDefer) {
		return res, false, err
	}
	// Not an encoding the direct decoder reads: protobuf groups, varints
	// with bits past the 64th, field numbers over 2^32, or plain garbage.
	// pdata has the last word on those.
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return IngestResult{}, true, err
	}
	return st.ingestReceiptAt(req.Traces(), origin, now, rc), true, nil
}

// maxDepth is pdata's recursion limit for nested values
// (go.opentelemetry.io/collector/pdata/internal/proto.RecursionLimit): a
// KeyValue, AnyValue, ArrayValue or KeyValueList message entered at depth
// maxDepth or deeper does not decode, the top-level KeyValue being at depth 0.
const maxDepth = 100

var (
	// errDefer says the direct decoder cannot tell whether pdata would
	// accept the request; IngestProto then asks pdata.
	errDefer = errors.New("not an encoding the direct decoder reads")
	// errTooDeep is the direct decoder's own verdict, which pdata shares.
	errTooDeep = fmt.Errorf("attribute value nested too deep: more than %d KeyValue, AnyValue, ArrayValue and KeyValueList messages in a chain", maxDepth)
)

// decodeProto is the direct decoder proper: IngestProto without the appeal
// to pdata.
func (st *Store) decodeProto(body []byte, origin Origin, now time.Time, rc *Receipt) (IngestResult, error) {
	st.mu.Lock()
	d := &st.pd
	d.received = now.UnixNano()
	d.origin = st.originID(origin)
	err := d.request(body)
	d.forget()
	if err != nil {
		st.abort()
		return IngestResult{}, err
	}
	return st.commit(origin, now, rc), nil
}

// protoDecoder walks an encoded request once, with easyproto, and builds its
// records with the Store's recBuilder, which copies what it keeps: nothing
// refers to the request's bytes once the call returns. It checks everything
// pdata's decoder checks (wire types of known fields, ID lengths, nesting
// depth) in every message pdata decodes, stored or not, so that it accepts
// nothing pdata would refuse.
//
// Protobuf semantics the records follow, as pdata does: the last of repeated
// scalar fields wins; a message field that occurs twice is merged (a
// resource's attributes are those of both occurrences); an AnyValue keeps
// its last value; ScopeSpans under the deprecated field 1000 count only
// when there are none under field 2.
type protoDecoder struct {
	st       *Store
	received int64
	origin   uint32

	// Scratch: occurrences of a resource or scope, and a span's events and
	// links, read after the span's own fields so that its attributes come
	// first as the records want them.
	resParts, scopeParts [][]byte
	events, links        [][]byte
	key                  []byte

	// The encoded resource and scope of the previous request and their IDs:
	// a process sends the same bytes every time.
	resWire, scopeWire []byte
	resID, scopeID     uint32
	haveRes, haveScope bool

	// names caches interned keys and names: spans repeat the same few, and
	// comparing with the one cached in their slot is cheaper than hashing.
	names [256]cachedName
}

type cachedName struct {
	s  string // the interned copy
	id uint32
}

// intern returns the interner's ID of b.
func (d *protoDecoder) intern(b []byte) uint32 {
	n := len(b)
	if n == 0 {
		return 0 // the interner's ID of ""
	}
	c := &d.names[(n*7+int(b[0])*3+int(b[n-1]))&(len(d.names)-1)]
	if c.s == unsafeString(b) {
		return c.id
	}
	id := d.st.strs.ID(unsafeString(b))
	*c = cachedName{d.st.strs.Get(id), id}
	return id
}

// forget drops the references into the request.
func (d *protoDecoder) forget() {
	clear(d.resParts[:cap(d.resParts)])
	clear(d.scopeParts[:cap(d.scopeParts)])
	clear(d.events[:cap(d.events)])
	clear(d.links[:cap(d.links)])
}

// next reads the next field, by pdata's rules of what a field is: easyproto
// also takes field number 0 and numbers pdata's int32 cannot hold.
func next(fc *easyproto.FieldContext, src []byte) ([]byte, error) {
	src, err := fc.NextField(src)
	if err != nil || fc.FieldNum == 0 || fc.FieldNum > math.MaxInt32 {
		return nil, errDefer
	}
	return src, nil
}

// Accessors for known fields: a known field of the wrong wire type does not
// decode.

func lenField(fc *easyproto.FieldContext) ([]byte, error) {
	b, ok := fc.MessageData()
	if !ok {
		return nil, errDefer
	}
	return b, nil
}

func varintField(fc *easyproto.FieldContext) (uint64, error) {
	v, ok := fc.Uint64()
	if !ok {
		return 0, errDefer
	}
	return v, nil
}

func fixed64Field(fc *easyproto.FieldContext) (uint64, error) {
	v, ok := fc.Fixed64()
	if !ok {
		return 0, errDefer
	}
	return v, nil
}

func fixed32Field(fc *easyproto.FieldContext) (uint32, error) {
	v, ok := fc.Fixed32()
	if !ok {
		return 0, errDefer
	}
	return v, nil
}

// readID reads a trace or span ID: empty means all zero, as in pdata.
func readID(dst []byte, fc *easyproto.FieldContext) error {
	b, err := lenField(fc)
	if err != nil {
		return err
	}
	switch len(b) {
	case 0:
		clear(dst)
	case len(dst):
		copy(dst, b)
	default:
		return errDefer
	}
	return nil
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// request reads an ExportTraceServiceRequest: resource_spans = 1.
func (d *protoDecoder) request(src []byte) error {
	var fc easyproto.FieldContext
	var err error
	for len(src) > 0 {
		if src, err = next(&fc, src); err != nil {
			return err
		}
		if fc.FieldNum == 1 {
			b, err := lenField(&fc)
			if err != nil {
				return err
			}
			if err := d.resourceSpans(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// resourceSpans reads a ResourceSpans: resource = 1, scope_spans = 2,
// schema_url = 3, deprecated scope spans = 1000. The resource comes first,
// wherever it is on the wire.
func (d *protoDecoder) resourceSpans(buf []byte) error {
	var fc easyproto.FieldContext
	var err error
	parts := d.resParts[:0]
	var schema []byte
	hasScopeSpans := false
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return err
		}
		var b []byte
		switch fc.FieldNum {
		case 1:
			b, err = lenField(&fc)
			parts = append(parts, b)
		case 2:
			_, err = lenField(&fc)
			hasScopeSpans = true
		case 3:
			schema, err = lenField(&fc)
		case 1000:
			_, err = lenField(&fc)
		}
		if err != nil {
			return err
		}
	}
	d.resParts = parts
	ri, err := d.resource(parts, schema)
	if err != nil {
		return err
	}
	n := 0
	for src := buf; len(src) > 0; {
		src, _ = next(&fc, src) // read once already
		if fc.FieldNum == 2 || fc.FieldNum == 1000 {
			b, _ := fc.MessageData()
			k, err := d.scopeSpans(b, ri, fc.FieldNum == 2 || !hasScopeSpans)
			if err != nil {
				return err
			}
			n += k
		}
	}
	d.st.batch.group(ri, n)
	return nil
}

// appendPart appends a length-prefixed part to a wire key.
func appendPart(key, part []byte) []byte {
	return append(binary.AppendUvarint(key, uint64(len(part))), part...)
}

// resource reads the occurrences of a Resource (attributes = 1,
// dropped_attributes_count = 2, entity_refs = 3) and interns it.
func (d *protoDecoder) resource(parts [][]byte, schema []byte) (uint32, error) {
	key := d.key[:0]
	for _, p := range parts {
		key = appendPart(key, p)
	}
	key = appendPart(key, schema)
	d.key = key
	if d.haveRes && bytes.Equal(key, d.resWire) {
		return d.resID, nil
	}
	var attrs Attributes
	var fc easyproto.FieldContext
	var err error
	for _, p := range parts {
		for src := p; len(src) > 0; {
			if src, err = next(&fc, src); err != nil {
				return 0, err
			}
			var b []byte
			switch fc.FieldNum {
			case 1:
				if b, err = lenField(&fc); err == nil {
					var a Attr
					a, err = d.ownedKV(b, 0)
					attrs = append(attrs, a)
				}
			case 2:
				_, err = varintField(&fc)
			case 3:
				if b, err = lenField(&fc); err == nil {
					err = entityRef(b)
				}
			}
			if err != nil {
				return 0, err
			}
		}
	}
	id := d.st.internResource(attrs, string(schema))
	d.st.lastRes = id
	d.resWire, d.resID, d.haveRes = append(d.resWire[:0], d.key...), id, true
	return id, nil
}

// entityRef checks an EntityRef: schema_url = 1, type = 2, id_keys = 3,
// description_keys = 4, all strings. The store keeps none of it.
func entityRef(buf []byte) error {
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return err
		}
		if fc.FieldNum >= 1 && fc.FieldNum <= 4 {
			if _, err := lenField(&fc); err != nil {
				return err
			}
		}
	}
	return nil
}

// scopeSpans reads a ScopeSpans (scope = 1, spans = 2, schema_url = 3) and
// returns how many spans it staged; keep false reads without staging any.
func (d *protoDecoder) scopeSpans(buf []byte, ri uint32, keep bool) (int, error) {
	var fc easyproto.FieldContext
	var err error
	parts := d.scopeParts[:0]
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return 0, err
		}
		var b []byte
		switch fc.FieldNum {
		case 1:
			b, err = lenField(&fc)
			parts = append(parts, b)
		case 2, 3:
			_, err = lenField(&fc)
		}
		if err != nil {
			return 0, err
		}
	}
	d.scopeParts = parts
	si, err := d.scope(parts)
	if err != nil {
		return 0, err
	}
	n := 0
	for src := buf; len(src) > 0; {
		src, _ = next(&fc, src)
		if fc.FieldNum == 2 {
			b, _ := fc.MessageData()
			stored, err := d.span(b, ri, si, keep)
			if err != nil {
				return 0, err
			}
			if stored {
				n++
			}
		}
	}
	return n, nil
}

// scope reads the occurrences of an InstrumentationScope (name = 1,
// version = 2, attributes = 3, dropped_attributes_count = 4) and interns it.
func (d *protoDecoder) scope(parts [][]byte) (uint32, error) {
	key := d.key[:0]
	for _, p := range parts {
		key = appendPart(key, p)
	}
	d.key = key
	if d.haveScope && bytes.Equal(key, d.scopeWire) {
		return d.scopeID, nil
	}
	var name, version []byte
	var attrs Attributes
	var fc easyproto.FieldContext
	var err error
	for _, p := range parts {
		for src := p; len(src) > 0; {
			if src, err = next(&fc, src); err != nil {
				return 0, err
			}
			var b []byte
			switch fc.FieldNum {
			case 1:
				name, err = lenField(&fc)
			case 2:
				version, err = lenField(&fc)
			case 3:
				if b, err = lenField(&fc); err == nil {
					var a Attr
					a, err = d.ownedKV(b, 0)
					attrs = append(attrs, a)
				}
			case 4:
				_, err = varintField(&fc)
			}
			if err != nil {
				return 0, err
			}
		}
	}
	id := d.st.internScope(string(name), string(version), attrs)
	d.st.lastScope = id
	d.scopeWire, d.scopeID, d.haveScope = append(d.scopeWire[:0], d.key...), id, true
	return id, nil
}

// span reads a Span and, when keep is set and its IDs are valid, stages its
// record. Its own fields are read first; its events and links after, in
// order, so that their attributes follow the span's in the record.
func (d *protoDecoder) span(buf []byte, ri, si uint32, keep bool) (bool, error) {
	st := d.st
	b := &st.b
	b.reset()
	r := spanRec{received: d.received, resource: ri, scope: si, origin: d.origin}
	var name, traceState, statusMsg []byte
	evs, lks := d.events[:0], d.links[:0]
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return false, err
		}
		var v uint64
		var p []byte
		switch fc.FieldNum {
		case 1:
			err = readID(r.traceID[:], &fc)
		case 2:
			err = readID(r.spanID[:], &fc)
		case 3:
			traceState, err = lenField(&fc)
		case 4:
			err = readID(r.parentID[:], &fc)
		case 5:
			name, err = lenField(&fc)
		case 6:
			v, err = varintField(&fc)
			r.kind = SpanKind(int32(v))
		case 7:
			v, err = fixed64Field(&fc)
			r.start = int64(v)
		case 8:
			v, err = fixed64Field(&fc)
			r.end = int64(v)
		case 9:
			if p, err = lenField(&fc); err == nil {
				err = d.attr(p)
			}
		case 10, 12, 14: // dropped attributes, events and links counts
			_, err = varintField(&fc)
		case 11:
			p, err = lenField(&fc)
			evs = append(evs, p)
		case 13:
			p, err = lenField(&fc)
			lks = append(lks, p)
		case 15:
			if p, err = lenField(&fc); err == nil {
				err = status(p, &r, &statusMsg)
			}
		case 16:
			r.flags, err = fixed32Field(&fc)
		}
		if err != nil {
			return false, err
		}
	}
	d.events, d.links = evs, lks
	r.nAttrs = uint32(len(b.attrs))
	for _, e := range evs {
		if err := d.event(e); err != nil {
			return false, err
		}
	}
	for _, l := range lks {
		if err := d.link(l); err != nil {
			return false, err
		}
	}
	if !keep {
		return false, nil
	}
	if r.traceID.IsZero() || r.spanID.IsZero() {
		st.batch.reject(string(name))
		return false, nil
	}
	r.name = d.intern(name)
	r.traceState = b.bytes(traceState)
	r.statusMsg = b.bytes(statusMsg)
	seq := st.nextSeq()
	b.finish(&r, seq)
	st.batch.recs = append(st.batch.recs, r)
	return true, nil
}

// status reads a Status (message = 2, code = 3) into r, merging with what
// an earlier occurrence set.
func status(buf []byte, r *spanRec, msg *[]byte) error {
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return err
		}
		switch fc.FieldNum {
		case 2:
			*msg, err = lenField(&fc)
		case 3:
			var v uint64
			v, err = varintField(&fc)
			r.status = StatusCode(int32(v))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// event reads a Span.Event: time_unix_nano = 1, name = 2, attributes = 3,
// dropped_attributes_count = 4.
func (d *protoDecoder) event(buf []byte) error {
	b := &d.st.b
	e := eventRec{a0: uint32(len(b.attrs))}
	var name []byte
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return err
		}
		var v uint64
		var p []byte
		switch fc.FieldNum {
		case 1:
			v, err = fixed64Field(&fc)
			e.time = int64(v)
		case 2:
			name, err = lenField(&fc)
		case 3:
			if p, err = lenField(&fc); err == nil {
				err = d.attr(p)
			}
		case 4:
			_, err = varintField(&fc)
		}
		if err != nil {
			return err
		}
	}
	e.a1 = uint32(len(b.attrs))
	e.name = d.intern(name)
	b.events = append(b.events, e)
	return nil
}

// link reads a Span.Link: trace_id = 1, span_id = 2, trace_state = 3,
// attributes = 4, dropped_attributes_count = 5, flags = 6.
func (d *protoDecoder) link(buf []byte) error {
	b := &d.st.b
	l := linkRec{a0: uint32(len(b.attrs))}
	var traceState []byte
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return err
		}
		var p []byte
		switch fc.FieldNum {
		case 1:
			err = readID(l.traceID[:], &fc)
		case 2:
			err = readID(l.spanID[:], &fc)
		case 3:
			traceState, err = lenField(&fc)
		case 4:
			if p, err = lenField(&fc); err == nil {
				err = d.attr(p)
			}
		case 5:
			_, err = varintField(&fc)
		case 6:
			_, err = fixed32Field(&fc)
		}
		if err != nil {
			return err
		}
	}
	l.a1 = uint32(len(b.attrs))
	l.traceState = b.bytes(traceState)
	b.links = append(b.links, l)
	return nil
}

// anyVal is a decoded AnyValue: strings and bytes still in the request
// (raw), slices and maps already self-contained (tree).
type anyVal struct {
	kind ValueKind
	num  uint64
	raw  []byte
	tree Value
}

// owned returns the value as a self-contained Value.
func (v *anyVal) owned() Value {
	switch v.kind {
	case KindString:
		return StringValue(string(v.raw))
	case KindBytes:
		return BytesValue(v.raw)
	case KindSlice, KindMap:
		return v.tree
	}
	return Value{kind: v.kind, num: v.num}
}

// keyValue reads a KeyValue (key = 1, value = 2, key_strindex = 3) entered
// at depth; its value keeps merging into v.
func (d *protoDecoder) keyValue(buf []byte, depth int, v *anyVal) (key []byte, err error) {
	if depth >= maxDepth {
		return nil, errTooDeep
	}
	depth++
	var fc easyproto.FieldContext
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return nil, err
		}
		var p []byte
		switch fc.FieldNum {
		case 1:
			key, err = lenField(&fc)
		case 2:
			if p, err = lenField(&fc); err == nil {
				err = d.anyValue(p, depth, v)
			}
		case 3:
			_, err = varintField(&fc)
		}
		if err != nil {
			return nil, err
		}
	}
	return key, nil
}

// attr reads a span's, event's or link's attribute into the record.
func (d *protoDecoder) attr(buf []byte) error {
	var v anyVal
	key, err := d.keyValue(buf, 0, &v)
	if err != nil {
		return err
	}
	b := &d.st.b
	a := attr{key: d.intern(key), kind: v.kind}
	switch v.kind {
	case KindString, KindBytes:
		a.num = uint64(b.bytes(v.raw))
	case KindSlice, KindMap:
		a.num = b.tree(v.tree)
	default:
		a.num = v.num
	}
	b.addAttr(a)
	return nil
}

// ownedKV reads a KeyValue into a self-contained Attr: for resources,
// scopes and nested maps.
func (d *protoDecoder) ownedKV(buf []byte, depth int) (Attr, error) {
	var v anyVal
	key, err := d.keyValue(buf, depth, &v)
	if err != nil {
		return Attr{}, err
	}
	return Attr{Key: string(key), Value: v.owned()}, nil
}

// anyValue reads an AnyValue entered at depth into v: string = 1, bool = 2,
// int = 3, double = 4, array = 5, kvlist = 6, bytes = 7, and the profiles'
// string_value_strindex = 8, which pdata holds as an empty value. The last
// one wins.
func (d *protoDecoder) anyValue(buf []byte, depth int, v *anyVal) error {
	if depth >= maxDepth {
		return errTooDeep
	}
	depth++
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return err
		}
		var n uint64
		var p []byte
		switch fc.FieldNum {
		case 1:
			p, err = lenField(&fc)
			*v = anyVal{kind: KindString, raw: p}
		case 2:
			n, err = varintField(&fc)
			*v = anyVal{kind: KindBool, num: b2u(n != 0)}
		case 3:
			n, err = varintField(&fc)
			*v = anyVal{kind: KindInt, num: n}
		case 4:
			n, err = fixed64Field(&fc)
			*v = anyVal{kind: KindDouble, num: n}
		case 5:
			if p, err = lenField(&fc); err == nil {
				var list []Value
				list, err = d.array(p, depth)
				*v = anyVal{kind: KindSlice, tree: SliceValue(list...)}
			}
		case 6:
			if p, err = lenField(&fc); err == nil {
				var kvs Attributes
				kvs, err = d.kvList(p, depth)
				*v = anyVal{kind: KindMap, tree: MapValue(kvs)}
			}
		case 7:
			p, err = lenField(&fc)
			*v = anyVal{kind: KindBytes, raw: p}
		case 8:
			_, err = varintField(&fc)
			*v = anyVal{}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// array reads an ArrayValue (values = 1) entered at depth. Like pdata's, an
// empty array is an empty slice, not nil.
func (d *protoDecoder) array(buf []byte, depth int) ([]Value, error) {
	if depth >= maxDepth {
		return nil, errTooDeep
	}
	depth++
	list := []Value{}
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return nil, err
		}
		if fc.FieldNum == 1 {
			p, err := lenField(&fc)
			if err != nil {
				return nil, err
			}
			var v anyVal
			if err := d.anyValue(p, depth, &v); err != nil {
				return nil, err
			}
			list = append(list, v.owned())
		}
	}
	return list, nil
}

// kvList reads a KeyValueList (values = 1) entered at depth. Like pdata's,
// an empty map is nil.
func (d *protoDecoder) kvList(buf []byte, depth int) (Attributes, error) {
	if depth >= maxDepth {
		return nil, errTooDeep
	}
	depth++
	var kvs Attributes
	var fc easyproto.FieldContext
	var err error
	for src := buf; len(src) > 0; {
		if src, err = next(&fc, src); err != nil {
			return nil, err
		}
		if fc.FieldNum == 1 {
			p, err := lenField(&fc)
			if err != nil {
				return nil, err
			}
			a, err := d.ownedKV(p, depth)
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, a)
		}
	}
	return kvs, nil
}
