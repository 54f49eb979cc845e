package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/e2e/tasker/internal/bugs"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// Span name and attribute keys of step execution.
const (
	SpanExecuteStep    = "execute_step"
	AttrCorrelationID  = "correlation_id"
	AttrTaskUUID       = "task_uuid"
	AttrStepUUID       = "step_uuid"
	AttrStepName       = "step_name"
	AttrWorkerInstance = "worker.instance_id"
	AttrNamespace      = "namespace"
)

// Execute runs one step this worker has claimed: the handler, then the
// step's domain events (each its own trace), then the result. Events are
// published before the step is marked finished, so that by the time the task
// is finalized every event of it has been routed.
func (w *Worker) Execute(ctx context.Context, c store.Candidate) error {
	return w.execute(ctx, ctx, c, false)
}

// execute is Execute for a step claimed normally or, with second set, by
// ClaimAgain (the injected both_instances bug). waitCtx ends that bug's wait
// for a second claim, when the worker stops.
func (w *Worker) execute(ctx, waitCtx context.Context, c store.Candidate, second bool) (err error) {
	ctx, span := w.tracer.Start(ctx, SpanExecuteStep,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String(AttrCorrelationID, c.CorrelationID),
			attribute.String(AttrTaskUUID, c.TaskUUID),
			attribute.String(AttrStepUUID, c.StepUUID),
			attribute.String(AttrStepName, c.StepName),
			attribute.String(AttrWorkerInstance, w.cfg.InstanceID),
			attribute.String(AttrNamespace, c.Namespace),
		))
	outcome := "complete"
	defer func() {
		if err != nil {
			outcome = "error"
			span.SetStatus(codes.Error, err.Error())
		}
		w.executed.Add(ctx, 1, metric.WithAttributes(
			attribute.String(AttrStepName, c.StepName),
			attribute.String(AttrNamespace, c.Namespace),
			attribute.String("outcome", outcome)))
		span.End()
	}()

	def, ok := workflow.Lookup(c.Namespace, c.TaskName, "")
	var step workflow.StepDef
	if ok {
		step, ok = def.Step(c.StepName)
	}
	if !ok {
		msg := fmt.Sprintf("no handler for %s/%s step %s", c.Namespace, c.TaskName, c.StepName)
		_ = w.store.FailStep(ctx, c.StepUUID, w.cfg.InstanceID, marshalResult(map[string]any{"error": msg}))
		return errors.New(msg)
	}
	var taskCtx map[string]any
	if len(c.Context) > 0 {
		if err := json.Unmarshal(c.Context, &taskCtx); err != nil {
			taskCtx = nil
		}
	}
	out := step.Handler(workflow.Input{
		TaskUUID:      c.TaskUUID,
		StepUUID:      c.StepUUID,
		StepName:      c.StepName,
		Namespace:     c.Namespace,
		CorrelationID: c.CorrelationID,
		Context:       taskCtx,
	})
	bug := w.bugFor(c)
	if bug.Kind == bugs.BothInstances {
		detail := "waiting for another instance to run the step too"
		if second {
			detail = "running a step another instance claimed and runs"
		}
		w.logBug(bug, c, detail)
	}
	for _, decl := range step.EventsFor(out.Success) {
		times := 1
		if decl.Name == bug.Event {
			switch bug.Kind {
			case bugs.Lost:
				times = 0
				w.logBug(bug, c, "not publishing "+decl.Name)
			case bugs.Duplicate:
				times = 2
				w.logBug(bug, c, "publishing "+decl.Name+" twice")
			}
		}
		for range times {
			w.route(ctx, c, decl, out.Result)
		}
	}
	if bug.Kind == bugs.BothInstances && !second {
		w.awaitSecondClaim(waitCtx, c, bug)
	}
	result := marshalResult(out.Result)
	if !out.Success {
		outcome = "failed"
		span.SetStatus(codes.Error, fmt.Sprint(out.Result["error"]))
		if err := w.store.FailStep(ctx, c.StepUUID, w.cfg.InstanceID, result); err != nil {
			return fmt.Errorf("recording failure: %w", err)
		}
		w.log.Info("step failed", "task_uuid", c.TaskUUID, "step", c.StepName, "correlation_id", c.CorrelationID)
		return nil
	}
	if err := w.store.CompleteStep(ctx, c.StepUUID, w.cfg.InstanceID, result); err != nil {
		if bug.Kind == bugs.BothInstances && errors.Is(err, store.ErrNotClaimed) {
			return fmt.Errorf("recording result: %w (injected both_instances bug: another instance took the step over)", err)
		}
		return fmt.Errorf("recording result: %w", err)
	}
	w.log.Debug("step complete", "task_uuid", c.TaskUUID, "step", c.StepName, "correlation_id", c.CorrelationID)
	return nil
}
