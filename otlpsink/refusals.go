package otlpsink

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/spanstore"
)

// Refusal is one request the sink answered with an error: refused before
// decoding (a wrong method, content type or token, an oversized body), a body
// that did not decode, or a request to a path (or gRPC method) no signal is
// served on. Every refusal is also counted in [Sink.Stats].
type Refusal struct {
	// Time is when the sink answered.
	Time time.Time
	// Sender is the peer address ("127.0.0.1:51234").
	Sender    string
	Transport spanstore.Transport
	// Path is the HTTP path or the full gRPC method
	// ("/opentelemetry.proto.collector.trace.v1.TraceService/Export").
	Path string
	// Reason is the kind of refusal: a [spanstore.Stats] Refused key
	// ("unauthenticated", "too large", "content type", "content
	// encoding", "method"), [ReasonDecode] or [ReasonUnknownPath].
	Reason string
	// Message is what the sink answered, naming the request and, where one
	// is known, the fix (the OTLP paths for an unknown path, the accepted
	// content types for an unsupported one).
	Message string
}

// The Refusal reasons that are not Refused keys of [spanstore.Stats]: they
// are counted in its DecodeErrors and UnknownPaths instead.
const (
	ReasonDecode      = "decode error"
	ReasonUnknownPath = "unknown path"
)

// String is the refusal on one line: its time, transport and reason, then
// the message, with the path and sender added where the message does not
// name them.
func (r Refusal) String() string {
	msg := strings.ToValidUTF8(r.Message, "\uFFFD")
	head := r.Time.Format("15:04:05.000") + " " + string(r.Transport) + " " + r.Reason
	if r.Path != "" && !strings.Contains(r.Message, r.Path) {
		head += " at " + strings.ToValidUTF8(r.Path, "\uFFFD")
	}
	if r.Sender != "" && !strings.Contains(r.Message, r.Sender) {
		head += " from " + r.Sender
	}
	return head + ": " + msg
}

// WithOnRefused calls f with every request the sink refuses, as it happens,
// on the request's goroutine (after the refusal is counted, before the
// sender gets its answer): how traceproof serve says live what went wrong.
// f must be quick; it may call [Sink.Stats].
func WithOnRefused(f func(Refusal)) Option {
	return optionFunc(func(c *config) { c.onRefused = append(c.onRefused, f) })
}

// site is where a refused request came from, for [Refusal].
type site struct {
	sender    string
	transport spanstore.Transport
	path      string
}

func httpSite(r *http.Request) site {
	return site{sender: r.RemoteAddr, transport: spanstore.TransportHTTP, path: r.URL.Path}
}

func grpcSite(o spanstore.Origin, sig signal) site {
	return site{sender: o.Sender, transport: spanstore.TransportGRPC, path: "/" + sig.service + "/Export"}
}

// notify hands a refusal to the WithOnRefused callbacks. Caller must not
// hold c.mu.
func (c *receiverCounters) notify(at site, reason, msg string) {
	if len(c.onRefused) == 0 {
		return
	}
	r := Refusal{Time: time.Now(), Sender: at.sender, Transport: at.transport, Path: at.path, Reason: reason, Message: msg}
	for _, f := range c.onRefused {
		f(r)
	}
}

// cleanPaths answers a request whose path is not clean ("//v1/traces",
// "/v1/traces/../traces") as an unknown path. http.ServeMux would redirect it
// with 301, which an HTTP client follows as a GET: the exporter would then
// see "405 only POST is allowed" for a POST, and the sink would count
// nothing. Such paths come from an endpoint URL with a trailing slash.
func (s *Sink) cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; r.Method != http.MethodConnect && p != cleanPath(p) {
			s.unknownPath(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath is http.ServeMux's canonical form of a path: rooted, without
// "." and ".." elements or doubled slashes, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// grpcUnknown answers a gRPC call to a method no signal is served on
// (grpc-go would answer Unimplemented without counting it) with
// Unimplemented and the methods that are, and counts it under UnknownPaths.
func (s *Sink) grpcUnknown(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	sender := ""
	if p, ok := peer.FromContext(stream.Context()); ok && p.Addr != nil {
		sender = p.Addr.String()
	}
	msg := fmt.Sprintf("gRPC %s from %s: not an OTLP method; %s", method, sender, grpcMethodHint)
	s.recv.unknownPath(site{sender: sender, transport: spanstore.TransportGRPC, path: method}, msg)
	return status.Error(codes.Unimplemented, "traceproof sink: "+msg)
}

// grpcMethodHint says which gRPC methods OTLP exporters call.
const grpcMethodHint = "OTLP/gRPC exporters call /opentelemetry.proto.collector.trace.v1.TraceService/Export " +
	"(and the MetricsService and LogsService Export methods); point OTEL_EXPORTER_OTLP_ENDPOINT at the sink's gRPC address"
