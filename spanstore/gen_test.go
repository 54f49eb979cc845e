package spanstore

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/protobuf/encoding/protowire"
)

// generate turns fuzz bytes into a valid OTLP request: pdata builds and
// encodes it, covering every field pdata knows (links, events, trace state,
// flags, status, dropped counts, schema URLs, every AnyValue kind nested,
// empty and zero values, invalid UTF-8), and a rewriter then changes its
// encoding without changing what it means to protobuf (unknown fields of
// every wire type, fields reordered, message fields split in two
// occurrences, scalars written twice, explicit zero values, the deprecated
// scope spans field). groups reports that it inserted a protobuf group,
// which the direct decoder leaves to pdata.
func generate(data []byte) (body []byte, groups bool) {
	c := &chooser{b: data}
	td := ptrace.NewTraces()
	for range c.n(4) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl(c.str())
		c.attrs(rs.Resource().Attributes(), 0)
		rs.Resource().SetDroppedAttributesCount(c.small())
		for range c.n(3) {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.SetSchemaUrl(c.str())
			ss.Scope().SetName(c.str())
			ss.Scope().SetVersion(c.str())
			c.attrs(ss.Scope().Attributes(), 0)
			ss.Scope().SetDroppedAttributesCount(c.small())
			for range c.n(4) {
				c.span(ss.Spans().AppendEmpty())
			}
		}
	}
	enc, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	w := rewriter{c: c}
	return w.message("req", enc), w.groups
}

// chooser reads choices from fuzz bytes; past their end every choice is 0.
type chooser struct{ b []byte }

func (c *chooser) byte() byte {
	if len(c.b) == 0 {
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *chooser) n(k int) int { return int(c.byte()) % k }

func (c *chooser) u64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = c.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

// small is a count that is usually 0 and sometimes anything.
func (c *chooser) small() uint32 {
	if c.n(4) == 0 {
		return uint32(c.u64())
	}
	return 0
}

// Words spans use, so that keys, names and correlation values repeat.
var genWords = []string{"correlation_id", "task_uuid", "service.name", "service.instance.id", "host.name",
	"route_event", "publish_event", "order-A1", "order-B2", "tasker-core", "worker-rust-1", "k=v,a=b"}

func (c *chooser) str() string {
	switch c.n(8) {
	case 0, 1:
		return ""
	case 2:
		return "\xff\xfe\xc3" + genWords[c.n(len(genWords))] // invalid UTF-8
	case 3:
		b := make([]byte, c.n(24))
		for i := range b {
			b[i] = c.byte()
		}
		return string(b)
	case 4:
		return strings.Repeat("long ", 20+c.n(60))
	}
	return genWords[c.n(len(genWords))]
}

func (c *chooser) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	switch c.n(8) {
	case 0: // invalid: all zero
	case 1, 2, 3:
		id[0], id[15] = 0x7b, byte(1+c.n(3)) // a few traces that spans share
	default:
		binary.LittleEndian.PutUint64(id[:], c.u64())
		id[15] = 1
	}
	return id
}

func (c *chooser) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	if c.n(8) != 0 {
		binary.LittleEndian.PutUint64(id[:], c.u64()|1)
	}
	return id
}

func (c *chooser) attrs(m pcommon.Map, depth int) {
	for range c.n(5) {
		c.value(m.PutEmpty(c.str()), depth)
	}
	if depth == 0 && c.n(200) == 0 {
		// A chain of arrays around pdata's nesting limit: 49 levels decode,
		// 50 do not.
		v := m.PutEmpty("deep")
		for range 45 + c.n(10) {
			v = v.SetEmptySlice().AppendEmpty()
		}
		v.SetStr("bottom")
	}
}

func (c *chooser) value(v pcommon.Value, depth int) {
	switch c.n(8) {
	case 0: // empty
	case 1:
		v.SetStr(c.str())
	case 2:
		v.SetBool(c.n(2) == 1)
	case 3:
		v.SetInt(int64(c.u64()))
	case 4:
		if c.n(2) == 0 {
			v.SetDouble(math.Float64frombits(c.u64())) // NaNs with payloads, -0, ...
		} else {
			v.SetDouble(float64(c.n(5)) / 4)
		}
	case 5:
		b := make([]byte, c.n(12))
		for i := range b {
			b[i] = c.byte()
		}
		v.SetEmptyBytes().FromRaw(b)
	case 6:
		s := v.SetEmptySlice()
		if depth < 5 {
			for range c.n(4) {
				c.value(s.AppendEmpty(), depth+1)
			}
		}
	case 7:
		m := v.SetEmptyMap()
		if depth < 5 {
			c.attrs(m, depth+1)
		}
	}
}

func (c *chooser) span(sp ptrace.Span) {
	sp.SetTraceID(c.traceID())
	sp.SetSpanID(c.spanID())
	sp.SetParentSpanID(c.spanID())
	sp.TraceState().FromRaw(c.str())
	sp.SetFlags(uint32(c.u64()))
	sp.SetName(c.str())
	sp.SetKind(ptrace.SpanKind(int32(c.u64())))
	sp.SetStartTimestamp(pcommon.Timestamp(c.u64()))
	sp.SetEndTimestamp(pcommon.Timestamp(c.u64()))
	c.attrs(sp.Attributes(), 0)
	sp.SetDroppedAttributesCount(c.small())
	for range c.n(3) {
		e := sp.Events().AppendEmpty()
		e.SetTimestamp(pcommon.Timestamp(c.u64()))
		e.SetName(c.str())
		c.attrs(e.Attributes(), 0)
		e.SetDroppedAttributesCount(c.small())
	}
	sp.SetDroppedEventsCount(c.small())
	for range c.n(3) {
		l := sp.Links().AppendEmpty()
		l.SetTraceID(c.traceID())
		l.SetSpanID(c.spanID())
		l.TraceState().FromRaw(c.str())
		c.attrs(l.Attributes(), 0)
		l.SetDroppedAttributesCount(c.small())
		l.SetFlags(uint32(c.u64()))
	}
	sp.SetDroppedLinksCount(c.small())
	sp.Status().SetCode(ptrace.StatusCode(int32(c.u64() % 5)))
	sp.Status().SetMessage(c.str())
}

