package otlpsink_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

var spanstoreAll = spanstore.Filter{}

func rules(t *testing.T, texts ...string) []fault.Rule {
	t.Helper()
	var rs []fault.Rule
	for _, text := range texts {
		r, err := fault.ParseRule(text)
		require.NoError(t, err)
		rs = append(rs, r)
	}
	return rs
}

// An impossible rule is an error from New that names it.
func TestWithFaultsRejectsAnImpossibleRule(t *testing.T) {
	t.Parallel()
	ok := fault.Rule{First: 1, Answer: fault.GRPC(codes.Unavailable)}
	bad := fault.Rule{Transport: fault.TransportGRPC, Answer: fault.HTTP(http.StatusTooManyRequests)}
	s, err := otlpsink.New(otlpsink.WithFaults(ok, bad))
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Equal(t, `otlpsink: WithFaults: rule 2 of 2: fault rule "grpc -> 429": HTTP status 429 on a gRPC-only rule`, err.Error())
	var pe *fault.ParseError
	assert.True(t, errors.As(err, &pe), "the fault package's error is wrapped")
}

// Fault rules answer OTLP paths only: the routes mounted beside them (the
// API, health, the live view) are never refused.
func TestFaultsSpareHandlerRoutes(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithFaults(rules(t, "http -> 503", "-> drop")...),
		otlpsink.WithHandler("/api/v1/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "api ok") })))
	resp, body := post(t, sink.HTTPURL()+"/api/v1/stats", "application/json", []byte("{}"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "api ok", body)
	resp, body = post(t, sink.HTTPURL()+"/v1/traces", "application/x-protobuf", tracesProto(t, 1, "x", "c"))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	assert.Contains(t, body, "fault injected by rule 1 (http -> 503)")
	// An unknown path is no OTLP path either: 404, no fault.
	resp, _ = post(t, sink.HTTPURL()+"/v2/traces", "application/x-protobuf", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, 1, sink.Ledger().Len(), "only the OTLP request is in the ledger")
	assert.Equal(t, map[string]uint64{"rule 1 (http -> 503)": 1, "rule 2 (-> drop)": 0}, sink.Stats().Faults)
	assert.Contains(t, sink.Stats().String(), "  fault rule 1 (http -> 503) answered 1 request\n")
}

// The ledger records the sink's own answers too: its refusals before and
// after decoding, and its partial success for spans with all-zero IDs.
func TestLedgerRecordsTheSinksOwnAnswers(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithToken("t"), otlpsink.WithMaxMessageBytes(1<<10))
	auth := []string{"Authorization", "Bearer t"}
	url := sink.TracesURL()
	post(t, url, "application/x-protobuf", tracesProto(t, 1, "no-token", "c"))
	post(t, url, "application/x-protobuf", []byte{0xff, 0xff}, auth...)
	post(t, url, "application/x-protobuf", make([]byte, 2<<10), auth...)
	post(t, url, "text/plain", []byte("hi"), auth...)
	post(t, url, "application/json", tracesJSON("00000000000000000000000000000000", "0102030405060708", "zero", "z"), auth...)
	post(t, url, "application/x-protobuf", tracesProto(t, 2, "good", "c"), auth...)
	_, err := ptraceotlp.NewGRPCClient(grpcConn(t, sink)).Export(context.Background(), ptraceotlp.NewExportRequest())
	require.Equal(t, codes.Unauthenticated, status.Code(err))

	att := waitAttempts(t, sink.Ledger(), 7)
	var got []string
	for _, a := range att {
		got = append(got, fmt.Sprintf("%s %s: %s (%d spans)", a.Transport, a.Signal, a.Answer, len(a.Spans)))
	}
	assert.Equal(t, []string{
		"http traces: 401 (0 spans)",
		"http traces: 400 (0 spans)",
		"http traces: 413 (0 spans)",
		"http traces: 415 (0 spans)",
		`http traces: partial rejected=1 message="span \"zero\" has an all-zero trace or span ID" (0 spans)`,
		"http traces: ok (1 spans)",
		"grpc traces: unauthenticated (0 spans)",
	}, got)
	assert.Equal(t, 1, att[4].Count, "the zero-ID span is counted, not referenced")
	assert.Equal(t, []string{"worker-proto-1"}, att[5].Instances)
	assert.Equal(t, []string{"c"}, att[5].Correlations)
	assert.Equal(t, fault.SpanRef{TraceID: [16]byte{2, 1}, SpanID: [8]byte{2, 2}}, att[5].Spans[0])
	for _, a := range att {
		assert.NotEmpty(t, a.Sender)
		assert.Equal(t, fault.KindOK, a.Fault.Kind())
	}
}

// Selectors read the decoded request: instance and correlation values pick
// which requests a rule answers.
func TestFaultSelectorsReadTheRequest(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithFaults(rules(t, "correlation=order-A* -> 503", "instance=worker-json-* -> 429")...))
	url := sink.TracesURL()
	resp, _ := post(t, url, "application/x-protobuf", tracesProto(t, 1, "a", "order-A1"))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp, _ = post(t, url, "application/x-protobuf", tracesProto(t, 2, "b", "order-B1"))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "worker-proto-1, order-B1: no rule")
	resp, _ = post(t, url, "application/json", tracesJSON("0102030405060708090a0b0c0d0e0f10", "0102030405060708", "c", "order-B2"))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "worker-json-1")
	assert.Len(t, sink.Store().Spans(spanstoreAll), 1, "refused data is not stored")
	assert.Equal(t, map[string]uint64{"rule 1 (correlation=order-A* -> 503)": 1, "rule 2 (instance=worker-json-* -> 429)": 1}, sink.Stats().Faults)
	fs := sink.FaultStats()
	require.Len(t, fs, 2)
	assert.Equal(t, 1, fs[0].Matched)
	assert.Equal(t, 1, fs[1].Matched, "rule 2 saw the two requests rule 1 passed on, one from worker-json-1")
}

