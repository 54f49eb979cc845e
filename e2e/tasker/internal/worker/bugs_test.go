package worker

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/traceproof/traceproof/e2e/tasker/internal/bugs"
	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// buggyWorkers opens a store and returns workers sharing it and one span
// recorder, each injecting plan.
func buggyWorkers(t *testing.T, plan bugs.Plan, ids ...string) (*store.Store, []*Worker, *tracetest.SpanRecorder) {
	t.Helper()
	ctx := context.Background()
	var queues []string
	for _, n := range workflow.Namespaces() {
		queues = append(queues, events.QueueName(n))
	}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), queues...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(ctx) })
	var ws []*Worker
	for _, id := range ids {
		ws = append(ws, New(Config{InstanceID: id, Namespace: ns, Store: st, TracerProvider: tp, Bugs: plan}))
	}
	return st, ws, rec
}

// routed lists the event names of the route_event spans recorded, in order.
func routed(rec *tracetest.SpanRecorder) []string {
	var names []string
	for _, s := range rec.Ended() {
		if s.Name() == events.SpanRouteEvent {
			names = append(names, strAttrs(s.Attributes())["event_name"])
		}
	}
	return names
}

func TestInjectedLostEvent(t *testing.T) {
	t.Parallel()
	st, ws, rec := buggyWorkers(t, bugs.Plan{Lost: 1}, "worker-python-1")
	task := createTask(t, st, "corr-lost", `{}`)
	require.Equal(t, 4, runAll(t, st, ws[0]))
	assert.ElementsMatch(t, []string{"order.validated", "inventory.updated", "notification.sent"}, routed(rec),
		"payment.processed is neither routed nor published")
	msgs, err := st.QueueMessages(context.Background(), events.QueueName(ns), "corr-lost")
	require.NoError(t, err)
	assert.Empty(t, msgs, "nothing reached the durable queue")
	got, err := st.GetTask(context.Background(), task.UUID)
	require.NoError(t, err)
	for _, s := range got.Steps {
		assert.Equal(t, store.StepComplete, s.State, "the step result stands: %s", s.Name)
	}
	assert.Equal(t, events.RouterStats{TotalRouted: 3, FastRouted: 3}, ws[0].Router().Stats())
}

func TestInjectedDuplicateEvent(t *testing.T) {
	t.Parallel()
	st, ws, rec := buggyWorkers(t, bugs.Plan{Duplicate: 1}, "worker-python-1")
	createTask(t, st, "corr-dup", `{}`)
	require.Equal(t, 4, runAll(t, st, ws[0]))
	assert.ElementsMatch(t, []string{"order.validated", "payment.processed", "inventory.updated", "inventory.updated", "notification.sent"}, routed(rec))
	publishes := 0
	for _, s := range rec.Ended() {
		if s.Name() == events.SpanPublish && strAttrs(s.Attributes())["event_name"] == "inventory.updated" {
			publishes++
		}
	}
	assert.Equal(t, 2, publishes, "both routes really published")
	assert.Equal(t, events.RouterStats{TotalRouted: 5, DurableRouted: 1, FastRouted: 4}, ws[0].Router().Stats())
}

// TestInjectedBothInstances: the first instance runs the step and waits;
// the second claims it again and runs it too; both publish its events, and
// the first one's result is refused.
func TestInjectedBothInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, ws, rec := buggyWorkers(t, bugs.Plan{BothInstances: 1}, "worker-python-1", "worker-python-2")
	task := createTask(t, st, "corr-both", `{}`)
	pay := claimThrough(t, st, ws[0], workflow.StepProcessPayment)

	first := make(chan error, 1)
	go func() { first <- ws[0].execute(ctx, ctx, pay, false) }()
	var wg sync.WaitGroup
	// The first instance claimed the step before execute started, so the
	// second sees it at once.
	require.Equal(t, 1, ws[1].claimAgain(ctx, &wg))
	wg.Wait()
	err := <-first
	require.ErrorIs(t, err, store.ErrNotClaimed)
	assert.Contains(t, err.Error(), "both_instances")

	got, err := st.GetTask(ctx, task.UUID)
	require.NoError(t, err)
	s := got.Steps[1]
	assert.Equal(t, store.StepComplete, s.State)
	assert.Equal(t, "worker-python-2", s.ExecutedBy)
	assert.Equal(t, 2, s.Attempts)

	var ranBy []string
	for _, sp := range rec.Ended() {
		a := strAttrs(sp.Attributes())
		if sp.Name() == SpanExecuteStep && a["step_uuid"] == pay.StepUUID {
			ranBy = append(ranBy, a["worker.instance_id"])
		}
	}
	assert.ElementsMatch(t, []string{"worker-python-1", "worker-python-2"}, ranBy)
	assert.Equal(t, []string{"order.validated", "payment.processed", "payment.processed"}, routed(rec))
	msgs, err := st.QueueMessages(ctx, events.QueueName(ns), "corr-both")
	require.NoError(t, err)
	assert.Len(t, msgs, 2)

	// The rest of the task runs once, as usual.
	require.Equal(t, 2, runAll(t, st, ws[0]))
	assert.Len(t, routed(rec), 5)
}

// TestInjectedBothInstancesAlone: with no second instance the wait ends (here
// at once, as when the worker stops) and the step completes, once.
func TestInjectedBothInstancesAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, ws, rec := buggyWorkers(t, bugs.Plan{BothInstances: 1}, "worker-python-1")
	createTask(t, st, "corr-alone", `{}`)
	pay := claimThrough(t, st, ws[0], workflow.StepProcessPayment)
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, ws[0].execute(ctx, stopped, pay, false))
	attempts, by, err := st.StepClaims(ctx, pay.StepUUID)
	require.NoError(t, err)
	assert.Equal(t, 1, attempts)
	assert.Equal(t, "worker-python-1", by)
	assert.Equal(t, []string{"order.validated", "payment.processed"}, routed(rec))
}

// claimThrough runs w over the task's steps before step, then claims step
// for w and returns it.
func claimThrough(t *testing.T, st *store.Store, w *Worker, step string) store.Candidate {
	t.Helper()
	ctx := context.Background()
	for {
		cands, err := st.ClaimableSteps(ctx, ns, 1)
		require.NoError(t, err)
		require.Len(t, cands, 1, "no step claimable before %s", step)
		c := cands[0]
		ok, err := st.ClaimStep(ctx, c.StepUUID, w.cfg.InstanceID)
		require.NoError(t, err)
		require.True(t, ok)
		if c.StepName == step {
			return c
		}
		require.NoError(t, w.Execute(ctx, c))
	}
}
