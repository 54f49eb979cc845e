package otlpsink_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// refusals collects what WithOnRefused reports.
type refusals struct {
	mu  sync.Mutex
	got []otlpsink.Refusal
}

func (r *refusals) add(x otlpsink.Refusal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, x)
}

func (r *refusals) take() []otlpsink.Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// TestOnRefused: every kind of refusal, on both transports, reaches the
// callback exactly once with its sender, path, reason and a message that
// names the fix, and is counted in Stats under the same reason.
func TestOnRefused(t *testing.T) {
	var rec refusals
	sink := otlpsink.Start(t, otlpsink.WithOnRefused(rec.add), otlpsink.WithMaxMessageBytes(1<<10), otlpsink.WithToken("tok"))
	url := sink.HTTPURL()
	auth := []string{"Authorization", "Bearer tok"}

	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		hdr                       []string
		status                    int
		reason, msg               string
	}{
		{"no token", "POST", "/v1/traces", "application/x-protobuf", nil, nil, 401, "unauthenticated", `"Authorization: Bearer <token>"`},
		{"wrong path", "POST", "/v1/trace", "application/x-protobuf", nil, auth, 404, otlpsink.ReasonUnknownPath, "OTLP/HTTP exporters post to /v1/traces"},
		{"doubled slash", "POST", "//v1/traces", "application/x-protobuf", nil, auth, 404, otlpsink.ReasonUnknownPath, "OTLP/HTTP exporters post to /v1/traces"},
		{"content type", "POST", "/v1/traces", "text/plain", nil, auth, 415, "content type", "use application/x-protobuf or application/json"},
		{"method", "PUT", "/v1/logs", "application/json", nil, auth, 405, "method", "only POST is allowed"},
		{"too large", "POST", "/v1/metrics", "application/x-protobuf", make([]byte, 2<<10), auth, 413, "too large", "body over 1024 bytes"},
		{"undecodable", "POST", "/v1/traces", "application/json", []byte(`{"resourceSpans":`), auth, 400, otlpsink.ReasonDecode, "cannot decode OTLP traces json: cut short"},
		{"base64 ids", "POST", "/v1/traces", "application/json", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AQIDBAUGBwgJCgsMDQ4PEA==","spanId":"0102030405060708","name":"b"}]}]}]}`), auth, 400, otlpsink.ReasonDecode,
			`cannot decode OTLP traces json: resourceSpans[0].scopeSpans[0].spans[0] ("b"): traceId must be 32 hex digits (OTLP/JSON uses hex, not base64): got "AQIDBAUGBwgJCgsMDQ4PEA==", which is base64 for 0102030405060708090a0b0c0d0e0f10`},
		{"bad metrics", "POST", "/v1/metrics", "application/json", []byte(`{"resourceMetrics":{}}`), auth, 400, otlpsink.ReasonDecode, "cannot decode OTLP metrics json: ReadArray: expect [ or , or ] or n, but found {"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, url, strings.NewReader(string(c.body)))
			require.NoError(t, err)
			req.URL.Path = c.path
			req.Header.Set("Content-Type", c.ctype)
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, c.status, resp.StatusCode)

			got := rec.take()
			require.Len(t, got, 1, "one refusal reported")
			r := got[0]
			assert.Equal(t, c.reason, r.Reason)
			assert.Equal(t, spanstore.TransportHTTP, r.Transport)
			assert.Equal(t, c.path, r.Path)
			assert.NotEmpty(t, r.Sender)
			assert.Contains(t, r.Message, c.msg)
			assert.NotContains(t, r.Message, "error found in #", "the parser's position dump")
			assert.Contains(t, r.Message, r.Sender, "the message names the sender")
			assert.False(t, r.Time.IsZero())
			line := r.String()
			assert.Contains(t, line, c.reason)
			assert.Contains(t, line, c.path)
		})
	}

	cc := grpcConn(t, sink)
	var out rawBytes
	err := cc.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", rawBytes{}, &out, grpc.ForceCodecV2(rawCodec{}))
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	got := rec.take()
	require.Len(t, got, 1)
	assert.Equal(t, "unauthenticated", got[0].Reason)
	assert.Equal(t, spanstore.TransportGRPC, got[0].Transport)
	assert.Equal(t, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", got[0].Path)

	err = cc.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Push", rawBytes{}, &out, grpc.ForceCodecV2(rawCodec{}))
	assert.Equal(t, codes.Unimplemented, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "TraceService/Export")
	got = rec.take()
	require.Len(t, got, 1)
	assert.Equal(t, otlpsink.ReasonUnknownPath, got[0].Reason)
	assert.Equal(t, "/opentelemetry.proto.collector.trace.v1.TraceService/Push", got[0].Path)

	st := sink.Stats()
	assert.Equal(t, map[string]uint64{"unauthenticated": 2, "content type": 1, "method": 1, "too large": 1}, st.Refused)
	assert.EqualValues(t, 3, st.DecodeErrors)
	assert.Equal(t, map[string]uint64{"/v1/trace": 1, "//v1/traces": 1, "/opentelemetry.proto.collector.trace.v1.TraceService/Push": 1}, st.UnknownPaths)
}