// A partial success on metrics and logs stores (counts) all but the last N
// items and says so in the response.
func TestPartialSuccessOnMetricsAndLogs(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithFaults(rules(t, "metrics -> partial rejected=2", `logs -> partial rejected=1 message="quota"`)...))
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty().SetEmptyGauge()
	g.DataPoints().AppendEmpty().SetIntValue(1)
	g.DataPoints().AppendEmpty().SetIntValue(2)
	h := ms.AppendEmpty().SetEmptyHistogram()
	h.DataPoints().AppendEmpty().SetCount(3)
	h.DataPoints().AppendEmpty().SetCount(4)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr("one")
	lrs.AppendEmpty().Body().SetStr("two")

	mresp, err := pmetricotlp.NewGRPCClient(grpcConn(t, sink)).Export(context.Background(), pmetricotlp.NewExportRequestFromMetrics(md))
	require.NoError(t, err)
	assert.EqualValues(t, 2, mresp.PartialSuccess().RejectedDataPoints())
	assert.Contains(t, mresp.PartialSuccess().ErrorMessage(), "rejected 2 of 4")

	lb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	require.NoError(t, err)
	resp, body := post(t, sink.HTTPURL()+"/v1/logs", "application/json", lb)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	lresp := plogotlp.NewExportResponse()
	require.NoError(t, lresp.UnmarshalJSON([]byte(body)))
	assert.EqualValues(t, 1, lresp.PartialSuccess().RejectedLogRecords())
	assert.Equal(t, "quota", lresp.PartialSuccess().ErrorMessage())

	st := sink.Stats()
	assert.EqualValues(t, 2, st.MetricPoints, "the gauge's two points; the histogram's were rejected")
	assert.EqualValues(t, 1, st.LogRecords)
	att := waitAttempts(t, sink.Ledger(), 2)
	assert.Equal(t, 4, att[0].Count)
	assert.Equal(t, 2, att[1].Count)
}

// A partial success on traces stores the first spans and rejects the last,
// which the ledger names.
func TestPartialSuccessOnTraces(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithFaults(rules(t, "-> partial rejected=2")...))
	td := ptrace.NewTraces()
	for r := range 2 {
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for i := range 2 {
			sp := spans.AppendEmpty()
			sp.SetTraceID([16]byte{9})
			sp.SetSpanID([8]byte{byte(r), byte(i + 1)})
			sp.SetName(fmt.Sprintf("r%d-s%d", r, i))
		}
	}
	resp, err := ptraceotlp.NewGRPCClient(grpcConn(t, sink)).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
	assert.EqualValues(t, 2, resp.PartialSuccess().RejectedSpans())
	var names []string
	for _, s := range sink.Store().Spans(spanstoreAll) {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"r0-s0", "r0-s1"}, names)
	att := waitAttempts(t, sink.Ledger(), 1)
	assert.Equal(t, []fault.SpanRef{{TraceID: [16]byte{9}, SpanID: [8]byte{1, 1}}, {TraceID: [16]byte{9}, SpanID: [8]byte{1, 2}}}, att[0].Rejected)
	assert.Len(t, att[0].Spans, 4)
}

// The ledger stays within its limits, counts what it forgot, wakes its
// waiters and can be reset.
func TestLedgerLimits(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t, otlpsink.WithLedgerLimits(2, 0))
	l := sink.Ledger()
	changed := l.Changed()
	for i := range 3 {
		resp, _ := post(t, sink.TracesURL(), "application/x-protobuf", tracesProto(t, byte(i+1), "x", "c"))
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	// Each answer came after its attempt was recorded.
	<-changed
	assert.Equal(t, 1, l.Dropped())
	att := l.Attempts()
	require.Len(t, att, 2)
	assert.Equal(t, [16]byte{2, 1}, att[0].Spans[0].TraceID, "the oldest was forgotten")
	attempts, spans := l.Limits()
	assert.Equal(t, 2, attempts)
	assert.Equal(t, otlpsink.DefaultLedgerSpans, spans)

	changed = l.Changed()
	l.Reset()
	<-changed
	assert.Equal(t, 0, l.Len())
	assert.Equal(t, 0, l.Dropped())

	// The span bound: a request bigger than it is still kept, alone.
	small := otlpsink.Start(t, otlpsink.WithLedgerLimits(0, 1))
	post(t, small.TracesURL(), "application/x-protobuf", tracesProto(t, 1, "x", "c"))
	post(t, small.TracesURL(), "application/x-protobuf", tracesProto(t, 2, "x", "c"))
	waitAttempts(t, small.Ledger(), 1)
	assert.Equal(t, 1, small.Ledger().Len())
	assert.Equal(t, 1, small.Ledger().Dropped())
	assert.True(t, strings.HasPrefix(small.Ledger().Attempts()[0].Sender, "127.0.0.1:"))
}