// The message fields of a trace request, by message: the rewriter descends
// into these.
var genChildren = map[string]map[protowire.Number]string{
	"req":    {1: "rs"},
	"rs":     {1: "res", 2: "ss", 1000: "ss"},
	"res":    {1: "kv"},
	"ss":     {1: "scope", 2: "span"},
	"scope":  {3: "kv"},
	"span":   {9: "kv", 11: "event", 13: "link", 15: "status"},
	"event":  {3: "kv"},
	"link":   {4: "kv"},
	"kv":     {2: "any"},
	"any":    {5: "array", 6: "kvlist"},
	"array":  {1: "any"},
	"kvlist": {1: "kv"},
}

// Message fields protobuf merges when they occur twice: the rewriter may
// split them.
var genMergeable = map[string]bool{"res": true, "scope": true, "status": true, "any": true}

// rewriter re-encodes a request with changes protobuf semantics ignore.
type rewriter struct {
	c      *chooser
	groups bool
}

type wireField struct {
	num  protowire.Number
	body []byte // the encoded field: tag and value
}

func (w *rewriter) message(typ string, buf []byte) []byte {
	c := w.c
	var fields []wireField
	for len(buf) > 0 {
		num, wt, n := protowire.ConsumeTag(buf)
		m := protowire.ConsumeFieldValue(num, wt, buf[n:])
		if n < 0 || m < 0 {
			panic("rewriter: pdata wrote a malformed message")
		}
		f := wireField{num: num, body: buf[:n+m]}
		if child, ok := genChildren[typ][num]; ok && wt == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(buf[n:])
			if typ == "rs" && num == 2 && c.n(16) == 0 {
				num = 1000 // the deprecated field; counts only if no field 2 is left
			}
			sub := w.message(child, v)
			if genMergeable[child] && c.n(6) == 0 {
				// Two occurrences, merged by the decoder: a prefix of the
				// fields, then the rest.
				parts := splitFields(sub, c.n(3))
				f.body = protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), parts[0])
				fields = append(fields, wireField{num: num, body: f.body})
				sub = parts[1]
			}
			f.body = protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), sub)
			f.num = num
		}
		fields = append(fields, f)
		buf = buf[n+m:]
	}
	if c.n(6) == 0 {
		// Reorder fields, keeping the order among fields of one number.
		rank := map[protowire.Number]byte{}
		for _, f := range fields {
			if _, ok := rank[f.num]; !ok {
				rank[f.num] = c.byte()
			}
		}
		slices.SortStableFunc(fields, func(a, b wireField) int { return int(rank[a.num]) - int(rank[b.num]) })
	}
	var out []byte
	if typ == "span" && c.n(6) == 0 {
		// Scalars written twice: the first occurrence is overwritten when the
		// span has the field, and stands when it has not.
		out = protowire.AppendBytes(protowire.AppendTag(out, 5, protowire.BytesType), []byte(c.str()))
		out = protowire.AppendVarint(protowire.AppendTag(out, 6, protowire.VarintType), 0)
		out = protowire.AppendBytes(protowire.AppendTag(out, 3, protowire.BytesType), nil)
	}
	for _, f := range fields {
		if c.n(10) == 0 {
			out = w.unknown(out)
		}
		out = append(out, f.body...)
	}
	if c.n(10) == 0 {
		out = w.unknown(out)
	}
	return out
}

// unknown appends a field no OTLP message has.
func (w *rewriter) unknown(b []byte) []byte {
	num := protowire.Number(100 + w.c.n(20))
	switch w.c.n(9) {
	case 0:
		return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), w.c.u64())
	case 1:
		return protowire.AppendFixed32(protowire.AppendTag(b, num, protowire.Fixed32Type), uint32(w.c.u64()))
	case 2:
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), []byte(w.c.str()))
	case 3:
		if w.c.n(4) == 0 {
			// pdata skips empty groups, nested or not, but refuses one
			// that ends its message or holds a field (its ConsumeUnknown
			// stops early); the direct decoder leaves every group to pdata.
			w.groups = true
			b = protowire.AppendTag(b, num, protowire.StartGroupType)
			if w.c.n(2) == 0 {
				b = protowire.AppendTag(protowire.AppendTag(b, num+1, protowire.StartGroupType), num+1, protowire.EndGroupType)
			}
			return protowire.AppendTag(b, num, protowire.EndGroupType)
		}
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), w.c.u64()>>w.c.n(64))
}

// splitFields splits an encoded message after its k-th field (or at its end).
func splitFields(msg []byte, k int) [2][]byte {
	at := 0
	for i := 0; i < k && at < len(msg); i++ {
		num, wt, n := protowire.ConsumeTag(msg[at:])
		at += n + protowire.ConsumeFieldValue(num, wt, msg[at+n:])
	}
	return [2][]byte{msg[:at], msg[at:]}
}
