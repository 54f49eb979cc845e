package otlpsink

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/spanstore"
)

// fuzzToken is the bearer token of the fuzzed sinks; the fuzzer picks
// whether a request carries it.
const fuzzToken = "fuzz-token"

// fuzzMaxBytes is the fuzzed sinks' request cap, small enough for the
// fuzzer to reach 413 and the gzip bomb guard.
const fuzzMaxBytes = 4 << 10

// fuzzMethods are the methods the fuzzer picks from.
var fuzzMethods = []string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete, http.MethodOptions, http.MethodPatch}

// refusalLog counts WithOnRefused calls.
type refusalLog struct {
	mu   sync.Mutex
	last []Refusal
}

func (l *refusalLog) add(r Refusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = append(l.last, r)
}

func (l *refusalLog) take() []Refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.last
	l.last = nil
	return got
}

// fuzzSink is a real sink (the HTTP handler it serves, the gRPC server it
// runs) holding one sentinel span that no input may lose.
type fuzzSink struct {
	*Sink
	refusals *refusalLog
}

const fuzzSentinel = "fuzz-sentinel"

func newFuzzSink(tb testing.TB, grpcOn bool, decoder Option) *fuzzSink {
	tb.Helper()
	log := &refusalLog{}
	grpcAddr := ""
	if grpcOn {
		grpcAddr = "127.0.0.1:0"
	}
	s := Start(tb, decoder, WithGRPCAddr(grpcAddr), WithToken(fuzzToken), WithMaxMessageBytes(fuzzMaxBytes), WithOnRefused(log.add))
	fs := &fuzzSink{Sink: s, refusals: log}
	fs.seed(tb)
	return fs
}

// fuzzSinks is a fuzz sink with each decoder (Decoders): every input goes
// to both, and both must answer it alike.
func fuzzSinks(tb testing.TB, grpcOn bool) []*fuzzSink {
	var sinks []*fuzzSink
	for _, d := range Decoders {
		sinks = append(sinks, newFuzzSink(tb, grpcOn, d.Opt))
	}
	return sinks
}

// seed stores the sentinel span.
func (s *fuzzSink) seed(tb testing.TB) {
	tb.Helper()
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{0xfe, 0xed})
	sp.SetSpanID([8]byte{0xfe, 0xed})
	sp.SetName("sentinel")
	sp.Attributes().PutStr("correlation_id", fuzzSentinel)
	if res := s.store.Ingest(td, spanstore.Origin{Sender: "fuzz", Transport: spanstore.TransportAPI}); res.Accepted != 1 {
		tb.Fatalf("sentinel not stored: %+v", res)
	}
}

// checkHeld fails unless the sentinel is still stored, and keeps the store
// small: a long fuzz run must not reach the span cap and evict it.
func (s *fuzzSink) checkHeld(t *testing.T) {
	t.Helper()
	if n := len(s.store.Correlated(fuzzSentinel)); n < 1 {
		t.Fatalf("the sink lost the span it held before this input (%d stored)", s.store.Len())
	}
	if s.store.Len() > 20_000 {
		s.store.Reset()
		s.seed(t)
	}
}

// refusedTotal is every refusal Stats counts: refused, undecodable and
// misdirected requests.
func refusedTotal(st spanstore.Stats) uint64 {
	n := st.DecodeErrors + st.RefusedTotal()
	for _, v := range st.UnknownPaths {
		n += v
	}
	return n
}

// wantReason is the Refusal reason each refusal status goes with.
var wantReason = map[int][]string{
	http.StatusBadRequest:            {ReasonDecode},
	http.StatusUnauthorized:          {"unauthenticated"},
	http.StatusNotFound:              {ReasonUnknownPath},
	http.StatusMethodNotAllowed:      {"method"},
	http.StatusRequestEntityTooLarge: {"too large"},
	http.StatusUnsupportedMediaType:  {"content type", "content encoding"},
}

// FuzzHTTPExport drives the sink's real HTTP handler with fuzzed methods,
// paths, content types, encodings, tokens and bodies (protobuf, JSON, gzip).
// Whatever arrives: no panic; the status is 200 or one the OTLP spec names
// for a refusal (400, 401, 404, 405, 413, 415), never a 5xx; a refusal is
// counted in Stats exactly once, reported to WithOnRefused exactly once with
// the matching reason, and answered with a google.rpc.Status in the
// request's encoding; an acceptance is counted as a request and answered
// with an export response that decodes; the sink keeps the span it held and
// accepts the next good request. Every input goes to a sink with each
// decoder, and both answer it alike. The seed corpus is in
// testdata/fuzz/FuzzHTTPExport.
func FuzzHTTPExport(f *testing.F) {
	sinks := fuzzSinks(f, false)
	good := goodTracesProto(f)
	f.Fuzz(func(t *testing.T, method uint8, path, ctype, cenc string, gz bool, auth uint8, body []byte) {
		if gz {
			body = gzipBytes(t, body)
			if cenc == "" {
				cenc = "gzip"
			}
		}
		var answers []int
		for _, s := range sinks {
			answers = append(answers, s.fuzzHTTP(t, good, method, path, ctype, cenc, auth, body))
		}
		if answers[0] != answers[1] {
			t.Fatalf("%s %q: the direct decoder's sink answers %d, pdata's %d", fuzzMethods[int(method)%len(fuzzMethods)], path, answers[0], answers[1])
		}
	})
}

