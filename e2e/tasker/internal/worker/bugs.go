package worker

import (
	"context"
	"time"

	"github.com/traceproof/traceproof/e2e/tasker/internal/bugs"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
)

// secondClaimWait bounds how long the first instance running a step selected
// for the both_instances bug waits for another instance to claim it too.
// With a single instance of the flavour nobody ever does; the step then
// completes alone, once, after this delay.
const secondClaimWait = 10 * time.Second

// bugFor is the injected bug that applies to this step: the task's bug
// (Plan.For, the function tests use to predict it) if it targets this step.
func (w *Worker) bugFor(c store.Candidate) bugs.Bug {
	b := w.cfg.Bugs.For(c.CorrelationID)
	if b.Step != c.StepName {
		return bugs.Bug{}
	}
	return b
}

// logBug says on stderr what an injected bug does to this step, so that a
// run with bugs injected can be read against the worker logs.
func (w *Worker) logBug(b bugs.Bug, c store.Candidate, detail string) {
	w.log.Warn("injected bug", "bug", string(b.Kind), "detail", detail, "step", c.StepName,
		"correlation_id", c.CorrelationID, "task_uuid", c.TaskUUID, "step_uuid", c.StepUUID)
}

// awaitSecondClaim holds a step selected for the both_instances bug until
// another instance has claimed it as well (so both really run it), for at
// most secondClaimWait, or until ctx ends.
func (w *Worker) awaitSecondClaim(ctx context.Context, c store.Candidate, b bugs.Bug) {
	ctx, cancel := context.WithTimeout(ctx, secondClaimWait)
	defer cancel()
	for {
		attempts, by, err := w.store.StepClaims(ctx, c.StepUUID)
		if err == nil && attempts >= 2 {
			w.logBug(b, c, by+" claimed the step too")
			return
		}
		select {
		case <-ctx.Done():
			w.logBug(b, c, "no other instance claimed the step; it ran once")
			return
		case <-time.After(w.cfg.PollInterval):
		}
	}
}
