package harness

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	collmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed exports
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"
)

// receivedSpan is one span as a minimal in-test OTLP receiver got it.
type receivedSpan struct {
	resource  map[string]string
	span      *tracepb.Span
	transport string // grpc or http
	gzip      bool
}

func (s receivedSpan) attr(k string) string { return kvs(s.span.Attributes)[k] }

func kvs(attrs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range attrs {
		m[kv.Key] = kv.Value.GetStringValue()
	}
	return m
}

// receiver is a bare OTLP receiver (traces and metrics, gRPC and HTTP) that
// records everything it gets. The real sink lives in otlpsink/; this one only
// checks what the tasker binary exports.
type receiver struct {
	colltrace.UnimplementedTraceServiceServer
	collmetrics.UnimplementedMetricsServiceServer

	mu      sync.Mutex
	spans   []receivedSpan
	metrics map[string]int // metric name -> data points seen
	grpcURL string
	httpURL string
}

func (r *receiver) add(req *colltrace.ExportTraceServiceRequest, transport string, gz bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		res := kvs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				r.spans = append(r.spans, receivedSpan{resource: res, span: sp, transport: transport, gzip: gz})
			}
		}
	}
}

func (r *receiver) addMetrics(req *collmetrics.ExportMetricsServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rm := range req.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				r.metrics[m.Name]++
			}
		}
	}
}

func (r *receiver) Export(ctx context.Context, req *colltrace.ExportTraceServiceRequest) (*colltrace.ExportTraceServiceResponse, error) {
	enc, _ := ctx.Value(encodingKey{}).(*string)
	r.add(req, "grpc", enc != nil && *enc == "gzip")
	return &colltrace.ExportTraceServiceResponse{}, nil
}

// encodingKey holds, per RPC, the compression the client used (grpc-encoding
// is not visible in the incoming metadata; the stats handler sees it).
type encodingKey struct{}

type encodingRecorder struct{}

func (encodingRecorder) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, encodingKey{}, new(string))
}

func (encodingRecorder) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if in, ok := s.(*stats.InHeader); ok {
		if p, ok := ctx.Value(encodingKey{}).(*string); ok {
			*p = in.Compression
		}
	}
}

func (encodingRecorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (encodingRecorder) HandleConn(context.Context, stats.ConnStats) {}

type metricsServer struct {
	collmetrics.UnimplementedMetricsServiceServer
	r *receiver
}

func (m metricsServer) Export(_ context.Context, req *collmetrics.ExportMetricsServiceRequest) (*collmetrics.ExportMetricsServiceResponse, error) {
	m.r.addMetrics(req)
	return &collmetrics.ExportMetricsServiceResponse{}, nil
}

func (r *receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	gz := req.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var resp proto.Message
	switch req.URL.Path {
	case "/v1/traces":
		var tr colltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &tr); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(&tr, "http", gz)
		resp = &colltrace.ExportTraceServiceResponse{}
	case "/v1/metrics":
		var mr collmetrics.ExportMetricsServiceRequest
		if err := proto.Unmarshal(b, &mr); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.addMetrics(&mr)
		resp = &collmetrics.ExportMetricsServiceResponse{}
	default:
		http.NotFound(w, req)
		return
	}
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func startReceiver(t *testing.T) *receiver {
	r := &receiver{metrics: map[string]int{}}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.StatsHandler(encodingRecorder{}))
	colltrace.RegisterTraceServiceServer(gs, r)
	collmetrics.RegisterMetricsServiceServer(gs, metricsServer{r: r})
	go func() { _ = gs.Serve(gl) }()
	t.Cleanup(gs.Stop)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: http.HandlerFunc(r.serveHTTP), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(hl) }()
	t.Cleanup(func() { _ = hs.Close() })
	r.grpcURL = "http://" + gl.Addr().String()
	r.httpURL = "http://" + hl.Addr().String()
	return r
}

func (r *receiver) snapshot() []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedSpan(nil), r.spans...)
}

