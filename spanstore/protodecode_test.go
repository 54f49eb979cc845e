package spanstore

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/traceproof/traceproof/bench/spangen"
)

// Unit tests of the direct decoder against pdata, on requests built to hit
// one rule each. FuzzIngestProto (fuzz_test.go) covers the rest.

// wantDirect runs bodies through both decoders and fails unless the direct
// one decided each alone and accepted it.
func wantDirect(t *testing.T, bodies ...[]byte) {
	t.Helper()
	for i, v := range diffCase(t, bodies...) {
		if v.err != nil || v.deferred {
			t.Fatalf("request %d: want the direct decoder to accept it alone; deferred=%v err=%v", i+1, v.deferred, v.err)
		}
	}
}

// wantRefused runs body through both decoders (which must agree) and fails
// unless it was refused.
func wantRefused(t *testing.T, body []byte) verdict {
	t.Helper()
	v := diffCase(t, body)[0]
	if v.err == nil {
		t.Fatalf("want the request refused; it was accepted: %+v", v.res)
	}
	return v
}

func TestDirectDecodesSpangenRequests(t *testing.T) {
	for _, n := range []int{1, 3, 100} {
		tpl := spangen.New(n)
		wantDirect(t, tpl.Request(0), tpl.Request(1), tpl.Request(1))
	}
	st := New()
	if _, err := st.IngestProto(spangen.New(8).Request(0), diffOrigin); err != nil {
		t.Fatal(err)
	}
	if got := len(st.Correlated(spangen.CorrelationID(0))); got != 8 {
		t.Fatalf("%d spans correlated with task 0, want 8", got)
	}
}

func TestDirectEmptyAndZeroValues(t *testing.T) {
	wantDirect(t,
		nil,                               // an empty request
		msg{}.sub(fReqResourceSpans, nil), // an empty ResourceSpans
		msg{}.sub(fReqResourceSpans, msg{}.sub(fRSScopeSpans, nil)),         // an empty ScopeSpans
		msg{}.sub(fReqResourceSpans, msg{}.sub(fRSResource, nil)),           // an empty Resource
		request(span(1, 1, "").varint(fSpanKind, 0).fixed64(fSpanStart, 0)), // explicit zero values
		request(msg{}.bytes(fSpanTraceID, nil).bytes(fSpanSpanID, id8(1))),  // an empty trace ID: all zero, rejected
		request(span(2, 2, "a").sub(fSpanAttrs, nil).sub(fSpanEvents, nil).sub(fSpanLinks, nil).sub(fSpanStatus, nil)),
		request(span(3, 3, "b").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, nil))),                         // empty AnyValue
		request(span(4, 4, "c").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.sub(fAnyArray, nil)))),   // empty array
		request(span(5, 5, "d").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.sub(fAnyKVList, nil)))),  // empty map
		request(span(6, 6, "e").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.bytes(fAnyBytes, nil)))), // empty bytes
	)
}

func TestDirectZeroIDsArePartialSuccess(t *testing.T) {
	body := request(span(1, 1, "ok"), msg{}.bytes(fSpanSpanID, id8(2)).str(fSpanName, "no trace"), msg{}.bytes(fSpanTraceID, id16(3)).str(fSpanName, "no span"))
	v := diffCase(t, body)[0]
	want := IngestResult{Accepted: 1, Rejected: 2, RejectReason: `span "no trace" has an all-zero trace or span ID`}
	if v.res != want || v.deferred {
		t.Fatalf("got %+v (deferred %v), want %+v", v.res, v.deferred, want)
	}
}

