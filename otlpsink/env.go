package otlpsink

import (
	"strconv"
	"strings"
	"time"
)

// Protocol is an OTLP exporter protocol, as OTEL_EXPORTER_OTLP_PROTOCOL
// spells it.
type Protocol string

// The protocols OTel SDKs accept in OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolGRPC         Protocol = "grpc"
	ProtocolHTTPProtobuf Protocol = "http/protobuf"
	ProtocolHTTPJSON     Protocol = "http/json"
)

// ExporterScheduleDelay is the batch span processor delay ExporterEnv asks
// for: short, so a test sees spans soon after they end, yet still batching.
const ExporterScheduleDelay = 100 * time.Millisecond

// ExporterEnv returns the environment ("KEY=value" entries) that makes an
// OpenTelemetry SDK in another process export to this sink over protocol,
// naming itself instanceID (service.instance.id). Append it to os.Environ()
// for an exec.Cmd. Extra resource attributes ("key=value") may follow.
func (s *Sink) ExporterEnv(protocol Protocol, instanceID string, resourceAttrs ...string) []string {
	endpoint := s.HTTPURL()
	if protocol == ProtocolGRPC {
		endpoint = "http://" + s.GRPCAddr()
	}
	env := ExporterEnvFor(endpoint, protocol, instanceID, resourceAttrs...)
	if s.cfg.token != "" {
		env = append(env, "OTEL_EXPORTER_OTLP_HEADERS=Authorization="+escapeW3C("Bearer "+s.cfg.token))
	}
	return env
}

// ExporterEnvFor is ExporterEnv for an endpoint that is not a Sink's own, such
// as a Collector in front of one: the endpoint URL ("http://host:port"), the
// protocol, a short batch delay, and the resource attributes.
func ExporterEnvFor(endpoint string, protocol Protocol, instanceID string, resourceAttrs ...string) []string {
	env := []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint,
		"OTEL_EXPORTER_OTLP_PROTOCOL=" + string(protocol),
		"OTEL_EXPORTER_OTLP_INSECURE=true",
		"OTEL_BSP_SCHEDULE_DELAY=" + strconv.FormatInt(ExporterScheduleDelay.Milliseconds(), 10),
		"OTEL_TRACES_EXPORTER=otlp",
	}
	var res []string
	if instanceID != "" {
		res = append(res, "service.instance.id="+escapeW3C(instanceID))
	}
	for _, kv := range resourceAttrs {
		k, v, _ := strings.Cut(kv, "=")
		res = append(res, k+"="+escapeW3C(v))
	}
	if len(res) > 0 {
		env = append(env, "OTEL_RESOURCE_ATTRIBUTES="+strings.Join(res, ","))
	}
	return env
}

// escapeW3C percent-encodes a value for OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS, which the spec defines as W3C Baggage-like
// lists: ',', '=', '%', spaces and controls must be encoded.
func escapeW3C(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == ',' || c == '=' || c == '%' || c == ';' || c == '"' || c == '\\' {
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
