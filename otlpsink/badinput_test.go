package otlpsink_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// post sends a raw OTLP/HTTP request.
func post(t *testing.T, url, ctype string, body []byte, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// tracesJSON is a spec protojson request: hex IDs, camelCase keys.
func tracesJSON(traceID, spanID, name, corr string) []byte {
	return []byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"tasker-core"}},{"key":"service.instance.id","value":{"stringValue":"worker-json-1"}}]},
"scopeSpans":[{"scope":{"name":"raw"},"spans":[{"traceId":"` + traceID + `","spanId":"` + spanID + `","name":"` + name + `","kind":1,
"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000",
"attributes":[{"key":"correlation_id","value":{"stringValue":"` + corr + `"}},{"key":"attempt","value":{"intValue":"3"}}]}]}]}]}`)
}

func tracesProto(t *testing.T, traceByte byte, name, corr string) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.instance.id", "worker-proto-1")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{traceByte, 1})
	sp.SetSpanID([8]byte{traceByte, 2})
	sp.SetName(name)
	sp.Attributes().PutStr("correlation_id", corr)
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	return b
}

// forEachDecoder runs f once with each of the sink's OTLP/protobuf trace
// decoders.
func forEachDecoder(t *testing.T, f func(t *testing.T, decoder otlpsink.Option)) {
	for _, d := range otlpsink.Decoders {
		t.Run("decoder="+d.Name, func(t *testing.T) { f(t, d.Opt) })
	}
}

func TestHTTPRawRequests(t *testing.T) { forEachDecoder(t, testHTTPRawRequests) }

func testHTTPRawRequests(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder)
	url := sink.HTTPURL() + "/v1/traces"

	resp, body := post(t, url, "application/json", tracesJSON("0102030405060708090a0b0c0d0e0f10", "0102030405060708", "json-span", "c-json"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	resp, body = post(t, url, "application/json", gz(t, tracesJSON("1102030405060708090a0b0c0d0e0f10", "1102030405060708", "json-gzip", "c-json")), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	resp, body = post(t, url, "application/x-protobuf; charset=binary", gz(t, tracesProto(t, 7, "proto-gzip", "c-json")), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"))

	spans := sink.Store().Correlated("c-json")
	require.Len(t, spans, 3)
	assert.Equal(t, "json-span", spans[0].Name)
	assert.Equal(t, "0102030405060708090a0b0c0d0e0f10", spans[0].TraceID.String())
	assert.True(t, spans[0].Attributes.Str("attempt") == "3")
	v, _ := spans[0].Attributes.Get("attempt")
	assert.Equal(t, spanstore.KindInt, v.Kind())
	assert.Equal(t, time.Millisecond, spans[0].Duration())
	assert.Equal(t, spanstore.EncodingJSON, spans[0].Origin.Encoding)
	assert.True(t, spans[1].Origin.Compressed)
	assert.Equal(t, "worker-proto-1", spans[2].Instance())
	assert.Equal(t, uint64(2), sink.Stats().ByTransport["http/json"])
}

// TestBadInput sends each kind of bad request and checks the status the OTLP
// spec names, a message saying what was wrong, a count in Stats, and that the
// sink still holds what it had and still accepts new spans.
func TestBadInput(t *testing.T) { forEachDecoder(t, testBadInput) }

func testBadInput(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder, otlpsink.WithMaxMessageBytes(64<<10))
	url := sink.HTTPURL() + "/v1/traces"
	resp, body := post(t, url, "application/x-protobuf", tracesProto(t, 1, "before", "keep"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	big := bytes.Repeat([]byte{'x'}, 100<<10)
	cases := []struct {
		name       string
		method     string
		ctype      string
		body       []byte
		hdr        []string
		wantStatus int
		wantMsg    string
	}{
		{"garbage protobuf", "POST", "application/x-protobuf", []byte{0xff, 0xff, 0xff, 0x01, 0x02}, nil, 400, "cannot decode OTLP traces proto"},
		{"empty json", "POST", "application/json", nil, nil, 400, "empty JSON body"},
		{"malformed json", "POST", "application/json", []byte(`{"resourceSpans":[{`), nil, 400, "cannot decode OTLP traces json"},
		{"unknown content type", "POST", "text/plain", []byte("hi"), nil, 415, "unsupported Content-Type"},
		{"missing content type", "POST", "", []byte("hi"), nil, 415, "unsupported Content-Type"},
		{"GET", "GET", "", nil, nil, 405, "only POST is allowed"},
		{"oversized body", "POST", "application/x-protobuf", big, nil, 413, "body over 65536 bytes"},
		{"gzip bomb", "POST", "application/x-protobuf", gz(t, big), []string{"Content-Encoding", "gzip"}, 413, "inflates to over 65536 bytes"},
		{"corrupt gzip", "POST", "application/x-protobuf", []byte("not gzip at all"), []string{"Content-Encoding", "gzip"}, 400, "corrupt gzip body"},
		{"truncated gzip", "POST", "application/x-protobuf", gz(t, tracesProto(t, 9, "x", "y"))[:20], []string{"Content-Encoding", "gzip"}, 400, "corrupt gzip body"},
		{"unknown encoding", "POST", "application/x-protobuf", []byte("x"), []string{"Content-Encoding", "br"}, 415, "unsupported Content-Encoding"},
		{"short trace id json", "POST", "application/json", tracesJSON("0102", "0102030405060708", "bad", "z"), nil, 400, "cannot decode"},
		{"long span id json", "POST", "application/json", tracesJSON("0102030405060708090a0b0c0d0e0f10", "010203040506070809", "bad", "z"), nil, 400, "cannot decode"},
		{"non-hex trace id", "POST", "application/json", tracesJSON("zz02030405060708090a0b0c0d0e0f10", "0102030405060708", "bad", "z"), nil, 400, "cannot decode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := sink.Stats()
			req, err := http.NewRequest(c.method, url, bytes.NewReader(c.body))
			require.NoError(t, err)
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, c.wantStatus, resp.StatusCode, string(b))
			assert.Contains(t, string(b), c.wantMsg)
			after := sink.Stats()
			assert.Equal(t, before.DecodeErrors+before.RefusedTotal()+1, after.DecodeErrors+after.RefusedTotal(), "counted once")
			assert.Contains(t, after.LastErrors[len(after.LastErrors)-1], c.wantMsg)
			assertStillServing(t, sink, c.name)
		})
	}
	assert.EqualValues(t, 1, sink.Stats().Refused["method"])
	assert.Len(t, sink.Store().Correlated("keep"), 1, "what the sink held before survives every bad request")
}

var nextTraceByte atomic.Int32

// assertStillServing checks the span sent before the bad input is still there
// and a new one still arrives.
func assertStillServing(t *testing.T, sink *otlpsink.Sink, marker string) {
	t.Helper()
	require.Len(t, sink.Store().Correlated("keep"), 1)
	resp, body := post(t, sink.HTTPURL()+"/v1/traces", "application/x-protobuf", tracesProto(t, byte(100+nextTraceByte.Add(1)), "after", "after-"+marker))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Len(t, sink.Store().Correlated("after-"+marker), 1)
}

func TestZeroIDsArePartialSuccess(t *testing.T) { forEachDecoder(t, testZeroIDsArePartialSuccess) }

func testZeroIDsArePartialSuccess(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder)
	body := tracesJSON("00000000000000000000000000000000", "0102030405060708", "zero-trace", "z")
	resp, b := post(t, sink.HTTPURL()+"/v1/traces", "application/json", body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, b, `"rejectedSpans":"1"`)
	assert.Contains(t, b, "all-zero trace or span ID")
	assert.EqualValues(t, 1, sink.Stats().Rejected)
	assert.Empty(t, sink.Store().Correlated("z"))
}

func grpcConn(t *testing.T, sink *otlpsink.Sink) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(sink.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return cc
}

func TestGRPCBadInput(t *testing.T) { forEachDecoder(t, testGRPCBadInput) }

func testGRPCBadInput(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder, otlpsink.WithMaxMessageBytes(64<<10))
	cc := grpcConn(t, sink)
	ctx := context.Background()
	resp, body := post(t, sink.HTTPURL()+"/v1/traces", "application/x-protobuf", tracesProto(t, 1, "before", "keep"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// Garbage bytes.
	var out rawBytes
	err := cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", rawBytes{0xff, 0xff, 0xff}, &out, grpc.ForceCodecV2(rawCodec{}))
	require.Error(t, err)
	assert.Equal(t, codes.InvalidArgument, status.Code(err), err)
	assert.Contains(t, status.Convert(err).Message(), "cannot decode OTLP traces request")

	// A span whose trace ID is 3 bytes long.
	spanWithShortID := []byte{0x0a, 0x0b, 0x12, 0x09, 0x12, 0x07, 0x0a, 0x03, 0x01, 0x02, 0x03, 0x12, 0x00}
	err = cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", rawBytes(spanWithShortID), &out, grpc.ForceCodecV2(rawCodec{}))
	assert.Equal(t, codes.InvalidArgument, status.Code(err), err)
	assertStillServing(t, sink, "grpc-garbage")

	// Oversized.
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.Attributes().PutStr("blob", strings.Repeat("x", 100<<10))
	_, err = ptraceotlp.NewGRPCClient(cc).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	assert.Equal(t, codes.ResourceExhausted, status.Code(err), err)
	assertStillServing(t, sink, "grpc-oversized")

	st := sink.Stats()
	assert.EqualValues(t, 2, st.DecodeErrors)
	assert.EqualValues(t, 1, st.Refused["too large"])
}

func TestMetricsAndLogsAccepted(t *testing.T) { forEachDecoder(t, testMetricsAndLogsAccepted) }

func testMetricsAndLogsAccepted(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder)
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("events_routed")
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(3)
	m.Sum().DataPoints().AppendEmpty().SetIntValue(4)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello")

	cc := grpcConn(t, sink)
	ctx := context.Background()
	_, err := pmetricotlp.NewGRPCClient(cc).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
	require.NoError(t, err)
	_, err = plogotlp.NewGRPCClient(cc).Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
	require.NoError(t, err)

	mb, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	require.NoError(t, err)
	resp, body := post(t, sink.HTTPURL()+"/v1/metrics", "application/json", mb)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	lb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	resp, body = post(t, sink.HTTPURL()+"/v1/logs", "application/x-protobuf", lb)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	st := sink.Stats()
	assert.EqualValues(t, 4, st.MetricPoints)
	assert.EqualValues(t, 2, st.LogRecords)
	assert.EqualValues(t, 4, st.Requests)
}

func TestToken(t *testing.T) { forEachDecoder(t, testToken) }

func testToken(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder, otlpsink.WithToken("s3cret"))
	body := tracesProto(t, 1, "x", "tok")
	resp, b := post(t, sink.HTTPURL()+"/v1/traces", "application/x-protobuf", body)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"), "errors answer in the request's encoding")
	assert.Contains(t, b, "Bearer")
	resp, _ = post(t, sink.HTTPURL()+"/v1/traces", "application/x-protobuf", body, "Authorization", "Bearer wrong")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, b = post(t, sink.HTTPURL()+"/v1/traces", "application/x-protobuf", body, "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusOK, resp.StatusCode, b)

	cc := grpcConn(t, sink)
	req := ptraceotlp.NewExportRequest()
	require.NoError(t, req.UnmarshalProto(tracesProto(t, 2, "y", "tok")))
	_, err := ptraceotlp.NewGRPCClient(cc).Export(context.Background(), req)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cret")
	_, err = ptraceotlp.NewGRPCClient(cc).Export(ctx, req)
	assert.NoError(t, err)

	assert.Len(t, sink.Store().Correlated("tok"), 2)
	assert.EqualValues(t, 3, sink.Stats().Refused["unauthenticated"])
}

// rawBytes and rawCodec let a test put arbitrary bytes on the wire.
type rawBytes []byte

type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch b := v.(type) {
	case rawBytes:
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	case *rawBytes:
		return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
	}
	return nil, fmt.Errorf("rawCodec: %T", v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*rawBytes) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
