package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Span names, span event names and attribute keys of the domain-event spans.
const (
	SpanRouteEvent      = "route_event"
	SpanPublishEvent    = "publish_event"
	SpanSendJSONMessage = "send_json_message"
	SpanPublish         = "publish"

	EventRouting          = "Routing domain event"
	EventPublishing       = "Publishing domain event"
	EventPublished        = "Domain event published successfully"
	EventPublishingInProc = "Publishing in-process domain event"

	AttrDeliveryMode  = "delivery_mode"
	AttrEventName     = "event_name"
	AttrEventID       = "event_id"
	AttrNamespace     = "namespace"
	AttrTaskUUID      = "task_uuid"
	AttrCorrelationID = "correlation_id"
	AttrQueueName     = "queue_name"
	AttrQueue         = "queue"
)

// instrumentationName is the tracer and meter name.
const instrumentationName = "github.com/traceproof/traceproof/e2e/tasker/internal/events"

// QueueMessage is a durable message as handed to the DurableQueue.
type QueueMessage struct {
	EventID       string
	EventName     string
	TaskUUID      string
	CorrelationID string
	Payload       json.RawMessage
}

// DurableQueue stores durable messages; the worker backs it with the shared
// database's queue tables.
type DurableQueue interface {
	Send(ctx context.Context, queue string, m QueueMessage) error
}

// QueueFunc adapts a function to DurableQueue.
type QueueFunc func(ctx context.Context, queue string, m QueueMessage) error

// Send calls f.
func (f QueueFunc) Send(ctx context.Context, queue string, m QueueMessage) error {
	return f(ctx, queue, m)
}

// Config configures a Router. Nil providers mean no-op.
type Config struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Queue          DurableQueue
	Bus            *Bus
}

// Router routes domain events by delivery mode.
type Router struct {
	tracer trace.Tracer
	queue  DurableQueue
	bus    *Bus
	routed metric.Int64Counter

	total, durable, fast, broadcast, fastErrors, routingErrors atomic.Uint64
}

// NewRouter returns a router. A nil Bus gets a fresh one.
func NewRouter(cfg Config) *Router {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	bus := cfg.Bus
	if bus == nil {
		bus = NewBus()
	}
	routed, _ := mp.Meter(instrumentationName).Int64Counter("tasker.domain_events.routed",
		metric.WithDescription("Domain events routed, by delivery mode and outcome"))
	return &Router{
		tracer: tp.Tracer(instrumentationName),
		queue:  cfg.Queue,
		bus:    bus,
		routed: routed,
	}
}

// Bus is the router's in-process bus.
func (r *Router) Bus() *Bus { return r.bus }

// Stats returns the router counters.
func (r *Router) Stats() RouterStats {
	return RouterStats{
		TotalRouted:        r.total.Load(),
		DurableRouted:      r.durable.Load(),
		FastRouted:         r.fast.Load(),
		BroadcastRouted:    r.broadcast.Load(),
		FastDeliveryErrors: r.fastErrors.Load(),
		RoutingErrors:      r.routingErrors.Load(),
	}
}

// Route publishes ev. Each event is its own trace: route_event is always a
// new root span, whatever span ctx carries, because the real system does not
// propagate trace context into event publishing.
func (r *Router) Route(ctx context.Context, ev Event) (err error) {
	ctx, span := r.tracer.Start(ctx, SpanRouteEvent,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String(AttrDeliveryMode, string(ev.Mode)),
			attribute.String(AttrEventName, ev.Name),
			attribute.String(AttrNamespace, ev.Namespace),
		))
	defer span.End()
	span.AddEvent(EventRouting, trace.WithAttributes(
		attribute.String(AttrDeliveryMode, string(ev.Mode)),
		attribute.String(AttrEventName, ev.Name),
		attribute.String(AttrTaskUUID, ev.TaskUUID),
		attribute.String(AttrCorrelationID, ev.CorrelationID),
	))
	r.total.Add(1)
	defer func() {
		outcome := "ok"
		if err != nil {
			outcome = "error"
			span.SetStatus(codes.Error, err.Error())
		}
		r.routed.Add(ctx, 1, metric.WithAttributes(
			attribute.String(AttrDeliveryMode, string(ev.Mode)),
			attribute.String(AttrNamespace, ev.Namespace),
			attribute.String("outcome", outcome)))
	}()

	eventID, idErr := uuid.NewV7()
	if idErr != nil {
		r.routingErrors.Add(1)
		return idErr
	}
	id := eventID.String()
	switch ev.Mode {
	case Durable:
		if err := r.publishDurable(ctx, id, ev); err != nil {
			r.routingErrors.Add(1)
			return err
		}
		r.durable.Add(1)
	case Fast:
		if err := r.publishFast(ctx, id, ev); err != nil {
			r.fastErrors.Add(1)
			return err
		}
		r.fast.Add(1)
	case Broadcast:
		// Durable first: it is the delivery that must not be lost.
		if err := r.publishDurable(ctx, id, ev); err != nil {
			r.routingErrors.Add(1)
			return err
		}
		if err := r.publishFast(ctx, id, ev); err != nil {
			r.fastErrors.Add(1)
			return err
		}
		r.broadcast.Add(1)
	default:
		r.routingErrors.Add(1)
		return fmt.Errorf("route %s: unknown delivery mode %q", ev.Name, ev.Mode)
	}
	return nil
}