// Protobuf merges a message field that occurs twice and keeps the last of a
// scalar; fields may come in any order.
func TestDirectMergeAndOrder(t *testing.T) {
	attr := kvStr("a", "1")
	ev := msg{}.str(fEventName, "ev").sub(fEventAttrs, kvStr("correlation_id", "c-ev"))
	cases := map[string][]byte{
		"resource twice": msg{}.sub(fReqResourceSpans, msg{}.
			sub(fRSResource, msg{}.sub(fResAttrs, kvStr("service.name", "svc"))).
			sub(fRSScopeSpans, msg{}.sub(fSSSpans, span(1, 1, "x"))).
			sub(fRSResource, msg{}.sub(fResAttrs, kvStr("service.instance.id", "i-2")).varint(fResDropped, 3))),
		"resource after spans, schema first": msg{}.sub(fReqResourceSpans, msg{}.
			str(fRSSchemaURL, "https://opentelemetry.io/schemas/1.26.0").
			sub(fRSScopeSpans, msg{}.sub(fSSSpans, span(1, 2, "y"))).
			sub(fRSResource, resource("i-3"))),
		"scope twice": msg{}.sub(fReqResourceSpans, msg{}.sub(fRSScopeSpans, msg{}.
			sub(fSSScope, msg{}.str(fScopeName, "n1").str(fScopeVersion, "v1").sub(fScopeAttrs, attr)).
			sub(fSSSpans, span(1, 3, "z")).
			sub(fSSScope, msg{}.str(fScopeName, "n2").sub(fScopeAttrs, kvStr("b", "2"))).
			str(fSSSchemaURL, "s"))),
		"status twice": request(span(1, 4, "s").
			sub(fSpanStatus, msg{}.str(fStatusMessage, "first").varint(fStatusCode, 2)).
			sub(fSpanStatus, msg{}.str(fStatusMessage, "second"))),
		"name and IDs twice":                    request(span(9, 9, "old").str(fSpanName, "new").bytes(fSpanTraceID, id16(1)).bytes(fSpanParentID, id8(7)).bytes(fSpanParentID, nil)),
		"trace ID cleared by a later empty one": request(span(1, 5, "cleared").bytes(fSpanTraceID, nil)),
		"value twice, the second empty":         request(span(1, 6, "v").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.varint(fAnyInt, 7)).sub(fKVValue, nil))),
		"value twice, the second set":           request(span(1, 7, "v").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.varint(fAnyInt, 7)).sub(fKVValue, msg{}.str(fAnyString, "s")))),
		"oneof twice in one value":              request(span(1, 8, "v").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.sub(fAnyArray, msg{}.sub(1, msg{}.varint(fAnyBool, 1))).fixed64(fAnyDouble, 0x7ff8000000000001)))),
		"attributes after events and links": request(span(1, 10, "late attrs").sub(fSpanEvents, ev).
			sub(fSpanLinks, msg{}.bytes(fLinkTraceID, id16(4)).bytes(fLinkSpanID, id8(4)).str(fLinkState, "k=v").sub(fLinkAttrs, kvStr("correlation_id", "c-link")).fixed32(fLinkFlags, 1)).
			sub(fSpanAttrs, kvStr("correlation_id", "c-span")).sub(fSpanEvents, ev)),
		"duplicate keys": request(span(1, 11, "dup").sub(fSpanAttrs, kvStr("k", "1")).sub(fSpanAttrs, kvStr("k", "2"))),
		"string repeated in the span": request(span(1, 12, "rep").sub(fSpanAttrs, kvStr("correlation_id", "same")).
			sub(fSpanEvents, msg{}.sub(fEventAttrs, kvStr("correlation_id", "same")).sub(fEventAttrs, kvStr("x", "same")))),
		"deprecated scope spans only": msg{}.sub(fReqResourceSpans, msg{}.sub(fRSResource, resource("old-sdk")).
			sub(fRSDeprecated, msg{}.sub(fSSSpans, span(1, 13, "from 1000")))),
		"deprecated scope spans beside current ones": msg{}.sub(fReqResourceSpans, msg{}.
			sub(fRSDeprecated, msg{}.sub(fSSSpans, span(1, 14, "ignored"))).
			sub(fRSScopeSpans, msg{}.sub(fSSSpans, span(1, 15, "kept")))),
		"kind, status and timestamps out of range": request(span(1, 16, "odd").varint(fSpanKind, 1<<40|3).
			sub(fSpanStatus, msg{}.varint(fStatusCode, 1<<63)).fixed64(fSpanStart, 1<<63+5).fixed64(fSpanEnd, ^uint64(0)).fixed32(fSpanFlags, ^uint32(0))),
		"profiles' string indexes": request(span(1, 17, "strindex").sub(fSpanAttrs, msg{}.str(fKVKey, "k").varint(3, 9).
			sub(fKVValue, msg{}.str(fAnyString, "replaced").varint(fAnyStrIdx, 4)))),
		"entity refs": msg{}.sub(fReqResourceSpans, msg{}.sub(fRSResource, resource("e").
			sub(fResEntity, msg{}.str(1, "schema").str(2, "service").str(3, "service.name").str(4, "k8s.pod.name").str(3, "x"))).
			sub(fRSScopeSpans, msg{}.sub(fSSSpans, span(1, 18, "e")))),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) { wantDirect(t, body) })
	}
}

