package fault

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The OTLP specification's tables, answer by answer.
func TestRetryable(t *testing.T) {
	yes := []Answer{
		GRPC(codes.Canceled), GRPC(codes.DeadlineExceeded), GRPC(codes.Aborted), GRPC(codes.OutOfRange),
		GRPC(codes.Unavailable), GRPC(codes.DataLoss), GRPC(codes.Unavailable).WithRetry(time.Second),
		GRPC(codes.ResourceExhausted).WithRetry(time.Second),
		HTTP(429), HTTP(502), HTTP(503), HTTP(504), HTTP(503).WithRetry(time.Second), HTTP(429).WithRetryDate(time.Second),
		Hold(0), Drop(),
	}
	no := []Answer{
		{}, GRPC(codes.ResourceExhausted), GRPC(codes.Unknown), GRPC(codes.InvalidArgument), GRPC(codes.NotFound),
		GRPC(codes.AlreadyExists), GRPC(codes.PermissionDenied), GRPC(codes.Unauthenticated), GRPC(codes.FailedPrecondition),
		GRPC(codes.Unimplemented), GRPC(codes.Internal),
		HTTP(400), HTTP(401), HTTP(403), HTTP(404), HTTP(408), HTTP(413), HTTP(415), HTTP(500), HTTP(501), HTTP(505),
		Partial(2, ""), Partial(0, "warning"), Delay(time.Second),
	}
	for _, a := range yes {
		if !a.Retryable() {
			t.Errorf("%v: not retryable, want retryable", a)
		}
	}
	for _, a := range no {
		if a.Retryable() {
			t.Errorf("%v: retryable, want not", a)
		}
	}
	refuse := []Answer{GRPC(codes.Unavailable), HTTP(400), Hold(0), Drop()}
	for _, a := range refuse {
		if !a.Refuses() {
			t.Errorf("%v does not refuse", a)
		}
	}
	for _, a := range []Answer{{}, Partial(1, ""), Delay(time.Second)} {
		if a.Refuses() {
			t.Errorf("%v refuses", a)
		}
	}
}

func TestGRPCError(t *testing.T) {
	in := mustInjector(t, t0, "-> resource-exhausted retry=1500ms", "-> unavailable")
	a, _ := in.Decide(grpcTraces)
	st := status.Convert(a.GRPCError())
	if st.Code() != codes.ResourceExhausted {
		t.Errorf("code %v", st.Code())
	}
	if want := "traceproof sink: fault injected by rule 1 (-> resource-exhausted retry=1.5s)"; st.Message() != want {
		t.Errorf("message %q, want %q", st.Message(), want)
	}
	details := st.Details()
	if len(details) != 1 {
		t.Fatalf("details %v, want one RetryInfo", details)
	}
	ri, ok := details[0].(*errdetails.RetryInfo)
	if !ok {
		t.Fatalf("detail %T, want *errdetails.RetryInfo", details[0])
	}
	if got := ri.GetRetryDelay().AsDuration(); got != 1500*time.Millisecond {
		t.Errorf("RetryInfo delay %v, want 1.5s", got)
	}

	// Without retry=: no details.
	st = status.Convert(GRPC(codes.Unavailable).GRPCError())
	if st.Code() != codes.Unavailable || len(st.Details()) != 0 {
		t.Errorf("plain unavailable: %v %v", st.Code(), st.Details())
	}
	if want := "traceproof sink: fault injected (unavailable)"; st.Message() != want {
		t.Errorf("message %q, want %q", st.Message(), want)
	}
	tests := []struct {
		a    Answer
		code codes.Code
		msg  string
	}{
		{GRPC(codes.InvalidArgument).WithMessage("bad data"), codes.InvalidArgument, "bad data"},
		{Hold(0), codes.DeadlineExceeded, "traceproof sink: held the request until the client gave up; fault injected (hold)"},
		{Drop(), codes.Unavailable, "traceproof sink: the connection should have been dropped; fault injected (drop)"},
		{HTTP(503), codes.Internal, "traceproof sink: fault answer HTTP 503 cannot be given over gRPC"},
	}
	for _, tt := range tests {
		st := status.Convert(tt.a.GRPCError())
		if st.Code() != tt.code || st.Message() != tt.msg {
			t.Errorf("%v: %v %q, want %v %q", tt.a, st.Code(), st.Message(), tt.code, tt.msg)
		}
	}
	for _, a := range []Answer{{}, Partial(1, ""), Delay(time.Second)} {
		if err := a.GRPCError(); err != nil {
			t.Errorf("%v: GRPCError() = %v, want nil (the real answer follows)", a, err)
		}
	}
}