// payload is the event body with its identifying metadata.
func payload(eventID string, ev Event) map[string]any {
	p := make(map[string]any, len(ev.Payload)+6)
	for k, v := range ev.Payload {
		p[k] = v
	}
	p["event_id"] = eventID
	p["event_name"] = ev.Name
	p["namespace"] = ev.Namespace
	p["task_uuid"] = ev.TaskUUID
	p["correlation_id"] = ev.CorrelationID
	if ev.StepUUID != "" {
		p["step_uuid"] = ev.StepUUID
	}
	if ev.StepName != "" {
		p["step_name"] = ev.StepName
	}
	return p
}

func (r *Router) publishDurable(ctx context.Context, eventID string, ev Event) (err error) {
	queue := QueueName(ev.Namespace)
	ctx, span := r.tracer.Start(ctx, SpanPublishEvent,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String(AttrEventName, ev.Name),
			attribute.String(AttrNamespace, ev.Namespace),
			attribute.String(AttrCorrelationID, ev.CorrelationID),
		))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	span.AddEvent(EventPublishing, trace.WithAttributes(
		attribute.String(AttrEventID, eventID),
		attribute.String(AttrQueueName, queue),
		attribute.String(AttrTaskUUID, ev.TaskUUID),
		attribute.String(AttrCorrelationID, ev.CorrelationID),
	))
	body, err := json.Marshal(payload(eventID, ev))
	if err != nil {
		return fmt.Errorf("publish %s: %w", ev.Name, err)
	}
	if err := r.send(ctx, queue, QueueMessage{
		EventID:       eventID,
		EventName:     ev.Name,
		TaskUUID:      ev.TaskUUID,
		CorrelationID: ev.CorrelationID,
		Payload:       body,
	}); err != nil {
		return fmt.Errorf("publish %s to %s: %w", ev.Name, queue, err)
	}
	span.AddEvent(EventPublished)
	return nil
}

func (r *Router) send(ctx context.Context, queue string, m QueueMessage) (err error) {
	ctx, span := r.tracer.Start(ctx, SpanSendJSONMessage,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String(AttrQueue, queue)))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	if r.queue == nil {
		return errors.New("no durable queue configured")
	}
	return r.queue.Send(ctx, queue, m)
}

func (r *Router) publishFast(ctx context.Context, eventID string, ev Event) (err error) {
	ctx, span := r.tracer.Start(ctx, SpanPublish,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String(AttrEventName, ev.Name),
			attribute.String(AttrEventID, eventID),
			attribute.String(AttrNamespace, ev.Namespace),
		))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	span.AddEvent(EventPublishingInProc, trace.WithAttributes(
		attribute.String(AttrTaskUUID, ev.TaskUUID),
	))
	if err := r.bus.Publish(ctx, Message{
		EventID:       eventID,
		EventName:     ev.Name,
		Namespace:     ev.Namespace,
		TaskUUID:      ev.TaskUUID,
		CorrelationID: ev.CorrelationID,
		Payload:       payload(eventID, ev),
	}); err != nil {
		return fmt.Errorf("in-process delivery of %s: %w", ev.Name, err)
	}
	return nil
}