func TestDirectInvalidUTF8IsStoredAsIs(t *testing.T) {
	bad := "\xff\xfe\x00 not utf-8 \xc3"
	body := request(span(1, 1, bad).sub(fSpanAttrs, kvStr(bad, bad)).sub(fSpanAttrs,
		msg{}.str(fKVKey, "nested").sub(fKVValue, msg{}.sub(fAnyKVList, msg{}.sub(1, kvStr(bad, bad))))))
	wantDirect(t, body)
	st := New()
	if _, err := st.IngestProto(body, diffOrigin); err != nil {
		t.Fatal(err)
	}
	s := st.Spans(Filter{})[0]
	nested, _ := s.Attributes.Get("nested")
	if v, _ := s.Attributes.Get(bad); s.Name != bad || v.Str() != bad || nested.Map()[0].Key != bad || nested.Map()[0].Value.Str() != bad {
		t.Fatalf("invalid UTF-8 was changed: name %q, attributes %v", s.Name, s.Attributes)
	}
}

func TestDirectUnknownFields(t *testing.T) {
	unknown := func(m msg) msg {
		return m.varint(50, 1).fixed64(51, 2).fixed32(52, 3).str(53, "four").raw()
	}
	body := unknown(msg{}.sub(fReqResourceSpans, unknown(msg{}.
		sub(fRSResource, unknown(resource("u"))).
		sub(fRSScopeSpans, unknown(msg{}.
			sub(fSSScope, unknown(msg{}.str(fScopeName, "s"))).
			sub(fSSSpans, unknown(span(1, 1, "u").
				sub(fSpanAttrs, unknown(msg{}.str(fKVKey, "k").sub(fKVValue, unknown(msg{}.sub(fAnyArray, unknown(msg{}.sub(1, unknown(msg{}.str(fAnyString, "deep")))))))).
					sub(fSpanEvents, unknown(msg{}.str(fEventName, "e"))).
					sub(fSpanLinks, unknown(msg{}.bytes(fLinkTraceID, id16(2)))).
					sub(fSpanStatus, unknown(msg{}.varint(fStatusCode, 1).varint(1, 5)))))))))))
	wantDirect(t, body)
}

