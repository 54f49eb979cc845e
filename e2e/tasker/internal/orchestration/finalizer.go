package orchestration

import (
	"context"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
)

// Span name and attribute keys of finalization.
const (
	SpanFinalizeTask          = "finalize_task"
	AttrCorrelationID         = "correlation_id"
	AttrTaskUUID              = "task_uuid"
	AttrTaskState             = "task.state"
	AttrNamespace             = "namespace"
	AttrTaskName              = "task_name"
	AttrOrchestrationInstance = "orchestration.instance_id"
)

// RunFinalizer finalizes ready tasks until ctx is done.
func (s *Service) RunFinalizer(ctx context.Context) {
	for {
		n := s.FinalizeReady(ctx)
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			continue
		}
		wait := s.cfg.PollInterval + rand.N(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// FinalizeReady tries to finalize every task that is ready and returns how
// many this instance won. Other instances may win some of them.
func (s *Service) FinalizeReady(ctx context.Context) int {
	cands, err := s.store.FinalizableTasks(ctx, 32)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("listing finalizable tasks", "err", err)
		}
		return 0
	}
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	won := 0
	for _, c := range cands {
		if ctx.Err() != nil {
			break
		}
		ok, err := s.finalize(context.WithoutCancel(ctx), c)
		if err != nil {
			s.log.Warn("finalizing task", "task_uuid", c.TaskUUID, "err", err)
			continue
		}
		if ok {
			won++
		}
	}
	return won
}

// finalize attempts the conditional update; only the winner emits the
// finalize_task span (a root span: its own trace).
func (s *Service) finalize(ctx context.Context, c store.FinalizeCandidate) (bool, error) {
	start := time.Now()
	ok, err := s.store.FinalizeTask(ctx, c.TaskUUID, c.FinalState, s.cfg.InstanceID)
	if err != nil || !ok {
		return false, err
	}
	attrs := []attribute.KeyValue{
		attribute.String(AttrCorrelationID, c.CorrelationID),
		attribute.String(AttrTaskUUID, c.TaskUUID),
		attribute.String(AttrTaskState, c.FinalState),
		attribute.String(AttrNamespace, c.Namespace),
		attribute.String(AttrTaskName, c.Name),
		attribute.String(AttrOrchestrationInstance, s.cfg.InstanceID),
	}
	_, span := s.tracer.Start(ctx, SpanFinalizeTask,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(start),
		trace.WithAttributes(attrs...))
	span.End()
	s.finalized.Add(ctx, 1, metric.WithAttributes(
		attribute.String(AttrTaskState, c.FinalState), attribute.String(AttrNamespace, c.Namespace)))
	s.log.Info("task finalized", "task_uuid", c.TaskUUID, "state", c.FinalState, "correlation_id", c.CorrelationID)
	return true, nil
}
