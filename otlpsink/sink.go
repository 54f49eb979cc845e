package otlpsink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"

	"github.com/traceproof/traceproof/spanstore"
)

// DefaultMaxMessageBytes caps one request body (after decompression).
const DefaultMaxMessageBytes = 64 << 20

// Sink is an OTLP receiver (gRPC and HTTP) in front of a [spanstore.Store].
// It is a span source for the assert package as it is: [Sink.Spans],
// [Sink.Changed] and [Sink.CorrelationKeys] read its store, and [Sink.Stats]
// adds what the receiver turned away to the store's counts.
type Sink struct {
	store *spanstore.Store
	cfg   config
	recv  receiverCounters
	fault faultState
	// direct: trace requests in protobuf decode straight into the store
	// (see Sink.export).
	direct bool

	grpcSrv  *grpc.Server
	grpcLis  net.Listener
	httpSrv  *http.Server
	httpLis  net.Listener
	served   sync.WaitGroup
	closeErr error
	closed   sync.Once
}

// Option configures a Sink.
type Option interface{ apply(*config) }

type config struct {
	grpcAddr, httpAddr string
	maxMessageBytes    int
	token              string
	onTraces           []func(ptrace.Traces, spanstore.Origin)
	store              *spanstore.Store
	handlers           []route
	fault              faultConfig
	onRefused          []func(Refusal)
	// pdataDecoder makes OTLP/protobuf trace requests go through pdata, the
	// reference decoder, instead of Store.IngestProto (tests and benchmarks
	// compare the two; see decoder_export_test.go).
	pdataDecoder bool
}