// Encodings pdata reads and the direct decoder leaves to it: the result is
// pdata's either way.
func TestDirectDefersExoticEncodings(t *testing.T) {
	overlong := func(v byte) []byte { // ten bytes, bits past the 64th set
		return []byte{0x80 | v, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7e}
	}
	cases := []struct {
		name     string
		body     []byte
		accepted bool // by pdata
	}{
		// pdata skips empty groups, but refuses a group with a field in it
		// or one that ends its message (its ConsumeUnknown stops early).
		{"empty group", request(span(1, 1, "g").tag(60, 3).tag(60, 4).varint(fSpanKind, 1)), true},
		{"nested empty groups", request(span(1, 2, "g").tag(60, 3).tag(61, 3).tag(61, 4).tag(60, 4).varint(fSpanKind, 1)), true},
		{"group ending its message", request(span(1, 3, "g").tag(60, 3).tag(60, 4)), false},
		{"group with a field", request(span(1, 4, "g").tag(60, 3).varint(1, 5).tag(60, 4).varint(fSpanKind, 1)), false},
		{"overlong varint", request(span(1, 5, "v").tag(fSpanKind, 0).raw(overlong(2)...)), true},
		{"field number 2^32+5 reads as 5 in pdata", request(span(1, 6, "n").raw(protowire.AppendVarint(nil, (1<<32+5)<<3|2)...).raw(1, 'x')), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := diffCase(t, c.body)[0]
			if !v.deferred {
				t.Fatalf("want the request left to pdata; err=%v", v.err)
			}
			if (v.err == nil) != c.accepted {
				t.Fatalf("pdata accepted=%v, want %v (err %v)", v.err == nil, c.accepted, v.err)
			}
		})
	}
}

func TestDirectRefusesWhatPdataRefuses(t *testing.T) {
	cases := map[string][]byte{
		"garbage":                 {0xff, 0xff, 0xff, 0x01, 0x02},
		"field number 0":          msg{}.raw(0x02, 0x00),
		"field number 2^31":       msg{}.raw(protowire.AppendVarint(nil, 1<<31<<3)...).raw(0),
		"truncated length":        msg{}.raw(0x0a, 0x05, 0x01),
		"end group at top":        msg{}.tag(5, 4),
		"wire type 7":             msg{}.raw(0x0f),
		"short trace ID":          request(msg{}.bytes(fSpanTraceID, []byte{1, 2, 3}).bytes(fSpanSpanID, id8(1))),
		"long span ID":            request(msg{}.bytes(fSpanTraceID, id16(1)).bytes(fSpanSpanID, make([]byte, 9))),
		"short parent ID":         request(span(1, 1, "p").bytes(fSpanParentID, []byte{1})),
		"short link ID":           request(span(1, 1, "l").sub(fSpanLinks, msg{}.bytes(fLinkSpanID, []byte{1}))),
		"name as varint":          request(span(1, 1, "").varint(fSpanName, 1)),
		"flags as varint":         request(span(1, 1, "f").varint(fSpanFlags, 1)),
		"start as varint":         request(span(1, 1, "t").varint(fSpanStart, 1)),
		"kind as fixed32":         request(span(1, 1, "k").fixed32(fSpanKind, 1)),
		"dropped count as bytes":  request(span(1, 1, "d").str(fSpanDropAttrs, "x")),
		"event time as varint":    request(span(1, 1, "e").sub(fSpanEvents, msg{}.varint(fEventTime, 1))),
		"link flags as varint":    request(span(1, 1, "l").sub(fSpanLinks, msg{}.varint(fLinkFlags, 1))),
		"status code as bytes":    request(span(1, 1, "s").sub(fSpanStatus, msg{}.str(fStatusCode, "x"))),
		"key as varint":           request(span(1, 1, "k").sub(fSpanAttrs, msg{}.varint(fKVKey, 1))),
		"double as varint":        request(span(1, 1, "v").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.varint(fAnyDouble, 1)))),
		"bool as fixed64":         request(span(1, 1, "v").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, msg{}.fixed64(fAnyBool, 1)))),
		"resource as varint":      msg{}.sub(fReqResourceSpans, msg{}.varint(fRSResource, 1)),
		"entity type as varint":   msg{}.sub(fReqResourceSpans, msg{}.sub(fRSResource, msg{}.sub(fResEntity, msg{}.varint(2, 1)))),
		"scope schema as varint":  msg{}.sub(fReqResourceSpans, msg{}.sub(fRSScopeSpans, msg{}.varint(fSSSchemaURL, 1))),
		"scope name as varint":    msg{}.sub(fReqResourceSpans, msg{}.sub(fRSScopeSpans, msg{}.sub(fSSScope, msg{}.varint(fScopeName, 1)))),
		"resource spans as fixed": msg{}.fixed64(fReqResourceSpans, 1),
		// A bad span under the deprecated field is refused although its
		// spans would not be stored.
		"bad ignored deprecated span": msg{}.sub(fReqResourceSpans, msg{}.sub(fRSScopeSpans, msg{}.sub(fSSSpans, span(1, 1, "ok"))).
			sub(fRSDeprecated, msg{}.sub(fSSSpans, msg{}.bytes(fSpanTraceID, []byte{1})))),
		// A bad second request part after a good one: nothing is stored.
		"bad after good": append(request(span(1, 1, "good")), msg{}.sub(fReqResourceSpans, msg{}.sub(fRSScopeSpans, msg{}.sub(fSSSpans, msg{}.varint(fSpanName, 1))))...),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) { wantRefused(t, body) })
	}
}

