package spanstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/traceproof/traceproof/bench/spangen"
)

// FuzzIngestProto is the differential test of the direct decoder against
// pdata's. Each input is used twice:
//
//   - as a request, as it is: arbitrary bytes, mutated by the fuzzer from the
//     seeds (valid requests among them). Both decoders must accept or both
//     refuse it, and two stores fed the same requests must end up the same
//     (differential_test.go: spans, indexes, Stats);
//   - as the choices of a valid request that pdata builds and encodes,
//     re-encoded in ways protobuf ignores (gen_test.go). The same holds, and
//     more: the direct decoder must accept it alone, unless it is nested too
//     deep (both refuse) or holds a protobuf group (left to pdata, which
//     refuses some of them).
//
// Each request is ingested twice after a warm-up request from spangen, so
// that the caches of the resource and scope seen last take part, into stores
// capped at 5 spans, so that eviction and slab reuse do.
//
//	go test -run='^$' -fuzz=FuzzIngestProto -fuzztime=2m -fuzzminimizetime=5s ./spanstore/
//
// The seeds in testdata/fuzz/FuzzIngestProto run with every go test, and
// so does every finding saved there.
func FuzzIngestProto(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	warm := spangen.New(2).Request(7)
	f.Fuzz(func(t *testing.T, data []byte) {
		diffFuzz(t, warm, data)

		body, groups := generate(data)
		v := diffFuzz(t, warm, body)
		switch {
		case groups:
			// pdata refuses some groups (one at the end of a message, one
			// with a field inside); the agreement is all that is asked.
		case v.err != nil && !errors.Is(v.err, errTooDeep):
			t.Fatalf("a request pdata encoded was refused: %v\nrequest: %x", v.err, body)
		case v.deferred:
			t.Fatalf("the direct decoder left a request pdata encoded to pdata\nrequest: %x", body)
		}
	})
}

// fuzzSeeds are valid requests of each shape the unit tests build, and a
// few byte patterns for the generator to start from.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		nil,
		spangen.New(1).Request(0),
		spangen.New(3).Request(1),
		request(span(1, 1, "a").sub(fSpanEvents, msg{}.str(fEventName, "e").sub(fEventAttrs, kvStr("correlation_id", "c"))).
			sub(fSpanLinks, msg{}.bytes(fLinkTraceID, id16(2)).bytes(fLinkSpanID, id8(2)).str(fLinkState, "k=v")).
			sub(fSpanStatus, msg{}.str(fStatusMessage, "m").varint(fStatusCode, 2))),
		request(span(1, 2, "n").sub(fSpanAttrs, msg{}.str(fKVKey, "k").sub(fKVValue, nested(3, false))).
			sub(fSpanAttrs, msg{}.str(fKVKey, "m").sub(fKVValue, nested(3, true)))),
		msg{}.sub(fReqResourceSpans, msg{}.sub(fRSDeprecated, msg{}.sub(fSSSpans, span(1, 3, "old")))),
		request(span(1, 4, "g").tag(60, 3).varint(1, 5).tag(60, 4)),
	}
	for i := range 8 {
		b := make([]byte, 64+32*i)
		for j := range b {
			b[j] = byte(j*(2*i+3) + i)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// diffFuzz is diffCase made cheap enough for fuzzing: one pair of stores
// capped at 5 spans, fed warm, body and body again. It returns the direct
// verdict on body.
func diffFuzz(t testing.TB, warm, body []byte) verdict {
	t.Helper()
	ref, direct := New(WithMaxSpans(5)), New(WithMaxSpans(5))
	var v verdict
	for i, b := range [][]byte{warm, body, body} {
		v = ingestBoth(t, ref, direct, b)
		sameStores(t, ref, direct, fmt.Sprintf("after request %d of 3", i+1))
	}
	return v
}
