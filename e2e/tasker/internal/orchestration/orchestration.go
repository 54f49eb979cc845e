// Package orchestration is the orchestration service: the task REST API and
// the loop that finalizes finished tasks, exactly once across instances.
package orchestration

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
)

const instrumentationName = "github.com/traceproof/traceproof/e2e/tasker/internal/orchestration"

// Config configures an orchestration instance.
type Config struct {
	InstanceID     string
	Store          *store.Store
	TracerProvider trace.TracerProvider // nil: no-op
	MeterProvider  metric.MeterProvider // nil: no-op
	Logger         *slog.Logger
	// PollInterval is the finalizer's base poll interval (plus up to as much
	// jitter). Zero means 10ms.
	PollInterval time.Duration
}

// Service is one orchestration instance.
type Service struct {
	cfg       Config
	store     *store.Store
	tracer    trace.Tracer
	log       *slog.Logger
	created   metric.Int64Counter
	finalized metric.Int64Counter
}

// New returns a service.
func New(cfg Config) *Service {
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = tracenoop.NewTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = metricnoop.NewMeterProvider()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	meter := cfg.MeterProvider.Meter(instrumentationName)
	created, _ := meter.Int64Counter("tasker.tasks.created", metric.WithDescription("Tasks created through this instance"))
	finalized, _ := meter.Int64Counter("tasker.tasks.finalized", metric.WithDescription("Tasks finalized by this instance, by final state"))
	return &Service{
		cfg:       cfg,
		store:     cfg.Store,
		tracer:    cfg.TracerProvider.Tracer(instrumentationName),
		log:       cfg.Logger,
		created:   created,
		finalized: finalized,
	}
}
