package telemetry

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestChoose(t *testing.T) {
	t.Parallel()
	ep := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}
	cases := []struct {
		name          string
		role, flavour string
		env           map[string]string
		want          Choice
	}{
		{"no endpoint", RoleWorker, "rust", nil, Choice{}},
		{"rust", RoleWorker, "rust", ep, Choice{Enabled: true, Protocol: ProtocolGRPC}},
		{"ruby", RoleWorker, "ruby", ep, Choice{Enabled: true, Protocol: ProtocolHTTPProtobuf}},
		{"python", RoleWorker, "python", ep, Choice{Enabled: true, Protocol: ProtocolGRPC, Gzip: true}},
		{"orchestration", RoleOrchestration, "", ep, Choice{Enabled: true, Protocol: ProtocolGRPC}},
		{"traces endpoint only", RoleWorker, "rust", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:1"}, Choice{Enabled: true, Protocol: ProtocolGRPC}},
		{"protocol override", RoleWorker, "rust", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		}, Choice{Enabled: true, Protocol: ProtocolHTTPProtobuf}},
		{"signal protocol wins", RoleWorker, "ruby", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
		}, Choice{Enabled: true, Protocol: ProtocolGRPC}},
		{"env compression", RoleWorker, "python", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_EXPORTER_OTLP_COMPRESSION": "none",
		}, Choice{Enabled: true, Protocol: ProtocolGRPC}},
		{"disabled", RoleWorker, "rust", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_TRACES_EXPORTER": "none",
		}, Choice{}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, choose(signalTraces, c.role, c.flavour, env(c.env)), c.name)
	}
	assert.Equal(t, Choice{}, choose(signalMetrics, RoleWorker, "rust", env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_METRICS_EXPORTER": "none",
	})))
}

func TestSetupWithoutEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=worker-rust-9")
	ctx := context.Background()
	tel, err := Setup(ctx, Config{Role: RoleWorker, Flavour: "rust"})
	require.NoError(t, err)
	assert.False(t, tel.Traces.Enabled)
	assert.False(t, tel.Metric.Enabled)
	_, span := tel.TracerProvider().Tracer("t").Start(ctx, "x")
	span.End()
	got := map[string]string{}
	for _, kv := range tel.Resource().Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	assert.Equal(t, DefaultServiceName, got["service.name"])
	assert.Equal(t, "worker-rust-9", got["service.instance.id"])
	require.NoError(t, tel.Shutdown(ctx))
}

func TestSetupServiceNameOverride(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "other")
	tel, err := Setup(context.Background(), Config{Role: RoleOrchestration, Getenv: env(nil)})
	require.NoError(t, err)
	got := map[string]string{}
	for _, kv := range tel.Resource().Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	assert.Equal(t, "other", got["service.name"])
	require.NoError(t, tel.Shutdown(context.Background()))
}