// nested wraps a string value in levels arrays (or maps) in a span
// attribute: the innermost AnyValue is entered at depth 2*levels+1.
func nested(levels int, maps bool) msg {
	v := msg{}.str(fAnyString, "bottom")
	for range levels {
		if maps {
			v = msg{}.sub(fAnyKVList, msg{}.sub(1, msg{}.str(fKVKey, "k").sub(fKVValue, v)))
		} else {
			v = msg{}.sub(fAnyArray, msg{}.sub(1, v))
		}
	}
	return v
}

func TestDirectNestingLimitIsPdatas(t *testing.T) {
	where := map[string]func(v msg) []byte{
		"span": func(v msg) []byte {
			return request(span(1, 1, "deep").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, v)))
		},
		"event": func(v msg) []byte {
			return request(span(1, 1, "deep").sub(fSpanEvents, msg{}.sub(fEventAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, v))))
		},
		"resource": func(v msg) []byte {
			return msg{}.sub(fReqResourceSpans, msg{}.sub(fRSResource, msg{}.sub(fResAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, v))))
		},
	}
	for name, wrap := range where {
		for _, maps := range []bool{false, true} {
			// An array level is two messages (AnyValue, ArrayValue), a map
			// level three (AnyValue, KeyValueList, KeyValue).
			ok, tooDeep := 49, 50
			if maps {
				ok, tooDeep = 32, 33
			}
			t.Run(fmt.Sprintf("%s/maps=%v", name, maps), func(t *testing.T) {
				wantDirect(t, wrap(nested(ok, maps)))
				v := wantRefused(t, wrap(nested(tooDeep, maps)))
				if !errors.Is(v.err, errTooDeep) || v.deferred {
					t.Fatalf("want the direct decoder's own depth error; got %v (deferred %v)", v.err, v.deferred)
				}
			})
		}
	}
	// Deeper nesting is refused at the limit, however deep it goes: the
	// decoder never recurses past it.
	if _, err := New().IngestProto(where["span"](nested(5000, false)), diffOrigin); !errors.Is(err, errTooDeep) {
		t.Fatalf("a value nested 5000 levels: got %v, want the depth error", err)
	}
	if !strings.Contains(errTooDeep.Error(), "100") {
		t.Fatalf("the depth error does not name the limit: %v", errTooDeep)
	}
}

// Every prefix and every single-byte change of a small request: the two
// decoders agree on each.
func TestDirectTruncationsAndByteFlips(t *testing.T) {
	body := spangen.New(1).Request(0)
	for n := range len(body) {
		diffCase(t, body[:n])
	}
	for i := range body {
		for _, b := range []byte{0x00, 0xff, 0x80, body[i] + 1, body[i] ^ 0x07} {
			m := bytes.Clone(body)
			m[i] = b
			diffCase(t, m)
		}
	}
}
