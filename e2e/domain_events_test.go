package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tp "github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/e2e/tasker/harness"
)

// TestPublishingSuccess: the task completes, its 4 steps complete, and exactly
// the 4 events were published with the right delivery modes, proven from
// spans whichever instances ran them.
func TestPublishingSuccess(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, flavour string) {
		a := on(t)
		corr, task := startTask(t, flavour, false)
		final := finished(t, a, corr, task)
		require.Equal(t, harness.TaskComplete, final.State, "task %s", final.TaskUUID)
		require.Len(t, final.Steps, 4)
		for _, s := range final.Steps {
			assert.Equal(t, harness.StepComplete, s.State, "step %s", s.Name)
		}
		events := published(a, corr, successEvents...)
		for _, e := range events {
			assert.Equal(t, harness.NamespaceFor(flavour), e.Route.Attributes.Str("namespace"), "event %s", e.Name)
		}
	})
}

// TestStepResults checks each step's result fields, and that the instance the
// API says ran a step is the one whose execute_step span says so.
func TestStepResults(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, flavour string) {
		a := on(t)
		corr, task := startTask(t, flavour, false)
		final := finished(t, a, corr, task)
		want := map[string][]string{
			harness.StepValidateOrder:    {"order_id", "validated"},
			harness.StepProcessPayment:   {"transaction_id", "status"},
			harness.StepUpdateInventory:  {"items", "success"},
			harness.StepSendNotification: {"notification_id", "channel"},
		}
		for name, fields := range want {
			s, ok := final.Step(name)
			require.True(t, ok, "step %s missing", name)
			for _, f := range fields {
				assert.Contains(t, s.Result, f, "step %s result", name)
			}
		}
		v, _ := final.Step(harness.StepValidateOrder)
		assert.Equal(t, true, v.Result["validated"])
		p, _ := final.Step(harness.StepProcessPayment)
		assert.NotEmpty(t, p.Result["transaction_id"])
		inv, _ := final.Step(harness.StepUpdateInventory)
		assert.Equal(t, true, inv.Result["success"])
		n, _ := final.Step(harness.StepSendNotification)
		assert.NotEmpty(t, n.Result["channel"])

		stepUUIDs := make([]string, len(final.Steps))
		for i, s := range final.Steps {
			stepUUIDs[i] = s.StepUUID
		}
		byStep := a.OncePer(tp.Spans().Named("execute_step").Correlated(corr), "step_uuid", stepUUIDs...)
		for _, s := range final.Steps {
			if span, ok := byStep[s.StepUUID]; ok {
				assert.Equal(t, s.ExecutedBy, span.Instance(), "step %s: the API and the trace disagree on who ran it", s.Name)
			}
		}
		// The steps ran in the workflow's order, across instances.
		q := tp.Spans().Named("execute_step").Correlated(corr)
		a.InOrder(q.Attr("step_name", harness.StepValidateOrder), q.Attr("step_name", harness.StepProcessPayment),
			q.Attr("step_name", harness.StepUpdateInventory), q.Attr("step_name", harness.StepSendNotification))
	})
}

// TestConcurrentTasks runs 3 tasks at once per flavour; each must show
// exactly its own 4 events, however the instances interleave them.
func TestConcurrentTasks(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, flavour string) {
		tasks := startTasks(t, flavour, 3)
		a := on(t)
		for _, s := range tasks {
			final := finished(t, a, s.corr, s.task)
			assert.Equal(t, harness.TaskComplete, final.State)
			published(a, s.corr, successEvents...)
		}
	})
}

// TestFailurePath: with simulate_failure the payment step fails; payment.failed
// is published (durable) and neither payment.processed nor the steps after it
// publish anything.
func TestFailurePath(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, flavour string) {
		a := on(t)
		corr, task := startTask(t, flavour, true)
		final := finished(t, a, corr, task)
		assert.Equal(t, harness.TaskError, final.State)
		pay, _ := final.Step(harness.StepProcessPayment)
		assert.Equal(t, harness.StepError, pay.State)
		for _, name := range []string{harness.StepUpdateInventory, harness.StepSendNotification} {
			s, _ := final.Step(name)
			assert.NotEqual(t, harness.StepComplete, s.State, "step %s ran after the failure", name)
		}
		published(a, corr, failureEvents...)
		ev := domainevent.On(a)
		window := 500 * time.Millisecond
		for _, name := range []string{"payment.processed", "inventory.updated", "notification.sent"} {
			if ev.NotPublished(corr, name, window) {
				tally.absent.Add(1)
			}
		}
	})
}

// TestMetricsAvailability: every worker instance answers /metrics/events with
// its own worker_id (the endpoint the old, inferential check relied on).
func TestMetricsAvailability(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, flavour string) {
		urls := sys.WorkerURLs(flavour)
		require.NotEmpty(t, urls)
		if sys.Mode == harness.ModeCluster {
			require.Len(t, urls, 2, "cluster mode runs two instances of each flavour")
		}
		ids := map[string]bool{}
		for _, u := range urls {
			ctx, cancel := context.WithTimeout(context.Background(), taskTimeout)
			m, err := sys.Client.Metrics(ctx, u)
			cancel()
			require.NoError(t, err, "GET %s/metrics/events", u)
			assert.NotEmpty(t, m.WorkerID, "%s: worker_id", u)
			assert.False(t, m.CapturedAt.IsZero(), "%s: captured_at", u)
			assert.False(t, ids[m.WorkerID], "two instances report worker_id %q", m.WorkerID)
			ids[m.WorkerID] = true
		}
	})
}
