package otlpsink_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// TestDecodersStoreTheSameFromRealExporters sends the same spans from the
// OTel SDK's exporters, over every transport, to a sink with each decoder
// (one tracer provider exporting to both): the two stores must hold the same
// spans.
func TestDecodersStoreTheSameFromRealExporters(t *testing.T) {
	ctx := context.Background()
	var sinks []*otlpsink.Sink
	for _, d := range otlpsink.Decoders {
		sinks = append(sinks, otlpsink.Start(t, d.Opt))
	}
	protos := []otlpsink.Protocol{otlpsink.ProtocolGRPC, otlpsink.ProtocolGRPC + "+gzip", otlpsink.ProtocolHTTPProtobuf, otlpsink.ProtocolHTTPProtobuf + "+gzip"}
	for _, p := range protos {
		opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "tasker-core"), attribute.String("service.instance.id", "worker-"+string(p))))}
		for _, sink := range sinks {
			opts = append(opts, sdktrace.WithSyncer(exporter(t, sink, p)))
		}
		tp := sdktrace.NewTracerProvider(opts...)
		tr := tp.Tracer("decoders", trace.WithInstrumentationVersion("1.2.3"))
		ctx, root := tr.Start(ctx, "route_event", trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attribute.String("correlation_id", "corr-"+string(p)), attribute.Bool("b", true),
				attribute.Int64("i", -7), attribute.Float64("f", 0.25), attribute.StringSlice("ss", []string{"a", "", "c"}),
				attribute.BoolSlice("bs", []bool{true, false}), attribute.Int64Slice("is", []int64{1, 2}), attribute.Float64Slice("fs", nil)))
		root.AddEvent("Routing domain event", trace.WithAttributes(attribute.String("correlation_id", "corr-"+string(p)), attribute.String("k", "ü")))
		_, child := tr.Start(ctx, "publish", trace.WithLinks(trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("l", "v")}}))
		child.SetStatus(codes.Error, "payment failed")
		child.End()
		root.End()
		require.NoError(t, tp.Shutdown(ctx))
	}
	var stores [][]spanstore.Span
	for i, sink := range sinks {
		spans := sink.Spans(spanstore.Filter{})
		require.Len(t, spans, 2*len(protos), "decoder %s", otlpsink.Decoders[i].Name)
		for i := range spans {
			spans[i].Received, spans[i].Origin.Sender = time.Time{}, ""
		}
		stores = append(stores, spans)
	}
	require.Equal(t, stores[1], stores[0], "the direct decoder (expected) against pdata's (actual)")
	assert.Equal(t, "ü", stores[0][1].Events[0].Attributes.Str("k"))
	assert.Len(t, stores[0][0].Links, 1)
}

func exporter(t *testing.T, sink *otlpsink.Sink, proto otlpsink.Protocol) sdktrace.SpanExporter {
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch proto {
	case otlpsink.ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure())
	case otlpsink.ProtocolGRPC + "+gzip":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
	case otlpsink.ProtocolHTTPProtobuf:
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(sink.HTTPAddr()), otlptracehttp.WithInsecure())
	case otlpsink.ProtocolHTTPProtobuf + "+gzip":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(sink.HTTPAddr()), otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	require.NoError(t, err)
	require.NotNil(t, exp, "protocol %s", proto)
	return exp
}

// deeplyNested is a request whose one attribute value nests 60 arrays: 120
// messages deep, past pdata's limit of 100.
func deeplyNested(t *testing.T) []byte {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	v := sp.Attributes().PutEmpty("deep")
	for range 60 {
		v = v.SetEmptySlice().AppendEmpty()
	}
	v.SetStr("bottom")
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	return b
}

func TestNestingTooDeepIsInvalidArgument(t *testing.T) { forEachDecoder(t, testNestingTooDeep) }

func testNestingTooDeep(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder)
	body := deeplyNested(t)
	deep := func(msg string) bool {
		return strings.Contains(msg, "too deep") || strings.Contains(msg, "recursion depth")
	}

	resp, b := post(t, sink.HTTPURL()+"/v1/traces", "application/x-protobuf", body)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, b)
	assert.True(t, deep(b), "the message says the value nests too deep: %s", b)

	var out rawBytes
	err := grpcConn(t, sink).Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", rawBytes(body), &out, grpc.ForceCodecV2(rawCodec{}))
	assert.Equal(t, grpccodes.InvalidArgument, status.Code(err), err)
	assert.True(t, deep(status.Convert(err).Message()), "the message says the value nests too deep: %v", err)

	st := sink.Stats()
	assert.EqualValues(t, 2, st.DecodeErrors)
	assert.Zero(t, st.Spans)
}

func TestProtobufZeroIDsArePartialSuccess(t *testing.T) { forEachDecoder(t, testProtobufZeroIDs) }

