package spanstore

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// The direct decoder (IngestProto) is held to the reference, pdata's
// UnmarshalProto followed by Ingest: fed the same requests, two stores must
// hold the same spans (every field of the materialized Span, Seq and Received
// included: both get the same clock), the same indexes and the same Stats,
// and both decoders must accept or refuse each request alike.

var diffOrigin = Origin{Sender: "127.0.0.1:4317", Transport: TransportGRPC, Encoding: EncodingProto}

// diffClock is the arrival time both stores see.
var diffClock = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// verdict is what one decoder made of one request.
type verdict struct {
	res IngestResult
	err error
	// deferred: the direct decoder could not decide alone and asked pdata.
	deferred bool
}

// ingestBoth feeds body to ref through pdata and to direct through
// IngestProto, and fails t unless both accept (with equal results) or both
// refuse. It returns the direct decoder's verdict.
func ingestBoth(t testing.TB, ref, direct *Store, body []byte) verdict {
	t.Helper()
	var want verdict
	var wantRc, gotRc Receipt
	req := ptraceotlp.NewExportRequest()
	if want.err = req.UnmarshalProto(body); want.err == nil {
		want.res = ref.ingestReceiptAt(req.Traces(), diffOrigin, diffClock, &wantRc)
	}
	// The direct decoder gets a copy that is scribbled over once it is done,
	// as grpc-go reuses its buffers: nothing stored may point into it.
	own := bytes.Clone(body)
	var got verdict
	got.res, got.deferred, got.err = direct.ingestProtoAt(own, diffOrigin, diffClock, &gotRc)
	for i := range own {
		own[i] = 0xa5
	}
	switch {
	case want.err == nil && got.err != nil:
		t.Fatalf("pdata decodes the request, the direct decoder refuses it: %v\nrequest: %x", got.err, body)
	case want.err != nil && got.err == nil:
		t.Fatalf("pdata refuses the request (%v), the direct decoder accepts it: %+v\nrequest: %x", want.err, got.res, body)
	case got.err == nil && got.res != want.res:
		t.Fatalf("results differ:\npdata:  %+v\ndirect: %+v\nrequest: %x", want.res, got.res, body)
	case got.err == nil && !reflect.DeepEqual(gotRc, wantRc):
		t.Fatalf("receipts differ:\npdata:  %+v\ndirect: %+v\nrequest: %x", wantRc, gotRc, body)
	}
	return got
}

// storeState is everything observable of a store, for comparison.
type storeState struct {
	Spans  []Span
	Stats  Stats
	Traces map[TraceID][]uint64
	Corr   map[string][]TraceID
	Names  map[string][]uint64
	Len    int
}

func stateOf(st *Store) storeState {
	s := storeState{Spans: st.Spans(Filter{}), Stats: st.Stats(), Len: st.Len(),
		Traces: map[TraceID][]uint64{}, Corr: map[string][]TraceID{}, Names: map[string][]uint64{}}
	st.mu.RLock()
	defer st.mu.RUnlock()
	for id, te := range st.traces {
		s.Traces[id] = slices.Clone(te.seqs)
	}
	for v, ce := range st.corr {
		s.Corr[v] = slices.Clone(ce.traces)
	}
	for id, seqs := range st.byName {
		s.Names[st.strs.Get(id)] = slices.Clone(seqs)
	}
	return s
}

// sameStores fails t unless the two stores hold the same state.
func sameStores(t testing.TB, ref, direct *Store, what string) {
	t.Helper()
	a, b := stateOf(ref), stateOf(direct)
	if reflect.DeepEqual(a, b) {
		return
	}
	t.Fatalf("%s: the stores differ (-pdata +direct):\n%s", what, cmp.Diff(a, b, cmp.AllowUnexported(Value{})))
}

// diffCase runs bodies through a fresh pair of stores, and again through a
// pair capped at 3 spans so that eviction and slab reuse take part, and
// compares them after every request. It returns the direct verdicts of the
// first pair.
func diffCase(t testing.TB, bodies ...[]byte) []verdict {
	t.Helper()
	var out []verdict
	for _, opts := range [][]Option{nil, {WithMaxSpans(3)}} {
		ref, direct := New(opts...), New(opts...)
		for i, body := range bodies {
			v := ingestBoth(t, ref, direct, body)
			sameStores(t, ref, direct, fmt.Sprintf("after request %d of %d (%d bytes, %d-span cap)", i+1, len(bodies), len(body), ref.maxSpans))
			if opts == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

func TestDifferentialStateHelpersSeeDifferences(t *testing.T) {
	// The comparison itself must be able to fail: a store that got one
	// more span is not the same as one that did not.
	a, b := New(), New()
	body := request(span(1, 1, "x"))
	ingestBoth(t, a, b, body)
	if !reflect.DeepEqual(stateOf(a), stateOf(b)) {
		t.Fatal("equal ingests gave different states")
	}
	if _, err := b.IngestProto(body, diffOrigin); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(stateOf(a), stateOf(b)) {
		t.Fatal("stateOf does not tell a store with one span from one with two")
	}
	if got := slices.Collect(maps.Keys(stateOf(b).Names)); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("names index %v, want [x]", got)
	}
}