// fuzzHTTP is one input of FuzzHTTPExport against s; it returns the status.
func (s *fuzzSink) fuzzHTTP(t *testing.T, good []byte, method uint8, path, ctype, cenc string, auth uint8, body []byte) int {
	t.Helper()
	h := s.httpSrv.Handler
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Method = fuzzMethods[int(method)%len(fuzzMethods)]
	req.URL.Path, req.URL.RawPath = path, ""
	req.RemoteAddr = "192.0.2.7:4711"
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if cenc != "" {
		req.Header.Set("Content-Encoding", cenc)
	}
	switch auth % 3 {
	case 0:
		req.Header.Set("Authorization", "Bearer "+fuzzToken)
	case 1:
		req.Header.Set("Authorization", "Bearer not-"+fuzzToken)
	}

	before := s.Stats()
	s.refusals.take()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	after := s.Stats()
	got := s.refusals.take()
	code := rec.Code
	desc := func() string {
		return req.Method + " " + strings.ReplaceAll(path, "\n", `\n`) + " Content-Type " + ctype + " Content-Encoding " + cenc
	}

	if code == http.StatusOK {
		if len(got) != 0 || refusedTotal(after) != refusedTotal(before) {
			t.Fatalf("%s: 200, yet counted as refused (%v)", desc(), got)
		}
		if after.Requests != before.Requests+1 {
			t.Fatalf("%s: 200, but Requests went from %d to %d", desc(), before.Requests, after.Requests)
		}
		if !slices.ContainsFunc(signals, func(sig signal) bool { return sig.path == path }) || req.Method != http.MethodPost {
			t.Fatalf("%s: accepted", desc())
		}
		if path == "/v1/traces" {
			resp := ptraceotlp.NewExportResponse()
			var err error
			if rec.Header().Get("Content-Type") == contentTypeJSON {
				err = resp.UnmarshalJSON(rec.Body.Bytes())
			} else {
				err = resp.UnmarshalProto(rec.Body.Bytes())
			}
			if err != nil {
				t.Fatalf("%s: the export response does not decode: %v", desc(), err)
			}
		}
	} else {
		reasons, documented := wantReason[code]
		if !documented {
			t.Fatalf("%s: status %d %s: %s", desc(), code, http.StatusText(code), rec.Body.String())
		}
		if len(got) != 1 {
			t.Fatalf("%s: status %d reported %d times to WithOnRefused: %v", desc(), code, len(got), got)
		}
		if !slices.Contains(reasons, got[0].Reason) {
			t.Fatalf("%s: status %d with reason %q, want one of %q", desc(), code, got[0].Reason, reasons)
		}
		if refusedTotal(after) != refusedTotal(before)+1 {
			t.Fatalf("%s: status %d counted %d times", desc(), code, refusedTotal(after)-refusedTotal(before))
		}
		if got[0].Path != path || got[0].Sender != req.RemoteAddr || got[0].Message == "" {
			t.Fatalf("%s: refusal %+v", desc(), got[0])
		}
		checkStatusBody(t, desc(), rec)
	}
	s.checkHeld(t)

	// The sink still accepts a good request.
	ok := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(good))
	ok.Header.Set("Content-Type", contentTypeProto)
	ok.Header.Set("Authorization", "Bearer "+fuzzToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, ok)
	if rec.Code != http.StatusOK {
		t.Fatalf("after %s: a good request gets %d: %s", desc(), rec.Code, rec.Body.String())
	}
	return code
}

// checkStatusBody fails unless an error response is a google.rpc.Status in
// the response's content type, with the sink's message.
func checkStatusBody(t *testing.T, desc string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var st spb.Status
	var err error
	switch ct := rec.Header().Get("Content-Type"); ct {
	case contentTypeProto:
		err = proto.Unmarshal(rec.Body.Bytes(), &st)
	case contentTypeJSON:
		err = protojson.Unmarshal(rec.Body.Bytes(), &st)
	default:
		t.Fatalf("%s: error answered with Content-Type %q", desc, ct)
	}
	if err != nil || !strings.HasPrefix(st.GetMessage(), "traceproof sink: ") || st.GetCode() == 0 {
		t.Fatalf("%s: error body %q is not a google.rpc.Status from the sink (%v)", desc, rec.Body.String(), err)
	}
}

func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// goodTracesProto is a one-span traces request.
func goodTracesProto(tb testing.TB) []byte {
	tb.Helper()
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{0xa1})
	sp.SetSpanID([8]byte{0xa1})
	sp.SetName("good")
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
