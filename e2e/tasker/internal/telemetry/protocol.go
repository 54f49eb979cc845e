package telemetry

import (
	"os"
	"strings"
)

// OTLP protocols, spelled as OTEL_EXPORTER_OTLP_PROTOCOL values.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// signal is "TRACES" or "METRICS", as in OTEL_EXPORTER_OTLP_{signal}_*.
type signal string

const (
	signalTraces  signal = "TRACES"
	signalMetrics signal = "METRICS"
)

// Choice is how one signal is exported.
type Choice struct {
	Enabled  bool   // false: no exporter (no endpoint configured, or disabled)
	Protocol string // ProtocolGRPC or ProtocolHTTPProtobuf
	Gzip     bool   // force gzip compression (python flavour default)
}

// choose decides the exporter for a signal from the environment and the
// process's role and flavour, the way the real services differ: rust and
// orchestration export OTLP/gRPC, ruby OTLP/HTTP protobuf, python OTLP/gRPC
// with gzip. OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL overrides the flavour.
func choose(sig signal, role, flavour string, getenv func(string) string) Choice {
	exporterVar := "OTEL_TRACES_EXPORTER"
	if sig == signalMetrics {
		exporterVar = "OTEL_METRICS_EXPORTER"
	}
	if strings.EqualFold(strings.TrimSpace(getenv(exporterVar)), "none") {
		return Choice{}
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_"+string(sig)+"_ENDPOINT") == "" {
		return Choice{}
	}
	c := Choice{Enabled: true, Protocol: ProtocolGRPC}
	if role == RoleWorker {
		switch flavour {
		case "ruby":
			c.Protocol = ProtocolHTTPProtobuf
		case "python":
			c.Gzip = true
		}
	}
	p := getenv("OTEL_EXPORTER_OTLP_" + string(sig) + "_PROTOCOL")
	if p == "" {
		p = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "":
	case "grpc":
		c.Protocol = ProtocolGRPC
	default: // http/protobuf; http/json is not offered by the Go SDK
		c.Protocol = ProtocolHTTPProtobuf
	}
	if getenv("OTEL_EXPORTER_OTLP_COMPRESSION") != "" || getenv("OTEL_EXPORTER_OTLP_"+string(sig)+"_COMPRESSION") != "" {
		c.Gzip = false // the exporter reads the environment itself
	}
	return c
}

func osGetenv(k string) string { return os.Getenv(k) }