func testProtobufZeroIDs(t *testing.T, decoder otlpsink.Option) {
	sink := otlpsink.Start(t, decoder)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	ok := spans.AppendEmpty()
	ok.SetTraceID([16]byte{1})
	ok.SetSpanID([8]byte{1})
	ok.SetName("ok")
	bad := spans.AppendEmpty()
	bad.SetTraceID(pcommon.TraceID{})
	bad.SetSpanID([8]byte{2})
	bad.SetName("no trace id")

	resp, err := ptraceotlp.NewGRPCClient(grpcConn(t, sink)).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
	assert.EqualValues(t, 1, resp.PartialSuccess().RejectedSpans())
	assert.Contains(t, resp.PartialSuccess().ErrorMessage(), `span "no trace id" has an all-zero trace or span ID`)
	assert.Len(t, sink.Spans(spanstore.Filter{Name: "ok"}), 1)
	assert.EqualValues(t, 1, sink.Stats().Rejected)
}

func TestUnknownPathsAreCounted(t *testing.T) {
	sink := otlpsink.Start(t)
	resp, body := post(t, sink.HTTPURL()+"/", "application/x-protobuf", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Contains(t, body, "/v1/traces")
	resp, _ = post(t, sink.HTTPURL()+"/v1/trace", "application/x-protobuf", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	st := sink.Stats()
	assert.Equal(t, map[string]uint64{"/": 1, "/v1/trace": 1}, st.UnknownPaths)
	assert.Contains(t, st.LastErrors[len(st.LastErrors)-1], "POST /v1/trace from")
}

// TestDecodersRecordTheSameInTheLedger sends requests that exercise what the
// ledger records (spans with invalid IDs, a resource without spans, values
// under the correlation keys on resources, spans and events, repeated) to a
// sink with each decoder: the direct decoder's receipt and pdata's
// description must record the same attempts.
func TestDecodersRecordTheSameInTheLedger(t *testing.T) {
	span := func(ss ptrace.ScopeSpans, trace, id byte, attrs map[string]string, event map[string]string) {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID([16]byte{trace})
		sp.SetSpanID([8]byte{id})
		putSorted(sp.Attributes(), attrs)
		if event != nil {
			putSorted(sp.Events().AppendEmpty().Attributes(), event)
		}
	}
	var reqs []ptrace.Traces
	td := ptrace.NewTraces()
	empty := td.ResourceSpans().AppendEmpty() // brings nothing: no spans
	empty.Resource().Attributes().PutStr("service.instance.id", "idle-1")
	empty.Resource().Attributes().PutStr("correlation_id", "from-idle")
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.instance.id", "worker-1")
	rs.Resource().Attributes().PutStr("task_uuid", "task-on-resource")
	ss := rs.ScopeSpans().AppendEmpty()
	span(ss, 1, 1, map[string]string{"correlation_id": "c-1"}, map[string]string{"correlation_id": "c-2"})
	span(ss, 1, 0, map[string]string{"correlation_id": "invalid-span"}, nil) // all-zero span ID
	span(ss, 2, 2, map[string]string{"correlation_id": "c-1", "other": "x"}, nil)
	rs2 := td.ResourceSpans().AppendEmpty()
	rs2.Resource().Attributes().PutStr("service.instance.id", "worker-2")
	span(rs2.ScopeSpans().AppendEmpty(), 3, 3, nil, map[string]string{"correlation_id": "c-3"})
	rs3 := td.ResourceSpans().AppendEmpty() // worker-1 again
	rs.Resource().CopyTo(rs3.Resource())
	span(rs3.ScopeSpans().AppendEmpty(), 4, 4, map[string]string{"correlation_id": "c-2"}, nil)
	reqs = append(reqs, td)
	many := ptrace.NewTraces() // more values than a linear search is used for
	mss := many.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := range 40 {
		span(mss, 5, byte(i+1), map[string]string{"correlation_id": fmt.Sprintf("m-%d", i%25)}, nil)
	}
	reqs = append(reqs, many, ptrace.NewTraces())

	var ledgers [][]fault.Attempt
	for _, d := range otlpsink.Decoders {
		sink := otlpsink.Start(t, d.Opt)
		client := ptraceotlp.NewGRPCClient(grpcConn(t, sink))
		for _, td := range reqs {
			_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
			require.NoError(t, err)
		}
		var got []fault.Attempt
		for _, a := range sink.Ledger().Attempts() {
			slices.Sort(a.Instances)
			slices.Sort(a.Correlations)
			a.Time, a.Sender = time.Time{}, ""
			got = append(got, a)
		}
		ledgers = append(ledgers, got)
	}
	require.Len(t, ledgers[0], len(reqs))
	assert.Equal(t, []string{"worker-1", "worker-2"}, ledgers[0][0].Instances)
	assert.Equal(t, []string{"c-1", "c-2", "c-3", "task-on-resource"}, ledgers[0][0].Correlations)
	assert.Equal(t, 5, ledgers[0][0].Count)
	assert.Len(t, ledgers[0][0].Spans, 4)
	assert.Len(t, ledgers[0][1].Correlations, 25)
	assert.Equal(t, ledgers[1], ledgers[0], "the direct decoder's ledger (want) and pdata's (got)")
}

// putSorted puts attrs in key order, so that both sinks see the same request.
func putSorted(m pcommon.Map, attrs map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		m.PutStr(k, attrs[k])
	}
}
