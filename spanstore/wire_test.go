package spanstore

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// msg builds protobuf messages field by field, for requests pdata's encoder
// would never write: fields out of order, twice, of the wrong wire type,
// unknown, or not well formed.
type msg []byte

func (m msg) tag(num protowire.Number, typ protowire.Type) msg {
	return protowire.AppendTag(m, num, typ)
}

func (m msg) bytes(num protowire.Number, b []byte) msg {
	return protowire.AppendBytes(m.tag(num, protowire.BytesType), b)
}

func (m msg) str(num protowire.Number, s string) msg { return m.bytes(num, []byte(s)) }
func (m msg) sub(num protowire.Number, child msg) msg {
	return m.bytes(num, child)
}

func (m msg) varint(num protowire.Number, v uint64) msg {
	return protowire.AppendVarint(m.tag(num, protowire.VarintType), v)
}

func (m msg) fixed64(num protowire.Number, v uint64) msg {
	return protowire.AppendFixed64(m.tag(num, protowire.Fixed64Type), v)
}

func (m msg) fixed32(num protowire.Number, v uint32) msg {
	return protowire.AppendFixed32(m.tag(num, protowire.Fixed32Type), v)
}

func (m msg) raw(b ...byte) msg { return append(m, b...) }

// Field numbers of the OTLP messages the tests build.
const (
	fReqResourceSpans = 1

	fRSResource   = 1
	fRSScopeSpans = 2
	fRSSchemaURL  = 3
	fRSDeprecated = 1000

	fResAttrs   = 1
	fResDropped = 2
	fResEntity  = 3

	fSSScope     = 1
	fSSSpans     = 2
	fSSSchemaURL = 3

	fScopeName    = 1
	fScopeVersion = 2
	fScopeAttrs   = 3

	fSpanTraceID    = 1
	fSpanSpanID     = 2
	fSpanTraceState = 3
	fSpanParentID   = 4
	fSpanName       = 5
	fSpanKind       = 6
	fSpanStart      = 7
	fSpanEnd        = 8
	fSpanAttrs      = 9
	fSpanDropAttrs  = 10
	fSpanEvents     = 11
	fSpanLinks      = 13
	fSpanStatus     = 15
	fSpanFlags      = 16

	fEventTime  = 1
	fEventName  = 2
	fEventAttrs = 3

	fLinkTraceID = 1
	fLinkSpanID  = 2
	fLinkState   = 3
	fLinkAttrs   = 4
	fLinkFlags   = 6

	fStatusMessage = 2
	fStatusCode    = 3

	fKVKey   = 1
	fKVValue = 2

	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKVList = 6
	fAnyBytes  = 7
	fAnyStrIdx = 8
)

// ids16 and ids8 are IDs whose first byte is b.
func id16(b byte) []byte { id := make([]byte, 16); id[0], id[15] = b, 1; return id }
func id8(b byte) []byte  { id := make([]byte, 8); id[0], id[7] = b, 2; return id }

// span is a minimal valid Span message.
func span(trace, sid byte, name string) msg {
	return msg{}.bytes(fSpanTraceID, id16(trace)).bytes(fSpanSpanID, id8(sid)).str(fSpanName, name)
}

func kvStr(key, val string) msg {
	return msg{}.str(fKVKey, key).sub(fKVValue, msg{}.str(fAnyString, val))
}

// resource is a Resource message of a worker.
func resource(instance string) msg {
	return msg{}.sub(fResAttrs, kvStr("service.name", "tasker-core")).sub(fResAttrs, kvStr("service.instance.id", instance))
}

// request wraps spans into an ExportTraceServiceRequest with one resource
// and one scope.
func request(spans ...msg) []byte {
	ss := msg{}.sub(fSSScope, msg{}.str(fScopeName, "test"))
	for _, s := range spans {
		ss = ss.sub(fSSSpans, s)
	}
	rs := msg{}.sub(fRSResource, resource("worker-1")).sub(fRSScopeSpans, ss)
	return msg{}.sub(fReqResourceSpans, rs)
}
