// Package telemetry sets up OpenTelemetry for a tasker process the way the
// real services do it: a batch span processor (configured by OTEL_BSP_*), a
// resource from the environment, and an OTLP exporter picked by the worker
// flavour unless OTEL_EXPORTER_OTLP_PROTOCOL says otherwise.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Process roles.
const (
	RoleOrchestration = "orchestration"
	RoleWorker        = "worker"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES set it.
const DefaultServiceName = "tasker-core"

// Config describes the process.
type Config struct {
	Role    string // RoleOrchestration or RoleWorker
	Flavour string // worker flavour: rust, ruby, python
	Logger  *slog.Logger
	// Getenv reads the environment; nil means os.Getenv. Only the exporter
	// choice uses it: the SDK itself always reads the real environment.
	Getenv func(string) string
}

// Telemetry holds the process's providers.
type Telemetry struct {
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider // nil when metrics are not exported
	res    *resource.Resource
	Traces Choice
	Metric Choice
}

// TracerProvider is the process's tracer provider (never nil).
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// Resource is the process's OpenTelemetry resource.
func (t *Telemetry) Resource() *resource.Resource { return t.res }

// MeterProvider is the process's meter provider (a no-op one when metrics
// are not exported).
func (t *Telemetry) MeterProvider() metric.MeterProvider {
	if t.mp == nil {
		return metricnoop.NewMeterProvider()
	}
	return t.mp
}

// Setup builds the providers. With no OTLP endpoint in the environment the
// tracer provider has no exporter: spans are created and dropped.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = osGetenv
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry error", "err", err)
	}))

	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	if err != nil {
		log.Warn("partial resource", "err", err)
	}

	t := &Telemetry{
		res:    res,
		Traces: choose(signalTraces, cfg.Role, cfg.Flavour, getenv),
		Metric: choose(signalMetrics, cfg.Role, cfg.Flavour, getenv),
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if t.Traces.Enabled {
		exp, err := newTraceExporter(ctx, t.Traces)
		if err != nil {
			return nil, fmt.Errorf("trace exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp)) // reads OTEL_BSP_*
	}
	t.tp = sdktrace.NewTracerProvider(tpOpts...)

	if t.Metric.Enabled {
		exp, err := newMetricExporter(ctx, t.Metric)
		if err != nil {
			_ = t.tp.Shutdown(ctx)
			return nil, fmt.Errorf("metric exporter: %w", err)
		}
		t.mp = sdkmetric.NewMeterProvider(
			sdkmetric.WithResource(res),
			sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), // reads OTEL_METRIC_EXPORT_*
		)
	}
	log.Info("telemetry configured",
		"traces", describe(t.Traces), "metrics", describe(t.Metric),
		"resource", res.Encoded(attribute.DefaultEncoder()))
	return t, nil
}

func describe(c Choice) string {
	switch {
	case !c.Enabled:
		return "off"
	case c.Gzip:
		return c.Protocol + "+gzip"
	default:
		return c.Protocol
	}
}

func newTraceExporter(ctx context.Context, c Choice) (sdktrace.SpanExporter, error) {
	if c.Protocol == ProtocolHTTPProtobuf {
		var opts []otlptracehttp.Option
		if c.Gzip {
			opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}
		return otlptracehttp.New(ctx, opts...)
	}
	var opts []otlptracegrpc.Option
	if c.Gzip {
		opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
	}
	return otlptracegrpc.New(ctx, opts...)
}

func newMetricExporter(ctx context.Context, c Choice) (sdkmetric.Exporter, error) {
	if c.Protocol == ProtocolHTTPProtobuf {
		var opts []otlpmetrichttp.Option
		if c.Gzip {
			opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
		}
		return otlpmetrichttp.New(ctx, opts...)
	}
	var opts []otlpmetricgrpc.Option
	if c.Gzip {
		opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
	}
	return otlpmetricgrpc.New(ctx, opts...)
}

// Shutdown flushes every pending span and metric and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if err := t.tp.ForceFlush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("flush spans: %w", err))
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown tracer provider: %w", err))
	}
	if t.mp != nil {
		if err := t.mp.ForceFlush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush metrics: %w", err))
		}
		if err := t.mp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown meter provider: %w", err))
		}
	}
	return errors.Join(errs...)
}
