package collector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// collectorBin builds (once per test binary) or finds the Collector, and
// skips under -short: a cold build compiles the whole Collector.
func collectorBin(t *testing.T) string {
	t.Helper()
	if testing.Short() && os.Getenv(EnvBin) == "" {
		t.Skip("-short: skipping tests that build the OpenTelemetry Collector (set " + EnvBin + " to use a prebuilt one)")
	}
	p, err := Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitTimeout bounds every wait for spans; generous because the Collector
// batches (200ms) and the sink may be slow to accept on a loaded machine.
func waitTimeout() time.Duration { return scaled(30 * time.Second) }

// gotSpan is one span as the test sink received it.
type gotSpan struct {
	name, service, instance, auth string
}

// testSink is a minimal OTLP/gRPC trace receiver: it reports every span on
// a channel, so tests wait for exactly what they sent without polling.
type testSink struct {
	ptraceotlp.UnimplementedGRPCServer
	token string
	spans chan gotSpan
	addr  string
}

func startTestSink(t *testing.T, token string) *testSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testSink{token: token, spans: make(chan gotSpan, 1024), addr: l.Addr().String()}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, s)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *testSink) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	var auth string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			auth = v[0]
		}
	}
	if s.token != "" && auth != "Bearer "+s.token {
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unauthenticated, "bad or missing bearer token")
	}
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		attr := func(k string) string {
			if v, ok := rs.Resource().Attributes().Get(k); ok {
				return v.AsString()
			}
			return ""
		}
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				got := gotSpan{name: spans.At(k).Name(), service: attr("service.name"), instance: attr("service.instance.id"), auth: auth}
				select {
				case s.spans <- got:
				case <-ctx.Done():
					return ptraceotlp.NewExportResponse(), ctx.Err()
				}
			}
		}
	}
	return ptraceotlp.NewExportResponse(), nil
}

// waitFor receives spans until every name in want has arrived, and returns
// them by name; it fails the test at the deadline with what did arrive.
func (s *testSink) waitFor(t *testing.T, c []*Collector, want ...string) map[string]gotSpan {
	t.Helper()
	missing := map[string]bool{}
	for _, n := range want {
		missing[n] = true
	}
	got := map[string]gotSpan{}
	var others []string
	deadline := time.NewTimer(waitTimeout())
	defer deadline.Stop()
	for len(missing) > 0 {
		select {
		case sp := <-s.spans:
			if missing[sp.name] {
				delete(missing, sp.name)
				got[sp.name] = sp
			} else {
				others = append(others, sp.name)
			}
		case <-deadline.C:
			var logs strings.Builder
			for i, col := range c {
				fmt.Fprintf(&logs, "--- collector %d log tail ---\n%s", i, col.LogTail(30))
			}
			t.Fatalf("after %v the sink still lacks %v (other spans seen: %v)\n%s", waitTimeout(), keys(missing), others, logs.String())
		}
	}
	return got
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// sendSpan exports one span named name from a service instance, the way a
// worker's SDK does (batch span processor), over OTLP/gRPC or OTLP/HTTP.
func sendSpan(t *testing.T, exp sdktrace.SpanExporter, instance, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout())
	defer cancel()
	res := resource.NewSchemaless(
		attribute.String("service.name", "tasker-core"),
		attribute.String("service.instance.id", instance),
	)
	// A long batch timeout: ForceFlush below sends, and returns the
	// export's error, which an automatic background flush would swallow.
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Hour)),
	)
	defer func() { _ = tp.Shutdown(ctx) }()
	_, span := tp.Tracer("traceproof/e2e/internal/collector").Start(ctx, name)
	span.SetAttributes(attribute.String("correlation_id", name))
	span.End()
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatalf("exporting %q: %v", name, err)
	}
}