// The binary exports spans of the documented shapes over each flavour's
// protocol, with service.instance.id, and loses none on SIGTERM: the batch
// delay is a minute, so everything arrives through the shutdown flush.
func TestOTLPExportAndFlushOnStop(t *testing.T) {
	t.Parallel()
	r := startReceiver(t)
	c := StartTB(t, Config{
		Mode: ModeSingle,
		Env: func(role, id, flavour string) []string {
			endpoint := r.grpcURL
			if flavour == "ruby" {
				endpoint = r.httpURL
			}
			return []string{
				"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint,
				"OTEL_BSP_SCHEDULE_DELAY=60000",
				"OTEL_METRIC_EXPORT_INTERVAL=60000",
			}
		},
	})
	ctx := testCtx(t, 60*time.Second)
	client := c.Client()
	type tc struct {
		flavour string
		fail    bool
		task    Task
	}
	cases := []*tc{{flavour: "rust"}, {flavour: "ruby"}, {flavour: "python"}, {flavour: "rust", fail: true}}
	for _, cs := range cases {
		task, err := client.CreateTask(ctx, DomainEventTask(cs.flavour, corrID(t, cs.flavour), cs.fail))
		require.NoError(t, err)
		cs.task, err = client.WaitFinal(ctx, task.TaskUUID)
		require.NoError(t, err)
	}
	assert.Empty(t, r.snapshot(), "nothing exported before the batch delay or shutdown")
	require.NoError(t, c.Stop(ctx), "every process exits 0 after flushing")

	spans := r.snapshot()
	byID := map[string]receivedSpan{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.span.SpanId)] = s
		assert.Equal(t, "tasker-core", s.resource["service.name"])
		assert.NotEmpty(t, s.resource["service.instance.id"])
	}
	children := func(parent receivedSpan, name string) []receivedSpan {
		var out []receivedSpan
		for _, s := range spans {
			if s.span.Name == name && bytes.Equal(s.span.ParentSpanId, parent.span.SpanId) &&
				bytes.Equal(s.span.TraceId, parent.span.TraceId) {
				out = append(out, s)
			}
		}
		return out
	}

	for _, cs := range cases {
		corr := cs.task.CorrelationID
		instance := "worker-" + cs.flavour + "-1"
		wantTransport, wantGzip := "grpc", cs.flavour == "python"
		if cs.flavour == "ruby" {
			wantTransport = "http"
		}
		var routed []DomainEvent
		execs, finals := 0, 0
		for _, s := range spans {
			switch s.span.Name {
			case "route_event":
				if len(s.span.Events) != 1 || kvs(s.span.Events[0].Attributes)["correlation_id"] != corr {
					continue
				}
				assert.Empty(t, s.span.ParentSpanId, "route_event is a root")
				assert.Equal(t, "Routing domain event", s.span.Events[0].Name)
				assert.Equal(t, cs.task.TaskUUID, kvs(s.span.Events[0].Attributes)["task_uuid"])
				assert.Equal(t, instance, s.resource["service.instance.id"])
				assert.Equal(t, wantTransport, s.transport, cs.flavour)
				assert.Equal(t, wantGzip, s.gzip, cs.flavour)
				mode := s.attr("delivery_mode")
				routed = append(routed, DomainEvent{Name: s.attr("event_name"), DeliveryMode: mode})
				assert.Equal(t, NamespaceFor(cs.flavour), s.attr("namespace"))
				if mode == "Durable" {
					pubs := children(s, "publish_event")
					require.Len(t, pubs, 1)
					assert.Equal(t, corr, pubs[0].attr("correlation_id"))
					require.Len(t, pubs[0].span.Events, 2)
					assert.Equal(t, "Domain event published successfully", pubs[0].span.Events[1].Name)
					sends := children(pubs[0], "send_json_message")
					require.Len(t, sends, 1)
					assert.Equal(t, QueueName(NamespaceFor(cs.flavour)), sends[0].attr("queue"))
				} else {
					pubs := children(s, "publish")
					require.Len(t, pubs, 1)
					assert.NotEmpty(t, pubs[0].attr("event_id"))
					assert.Equal(t, cs.task.TaskUUID, kvs(pubs[0].span.Events[0].Attributes)["task_uuid"])
				}
			case "execute_step":
				if s.attr("correlation_id") == corr {
					execs++
					assert.Equal(t, instance, s.attr("worker.instance_id"))
				}
			case "finalize_task":
				if s.attr("correlation_id") == corr {
					finals++
					assert.Equal(t, "orchestration-1", s.resource["service.instance.id"])
					assert.Equal(t, cs.task.State, s.attr("task.state"))
				}
			}
		}
		var want []DomainEvent
		for _, e := range ExpectedEvents(cs.fail) {
			want = append(want, DomainEvent{Name: e.Name, DeliveryMode: e.DeliveryMode})
		}
		assert.ElementsMatch(t, want, routed, corr)
		wantExecs := 4
		if cs.fail {
			wantExecs = 2
		}
		assert.Equal(t, wantExecs, execs, corr)
		assert.Equal(t, 1, finals, corr)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	assert.Positive(t, r.metrics["tasker.steps.executed"], "worker metrics flushed on stop: %v", r.metrics)
	assert.Positive(t, r.metrics["tasker.tasks.finalized"], "orchestration metrics flushed on stop: %v", r.metrics)
}
