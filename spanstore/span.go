package spanstore

import (
	"encoding/hex"
	"fmt"
	"time"
)

// TraceID is a 16-byte W3C trace ID. Its String form is lowercase hex, as in
// OTLP/JSON.
type TraceID [16]byte

// SpanID is an 8-byte span ID.
type SpanID [8]byte

func (id TraceID) String() string { return hex.EncodeToString(id[:]) }
func (id SpanID) String() string  { return hex.EncodeToString(id[:]) }

// IsZero reports whether the ID is all zero bytes, which OTLP calls invalid.
func (id TraceID) IsZero() bool { return id == TraceID{} }

// IsZero reports whether the ID is all zero bytes (a root span's parent ID).
func (id SpanID) IsZero() bool { return id == SpanID{} }

// ParseTraceID parses 32 hex digits.
func ParseTraceID(s string) (TraceID, error) {
	var id TraceID
	if err := parseHexID(id[:], s); err != nil {
		return id, fmt.Errorf("trace ID %q: %w", s, err)
	}
	return id, nil
}

// ParseSpanID parses 16 hex digits.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if err := parseHexID(id[:], s); err != nil {
		return id, fmt.Errorf("span ID %q: %w", s, err)
	}
	return id, nil
}

func parseHexID(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("want %d hex digits, got %d", 2*len(dst), len(s))
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}

// SpanKind mirrors OTLP's span kind.
type SpanKind int32

// Span kinds, numbered as in OTLP.
const (
	KindUnspecified SpanKind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

var spanKindNames = [...]string{"Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"}

func (k SpanKind) String() string {
	if k >= 0 && int(k) < len(spanKindNames) {
		return spanKindNames[k]
	}
	return fmt.Sprintf("SpanKind(%d)", int32(k))
}

// StatusCode mirrors OTLP's span status code.
type StatusCode int32

// Status codes, numbered as in OTLP.
const (
	StatusUnset StatusCode = iota
	StatusOK
	StatusError
)

func (c StatusCode) String() string {
	switch c {
	case StatusUnset:
		return "Unset"
	case StatusOK:
		return "Ok"
	case StatusError:
		return "Error"
	}
	return fmt.Sprintf("StatusCode(%d)", int32(c))
}

// Status is a span's status.
type Status struct {
	Code    StatusCode
	Message string
}

// Event is a span event ("log line inside a span").
type Event struct {
	Name       string
	Time       time.Time
	Attributes Attributes
}

// Link points from a span to a span of another (or the same) trace.
type Link struct {
	TraceID    TraceID
	SpanID     SpanID
	TraceState string
	Attributes Attributes
}

// Resource describes the process that emitted a span. Spans of one process
// share the same Resource value (and its Attributes backing array): treat it
// as read-only.
type Resource struct {
	Attributes Attributes
	SchemaURL  string
}

// Scope is the instrumentation scope (the tracer) that emitted a span.
type Scope struct {
	Name       string
	Version    string
	Attributes Attributes
}

// Transport is how a span reached the sink.
type Transport string

// Encoding is the wire encoding a span arrived in.
type Encoding string

// Transports and encodings the sink records per span and in Stats.
const (
	TransportGRPC Transport = "grpc"
	TransportHTTP Transport = "http"
	TransportFile Transport = "file" // loaded from a dump
	TransportAPI  Transport = "api"  // handed to Store.Ingest directly

	EncodingProto Encoding = "proto"
	EncodingJSON  Encoding = "json"
)

// Origin says where and how a request reached the sink.
type Origin struct {
	// Sender is the peer address ("127.0.0.1:51234"), the file name for a
	// loaded dump, or whatever the caller of Ingest chose.
	Sender    string
	Transport Transport
	Encoding  Encoding
	// Compressed reports a gzip-compressed request.
	Compressed bool
}

// Span is one received span, with everything OTLP carried plus what only the
// sink knows (when and how it arrived). Spans are values built on demand from
// the store's compact form; changing one changes nothing in the store.
type Span struct {
	TraceID      TraceID
	SpanID       SpanID
	ParentSpanID SpanID
	TraceState   string
	Flags        uint32

	Name   string
	Kind   SpanKind
	Start  time.Time
	End    time.Time
	Status Status

	Attributes Attributes
	Events     []Event
	Links      []Link

	Resource Resource
	Scope    Scope

	// Received is when the sink accepted the request that held the span.
	Received time.Time
	Origin   Origin
	// Seq numbers spans in arrival order, from 1, over the store's life.
	Seq uint64
}

// Duration is End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// IsRoot reports whether the span has no parent.
func (s Span) IsRoot() bool { return s.ParentSpanID.IsZero() }

// Service is the resource's service.name.
func (s Span) Service() string {
	v, _ := s.Resource.Attributes.Get("service.name")
	return v.AsString()
}

// Instance names the process that emitted the span: the resource's
// service.instance.id, else host.name, else the sender's address.
func (s Span) Instance() string {
	for _, k := range []string{"service.instance.id", "host.name"} {
		if v, ok := s.Resource.Attributes.Get(k); ok {
			return v.AsString()
		}
	}
	return s.Origin.Sender
}

// HasEvent reports whether the span recorded an event with this name.
func (s Span) HasEvent(name string) bool {
	for _, e := range s.Events {
		if e.Name == name {
			return true
		}
	}
	return false
}

// Lookup finds key in the span's attributes, then in its events' attributes
// (first event that has it), then in its resource attributes.
func (s Span) Lookup(key string) (Value, bool) {
	if v, ok := s.Attributes.Get(key); ok {
		return v, true
	}
	for _, e := range s.Events {
		if v, ok := e.Attributes.Get(key); ok {
			return v, true
		}
	}
	return s.Resource.Attributes.Get(key)
}

// String is a one-line summary for messages.
func (s Span) String() string {
	return fmt.Sprintf("%s [%s] trace=%s span=%s instance=%s dur=%s",
		s.Name, s.Kind, s.TraceID, s.SpanID, s.Instance(), s.Duration())
}