// decodeStatus reads a google.rpc.Status body in the encoding its
// Content-Type names.
func decodeStatus(t *testing.T, rec *httptest.ResponseRecorder) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	var err error
	switch ct := rec.Header().Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(rec.Body.Bytes(), st)
	case "application/json":
		err = protojson.Unmarshal(rec.Body.Bytes(), st)
	default:
		t.Fatalf("Content-Type %q", ct)
	}
	if err != nil {
		t.Fatalf("body %q: %v", rec.Body.Bytes(), err)
	}
	return st
}

func TestWriteHTTP(t *testing.T) {
	tests := []struct {
		a          Answer
		ctype      string
		code       int
		retryAfter string
		wantCT     string
		grpcCode   codes.Code
		msg        string
	}{
		{HTTP(503).WithRetry(2 * time.Second), "application/x-protobuf", 503, "2", "application/x-protobuf", codes.Unavailable, "traceproof sink: fault injected (503 retry-after=2s)"},
		{HTTP(429).WithRetry(time.Minute), "application/json", 429, "60", "application/json", codes.ResourceExhausted, "traceproof sink: fault injected (429 retry-after=1m0s)"},
		{HTTP(502), "application/json; charset=utf-8", 502, "", "application/json", codes.Unavailable, "traceproof sink: fault injected (502)"},
		{HTTP(504), "application/x-protobuf", 504, "", "application/x-protobuf", codes.DeadlineExceeded, "traceproof sink: fault injected (504)"},
		{HTTP(400).WithMessage("bad"), "application/x-protobuf", 400, "", "application/x-protobuf", codes.InvalidArgument, "bad"},
		{HTTP(500), "text/plain", 500, "", "application/json", codes.Internal, "traceproof sink: fault injected (500)"},
		{HTTP(418), "", 418, "", "application/json", codes.Unknown, "traceproof sink: fault injected (418)"},
		{Hold(0).WithMessage("slow"), "application/x-protobuf", 504, "", "application/x-protobuf", codes.DeadlineExceeded, "slow"},
		{GRPC(codes.Unavailable), "application/json", 500, "", "application/json", codes.Internal, "traceproof sink: fault answer unavailable cannot be given over HTTP"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		tt.a.WriteHTTP(rec, tt.ctype)
		if rec.Code != tt.code {
			t.Errorf("%v: status %d, want %d", tt.a, rec.Code, tt.code)
		}
		if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
			t.Errorf("%v: Retry-After %q, want %q", tt.a, got, tt.retryAfter)
		}
		if got := rec.Header().Get("Content-Type"); got != tt.wantCT {
			t.Errorf("%v: Content-Type %q, want %q", tt.a, got, tt.wantCT)
		}
		st := decodeStatus(t, rec)
		if codes.Code(st.GetCode()) != tt.grpcCode || st.GetMessage() != tt.msg {
			t.Errorf("%v: body code %v message %q, want %v %q", tt.a, codes.Code(st.GetCode()), st.GetMessage(), tt.grpcCode, tt.msg)
		}
	}
	for _, a := range []Answer{{}, Partial(1, ""), Delay(time.Second)} {
		rec := httptest.NewRecorder()
		a.WriteHTTP(rec, "application/json")
		if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
			t.Errorf("%v wrote %d %v %q, want nothing", a, rec.Code, rec.Header(), rec.Body)
		}
	}
}

// An HTTP-date Retry-After comes from the decision (request time + delay,
// rounded up to a second) when there was one, from the clock otherwise.
func TestWriteHTTPRetryDate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now() // 2000-01-01 00:00:00 UTC in a bubble
		in := mustInjector(t, start, "http -> 503 retry-after-date=2s")
		time.Sleep(1500 * time.Millisecond)
		a, _ := in.Decide(Request{Transport: TransportHTTP, Signal: Traces})
		time.Sleep(10 * time.Second) // the header does not move with the clock
		rec := httptest.NewRecorder()
		a.WriteHTTP(rec, "application/x-protobuf")
		got, err := http.ParseTime(rec.Header().Get("Retry-After"))
		if err != nil {
			t.Fatal(err)
		}
		if want := start.Add(4 * time.Second); !got.Equal(want) {
			t.Errorf("Retry-After %v, want %v (+1.5s +2s, rounded up)", got, want)
		}
		if rec.Header().Get("Retry-After") != "Sat, 01 Jan 2000 00:00:04 GMT" {
			t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
		}

		// Without a decision, from the clock: now is +11.5s.
		rec = httptest.NewRecorder()
		HTTP(429).WithRetryDate(3*time.Second).WriteHTTP(rec, "application/json")
		got, _ = http.ParseTime(rec.Header().Get("Retry-After"))
		if want := start.Add(15 * time.Second); !got.Equal(want) {
			t.Errorf("Retry-After %v, want %v", got, want)
		}
	})
}

