package worker

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

const ns = "domain_events_py"

func setup(t *testing.T) (*store.Store, *Worker, *tracetest.SpanRecorder) {
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
	w := New(Config{InstanceID: "worker-python-1", Namespace: ns, Store: st, TracerProvider: tp})
	return st, w, rec
}

func createTask(t *testing.T, st *store.Store, corr string, taskCtx string) store.Task {
	t.Helper()
	def, ok := workflow.Lookup(ns, workflow.DomainEventPublishing, "")
	require.True(t, ok)
	task, err := st.CreateTask(context.Background(), store.NewTask{
		Namespace: ns, Name: def.Name, Version: def.Version, CorrelationID: corr,
		Context: json.RawMessage(taskCtx), Steps: def.StepNames(),
	})
	require.NoError(t, err)
	return task
}

// runAll claims and executes steps one by one until none is claimable.
func runAll(t *testing.T, st *store.Store, w *Worker) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for {
		cands, err := st.ClaimableSteps(ctx, ns, 10)
		require.NoError(t, err)
		if len(cands) == 0 {
			return n
		}
		for _, c := range cands {
			ok, err := st.ClaimStep(ctx, c.StepUUID, "worker-python-1")
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, w.Execute(ctx, c))
			n++
		}
	}
}

func strAttrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func TestExecuteSuccess(t *testing.T) {
	t.Parallel()
	st, w, rec := setup(t)
	task := createTask(t, st, "corr-ok", `{"order_id":"ORD-7"}`)
	require.Equal(t, 4, runAll(t, st, w))

	got, err := st.GetTask(context.Background(), task.UUID)
	require.NoError(t, err)
	for _, s := range got.Steps {
		assert.Equal(t, store.StepComplete, s.State, s.Name)
		assert.Equal(t, "worker-python-1", s.ExecutedBy)
	}
	assert.JSONEq(t, `{"order_id":"ORD-7","validated":true}`, string(got.Steps[0].Result))

	var execs []sdktrace.ReadOnlySpan
	routes := map[string]sdktrace.ReadOnlySpan{}
	traces := map[string]bool{}
	for _, s := range rec.Ended() {
		switch s.Name() {
		case SpanExecuteStep:
			execs = append(execs, s)
			assert.False(t, s.Parent().IsValid())
		case events.SpanRouteEvent:
			assert.False(t, s.Parent().IsValid(), "route_event is a root")
			routes[strAttrs(s.Attributes())["event_name"]] = s
			traces[s.SpanContext().TraceID().String()] = true
		}
	}
	require.Len(t, execs, 4)
	for i, s := range execs {
		a := strAttrs(s.Attributes())
		assert.Equal(t, map[string]string{
			"correlation_id": "corr-ok", "task_uuid": task.UUID, "step_uuid": got.Steps[i].UUID,
			"step_name": got.Steps[i].Name, "worker.instance_id": "worker-python-1", "namespace": ns,
		}, a)
		traces[s.SpanContext().TraceID().String()] = true
	}
	assert.Len(t, routes, 4)
	assert.Len(t, traces, 8, "every step execution and every event is its own trace")
	for name, mode := range map[string]string{
		"order.validated": "Fast", "payment.processed": "Durable", "inventory.updated": "Fast", "notification.sent": "Fast",
	} {
		require.Contains(t, routes, name)
		assert.Equal(t, mode, strAttrs(routes[name].Attributes())["delivery_mode"])
	}

	msgs, err := st.QueueMessages(context.Background(), events.QueueName(ns), "corr-ok")
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, "payment.processed", msgs[0].EventName)
	var body map[string]any
	require.NoError(t, json.Unmarshal(msgs[0].Payload, &body))
	assert.Equal(t, task.UUID, body["task_uuid"])
	assert.Equal(t, "corr-ok", body["correlation_id"])
	assert.Equal(t, "completed", body["status"])

	snap := w.Router().Snapshot("worker-python-1")
	assert.Equal(t, events.RouterStats{TotalRouted: 4, DurableRouted: 1, FastRouted: 3}, snap.Router)
	assert.Equal(t, uint64(3), snap.InProcessBus.TotalEventsDispatched)
}

func TestExecuteFailure(t *testing.T) {
	t.Parallel()
	st, w, rec := setup(t)
	task := createTask(t, st, "corr-fail", `{"simulate_failure":true}`)
	require.Equal(t, 2, runAll(t, st, w))

	got, err := st.GetTask(context.Background(), task.UUID)
	require.NoError(t, err)
	states := []string{}
	for _, s := range got.Steps {
		states = append(states, s.State)
	}
	assert.Equal(t, []string{store.StepComplete, store.StepError, store.StepPending, store.StepPending}, states)
	var res map[string]any
	require.NoError(t, json.Unmarshal(got.Steps[1].Result, &res))
	assert.Contains(t, res["error"], "simulated failure")

	var names []string
	for _, s := range rec.Ended() {
		if s.Name() == events.SpanRouteEvent {
			names = append(names, strAttrs(s.Attributes())["event_name"])
		}
		if s.Name() == SpanExecuteStep && strAttrs(s.Attributes())["step_name"] == workflow.StepProcessPayment {
			assert.Equal(t, codes.Error, s.Status().Code)
		}
	}
	assert.ElementsMatch(t, []string{"order.validated", "payment.failed"}, names)
	msgs, err := st.QueueMessages(context.Background(), events.QueueName(ns), "corr-fail")
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, "payment.failed", msgs[0].EventName)

	fc, err := st.FinalizableTasks(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, fc, 1)
	assert.Equal(t, store.TaskError, fc[0].FinalState)
}