func grpcExporter(t *testing.T, endpoint string) sdktrace.SpanExporter {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func httpExporter(t *testing.T, baseURL string) sdktrace.SpanExporter {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(baseURL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func uniqueName(t *testing.T, what string) string {
	return fmt.Sprintf("%s/%s/%d", t.Name(), what, time.Now().UnixNano())
}

func TestValidateConfigs(t *testing.T) {
	t.Parallel()
	bin := collectorBin(t)
	ctx := context.Background()
	def, err := DefaultConfigPath()
	if err != nil {
		t.Fatal(err)
	}
	nop, err := BenchNopConfigPath()
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(ctx, bin, def, EnvSinkEndpoint+"=127.0.0.1:1"); err != nil {
		t.Errorf("collector-config.yaml: %v", err)
	}
	if err := Validate(ctx, bin, nop); err != nil {
		t.Errorf("bench-nop.yaml: %v", err)
	}
	// The sink address is the one thing the config cannot default; an unset
	// variable must fail loudly rather than start a Collector that drops
	// everything.
	err = Validate(ctx, bin, def, EnvSinkEndpoint+"=")
	if err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("collector-config.yaml without %s: got %v, want an error about the endpoint", EnvSinkEndpoint, err)
	}
}

// TestSpansReachSinkThroughCollectors runs two Collectors at once (they
// must not fight over a port: internal telemetry is off) in front of one
// sink, and sends spans over both OTLP transports from two "instances".
func TestSpansReachSinkThroughCollectors(t *testing.T) {
	t.Parallel()
	bin := collectorBin(t)
	sink := startTestSink(t, "")
	c1 := StartTB(t, Config{BinPath: bin, SinkEndpoint: sink.addr})
	c2 := StartTB(t, Config{BinPath: bin, SinkEndpoint: sink.addr})
	if c1.GRPCEndpoint() == c2.GRPCEndpoint() || c1.HTTPEndpoint() == c2.HTTPEndpoint() {
		t.Fatalf("collectors share receivers: %s %s / %s %s", c1.GRPCEndpoint(), c1.HTTPEndpoint(), c2.GRPCEndpoint(), c2.HTTPEndpoint())
	}

	viaGRPC := uniqueName(t, "grpc")
	viaHTTP := uniqueName(t, "http")
	sendSpan(t, grpcExporter(t, c1.GRPCEndpoint()), "worker-rust-1", viaGRPC)
	sendSpan(t, httpExporter(t, c2.HTTPEndpoint()), "worker-rust-2", viaHTTP)

	got := sink.waitFor(t, []*Collector{c1, c2}, viaGRPC, viaHTTP)
	for name, instance := range map[string]string{viaGRPC: "worker-rust-1", viaHTTP: "worker-rust-2"} {
		sp := got[name]
		if sp.service != "tasker-core" || sp.instance != instance {
			t.Errorf("span %q: service %q instance %q, want tasker-core %q (resource must pass through the Collector)", name, sp.service, sp.instance, instance)
		}
		if sp.auth != "" {
			t.Errorf("span %q came with Authorization %q, want none without a token", name, sp.auth)
		}
	}
}

func TestSinkToken(t *testing.T) {
	t.Parallel()
	bin := collectorBin(t)
	const token = "s3cret-token"
	sink := startTestSink(t, token)
	c := StartTB(t, Config{BinPath: bin, SinkEndpoint: sink.addr, SinkToken: token})
	name := uniqueName(t, "span")
	sendSpan(t, grpcExporter(t, c.GRPCEndpoint()), "worker-ruby-1", name)
	got := sink.waitFor(t, []*Collector{c}, name)
	if a := got[name].auth; a != "Bearer "+token {
		t.Errorf("Authorization = %q, want %q", a, "Bearer "+token)
	}
}

// TestBenchNop starts the receiver-only config: it needs no sink, and the
// nop exporter accepts everything.
func TestBenchNop(t *testing.T) {
	t.Parallel()
	bin := collectorBin(t)
	cfgPath, err := BenchNopConfigPath()
	if err != nil {
		t.Fatal(err)
	}
	c := StartTB(t, Config{BinPath: bin, ConfigPath: cfgPath})
	sendSpan(t, grpcExporter(t, c.GRPCEndpoint()), "bench", uniqueName(t, "grpc"))
	sendSpan(t, httpExporter(t, c.HTTPEndpoint()), "bench", uniqueName(t, "http"))
}

func TestStop(t *testing.T) {
	t.Parallel()
	bin := collectorBin(t)
	sink := startTestSink(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), scaled(2*time.Minute))
	defer cancel()
	c, err := Start(ctx, Config{BinPath: bin, SinkEndpoint: sink.addr, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.GRPCEndpoint()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Stop returned")
	}
	if err := c.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Stop", addr)
	}
	log, err := os.ReadFile(c.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), readyLine) {
		t.Errorf("log file lacks %q:\n%s", readyLine, log)
	}
}

// TestStartFailsWithLog checks that a Collector that cannot start (here: a
// config it rejects) fails Start promptly, with its own error in the message.
func TestStartFailsWithLog(t *testing.T) {
	t.Parallel()
	bin := collectorBin(t)
	bad := t.TempDir() + "/bad.yaml"
	if err := os.WriteFile(bad, []byte("receivers:\n  nosuchreceiver:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{BinPath: bin, ConfigPath: bad})
	if err == nil {
		t.Fatal("Start succeeded with an invalid config")
	}
	if errors.Is(err, errPortTaken) || !strings.Contains(err.Error(), "nosuchreceiver") {
		t.Errorf("Start error does not carry the Collector's complaint:\n%v", err)
	}
}

func TestStartNeedsSinkEndpoint(t *testing.T) {
	_, err := Start(context.Background(), Config{BinPath: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "SinkEndpoint") {
		t.Fatalf("got %v, want an error naming SinkEndpoint", err)
	}
}