func TestWriteHTTPDrop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Drop().WriteHTTP(w, r.Header.Get("Content-Type"))
	}))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/v1/traces", "application/x-protobuf", strings.NewReader("x"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %s, want the connection closed without an answer", resp.Status)
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("error %v, want EOF", err)
	}

	// A writer that cannot be hijacked: the handler is aborted the way
	// net/http knows.
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("panic %v, want http.ErrAbortHandler", p)
		}
	}()
	Drop().WriteHTTP(httptest.NewRecorder(), "application/json")
	t.Error("WriteHTTP returned")
}

func TestPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := context.Background()
		timed := func(a Answer, req, sink context.Context) (time.Duration, error) {
			start := time.Now()
			err := a.Pause(req, sink)
			return time.Since(start), err
		}

		// A hold lasts until the client gives up...
		req, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		d, err := timed(Hold(10*time.Second), req, sink)
		cancel()
		if d != 3*time.Second || err != nil {
			t.Errorf("hold with a 3s client: %v, %v; want 3s, nil", d, err)
		}
		// ... or its maximum passes.
		d, err = timed(Hold(5*time.Second), context.Background(), sink)
		if d != 5*time.Second || err != nil {
			t.Errorf("hold max=5s: %v, %v", d, err)
		}
		d, _ = timed(Hold(0), context.Background(), sink)
		if d != DefaultHoldMax {
			t.Errorf("hold: %v, want %v", d, DefaultHoldMax)
		}

		// A delay outlasts the client.
		req, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
		d, err = timed(Delay(200*time.Millisecond), req, sink)
		cancel()
		if d != 200*time.Millisecond || err != nil {
			t.Errorf("delay=200ms with a 50ms client: %v, %v", d, err)
		}

		// Both end when the sink closes.
		for _, a := range []Answer{Hold(time.Minute), Delay(time.Minute)} {
			closing, stop := context.WithTimeout(context.Background(), 2*time.Second)
			d, err = timed(a, context.Background(), closing)
			stop()
			if d != 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v, sink closing at 2s: %v, %v", a, d, err)
			}
		}

		// Everything else does not wait.
		for _, a := range []Answer{{}, GRPC(codes.Unavailable), HTTP(503), Partial(1, ""), Drop()} {
			if d, err := timed(a, context.Background(), sink); d != 0 || err != nil {
				t.Errorf("%v paused %v, %v", a, d, err)
			}
		}
	})
}

func TestPartialSuccess(t *testing.T) {
	in := mustInjector(t, t0, "-> partial rejected=2")
	a, _ := in.Decide(grpcTraces)
	tests := []struct {
		a     Answer
		items int
		n     int
		msg   string
	}{
		{a, 5, 2, "traceproof sink: rejected 2 of 5; fault injected by rule 1 (-> partial rejected=2)"},
		{a, 1, 1, "traceproof sink: rejected 1 of 1; fault injected by rule 1 (-> partial rejected=2)"},
		{a, 0, 0, "traceproof sink: rejected 0 of 0; fault injected by rule 1 (-> partial rejected=2)"},
		{Partial(2, "quota"), 5, 2, "quota"},
		{Partial(0, "careful"), 5, 0, "careful"},
		{GRPC(codes.Unavailable), 5, 0, ""},
		{Answer{}, 5, 0, ""},
	}
	for _, tt := range tests {
		n, msg := tt.a.PartialSuccess(tt.items)
		if n != tt.n || msg != tt.msg {
			t.Errorf("%v.PartialSuccess(%d) = %d, %q; want %d, %q", tt.a, tt.items, n, msg, tt.n, tt.msg)
		}
	}
}

func TestAnswerAccessors(t *testing.T) {
	a := GRPC(codes.ResourceExhausted).WithRetry(time.Second)
	if a.Kind() != KindGRPC || a.Code() != codes.ResourceExhausted || a.RetryDelay() != time.Second || a.Status() != 0 {
		t.Errorf("%v: %v %v %v %v", a, a.Kind(), a.Code(), a.RetryDelay(), a.Status())
	}
	h := HTTP(503).WithRetryDate(2 * time.Second)
	if h.Kind() != KindHTTP || h.Status() != 503 || h.RetryDelay() != 2*time.Second {
		t.Errorf("%v: %v %v %v", h, h.Kind(), h.Status(), h.RetryDelay())
	}
	for k, want := range map[Kind]string{KindOK: "ok", KindGRPC: "grpc", KindHTTP: "http", KindPartial: "partial", KindDelay: "delay", KindHold: "hold", KindDrop: "drop", 42: "Kind(42)"} {
		if k.String() != want {
			t.Errorf("Kind %d = %q, want %q", k, k, want)
		}
	}
	if (Answer{}).String() != "ok" {
		t.Error("the zero Answer should read ok")
	}
}