type route struct {
	pattern string
	h       http.Handler
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithGRPCAddr sets the gRPC listen address (default "127.0.0.1:0": loopback,
// a free port). "" turns the gRPC receiver off.
func WithGRPCAddr(addr string) Option { return optionFunc(func(c *config) { c.grpcAddr = addr }) }

// WithHTTPAddr sets the HTTP listen address (default "127.0.0.1:0"). "" turns
// the HTTP receiver off.
func WithHTTPAddr(addr string) Option { return optionFunc(func(c *config) { c.httpAddr = addr }) }

// WithMaxMessageBytes caps a request's size, decompressed (default 64 MiB).
// Larger requests get gRPC ResourceExhausted or HTTP 413.
func WithMaxMessageBytes(n int) Option {
	return optionFunc(func(c *config) { c.maxMessageBytes = n })
}

// WithToken makes the sink require "Authorization: Bearer <token>" on every
// request: gRPC Unauthenticated or HTTP 401 otherwise. Use it when the sink
// listens beyond loopback.
func WithToken(token string) Option { return optionFunc(func(c *config) { c.token = token }) }

// WithOnTraces calls f with every trace request the sink accepted, after its
// spans are stored, on the request's goroutine (the sender waits for it). f
// must not modify or retain td.
func WithOnTraces(f func(td ptrace.Traces, o spanstore.Origin)) Option {
	return optionFunc(func(c *config) { c.onTraces = append(c.onTraces, f) })
}

// WithHandler serves h on the HTTP port for pattern (an [http.ServeMux]
// pattern such as "/api/v1/" or "GET /{$}"), beside the OTLP paths: how
// traceproof serve adds its API and live view. Such routes never see the
// sink's bearer token check or fault rules; h does its own.
func WithHandler(pattern string, h http.Handler) Option {
	return optionFunc(func(c *config) { c.handlers = append(c.handlers, route{pattern, h}) })
}

// WithStore makes the sink store spans in st (configured with its span cap,
// correlation keys or ingest hook) instead of a new default
// [spanstore.Store]. The sink does not own st: several receivers may share
// one.
func WithStore(st *spanstore.Store) Option { return optionFunc(func(c *config) { c.store = st }) }

// New starts a sink listening on its gRPC and HTTP addresses. Close it when
// done; in a test, Start does that for you.
func New(opts ...Option) (*Sink, error) {
	c := config{grpcAddr: "127.0.0.1:0", httpAddr: "127.0.0.1:0", maxMessageBytes: DefaultMaxMessageBytes}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.maxMessageBytes <= 0 {
		c.maxMessageBytes = DefaultMaxMessageBytes
	}
	if c.grpcAddr == "" && c.httpAddr == "" {
		return nil, errors.New("otlpsink: both gRPC and HTTP receivers are off")
	}
	if c.store == nil {
		c.store = spanstore.New()
	}
	s := &Sink{store: c.store, cfg: c}
	s.recv.init(c.onRefused)
	if err := s.fault.start(c.fault, c.store); err != nil {
		return nil, err
	}
	s.direct = !c.pdataDecoder && len(c.onTraces) == 0 && s.fault.injector == nil

	if c.grpcAddr != "" {
		lis, err := net.Listen("tcp", c.grpcAddr)
		if err != nil {
			return nil, fmt.Errorf("otlpsink: gRPC listen on %s: %w", c.grpcAddr, err)
		}
		s.grpcLis = s.fault.conns.track(lis)
		s.grpcSrv = s.newGRPCServer()
	}
	if c.httpAddr != "" {
		lis, err := net.Listen("tcp", c.httpAddr)
		if err != nil {
			if s.grpcLis != nil {
				s.grpcLis.Close()
			}
			return nil, fmt.Errorf("otlpsink: HTTP listen on %s: %w", c.httpAddr, err)
		}
		s.httpLis = lis
		s.httpSrv = &http.Server{Handler: s.newHTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	if s.grpcSrv != nil {
		s.served.Go(func() { _ = s.grpcSrv.Serve(s.grpcLis) })
	}
	if s.httpSrv != nil {
		s.served.Go(func() { _ = s.httpSrv.Serve(s.httpLis) })
	}
	return s, nil
}

// Start starts a sink for a test and closes it in tb.Cleanup. It fails the
// test if the sink cannot listen.
func Start(tb testing.TB, opts ...Option) *Sink {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatalf("otlpsink.Start: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// GRPCAddr is the gRPC receiver's "host:port", or "" when it is off.
func (s *Sink) GRPCAddr() string {
	if s.grpcLis == nil {
		return ""
	}
	return s.grpcLis.Addr().String()
}

// HTTPAddr is the HTTP receiver's "host:port", or "" when it is off.
func (s *Sink) HTTPAddr() string {
	if s.httpLis == nil {
		return ""
	}
	return s.httpLis.Addr().String()
}

// HTTPURL is the HTTP receiver's base URL ("http://127.0.0.1:4318"); OTLP/HTTP
// exporters append /v1/traces themselves. "" when HTTP is off.
func (s *Sink) HTTPURL() string {
	if a := s.HTTPAddr(); a != "" {
		return "http://" + a
	}
	return ""
}

// Store is the store the sink fills.
func (s *Sink) Store() *spanstore.Store { return s.store }

// Spans returns the stored spans f selects, in arrival order.
func (s *Sink) Spans(f spanstore.Filter) []spanstore.Span { return s.store.Spans(f) }

// Changed returns a channel closed when a span arrives that could change
// what f selects.
func (s *Sink) Changed(f spanstore.Filter) <-chan struct{} { return s.store.Changed(f) }

// CorrelationKeys returns the keys the sink's store correlates by.
func (s *Sink) CorrelationKeys() []string { return s.store.CorrelationKeys() }

// TracesURL is the full OTLP/HTTP traces URL ("http://127.0.0.1:4318/v1/traces"),
// what OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and Go's
// otlptracehttp.WithEndpointURL need (they do not append the path). "" when
// HTTP is off.
func (s *Sink) TracesURL() string {
	if u := s.HTTPURL(); u != "" {
		return u + "/v1/traces"
	}
	return ""
}

// Close stops both receivers, letting requests in flight finish (for up to
// five seconds). The stored spans stay readable. Close is idempotent.
func (s *Sink) Close() error {
	s.closed.Do(func() {
		s.fault.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.httpSrv != nil {
			if err := s.httpSrv.Shutdown(ctx); err != nil {
				s.closeErr = err
				s.httpSrv.Close()
			}
		}
		if s.grpcSrv != nil {
			done := make(chan struct{})
			go func() { s.grpcSrv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				s.grpcSrv.Stop()
			}
		}
		s.served.Wait()
	})
	return s.closeErr
}
