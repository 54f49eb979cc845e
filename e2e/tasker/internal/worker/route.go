package worker

import (
	"context"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// route publishes one event of a step through the worker's router.
// Publishing is best effort, as in the real system: the step result stands
// whatever happens, and the router counted the error.
func (w *Worker) route(ctx context.Context, c store.Candidate, decl workflow.EventDecl, payload map[string]any) {
	err := w.router.Route(ctx, events.Event{
		Name:          decl.Name,
		Mode:          decl.Mode,
		Namespace:     c.Namespace,
		TaskUUID:      c.TaskUUID,
		StepUUID:      c.StepUUID,
		StepName:      c.StepName,
		CorrelationID: c.CorrelationID,
		Payload:       payload,
	})
	if err != nil {
		w.log.Warn("publishing domain event", "event", decl.Name, "task_uuid", c.TaskUUID, "err", err)
	}
}
