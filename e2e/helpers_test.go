package e2e

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tp "github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/e2e/tasker/harness"
)

// taskTimeout bounds one task's run from creation to its spans; scaled by
// TRACEPROOF_TIMEOUT_SCALE on slow machines.
var taskTimeout = tp.Scaled(30 * time.Second)

// on returns assertions over the suite's span source (the sink, Jaeger, or
// a traceproof serve through its remote API) for t, and makes a failing t
// print the tail of every process log next to the span report.
func on(t *testing.T) *tp.Assertions {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process logs (last lines):\n%s", sys.LogTail(15))
		}
	})
	if sys.JaegerSource != nil {
		jaegerHealthy(t)
	}
	return tp.On(t, sys.Source) // through Jaeger, its settle window is the source's own
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// newCorrelationID is unique per test and per run, and says which test it
// belongs to when it shows up in a dump.
func newCorrelationID(t *testing.T) string {
	return fmt.Sprintf("%s-%s", nonWord.ReplaceAllString(t.Name(), "-"), uuid.NewString()[:8])
}

// startTask creates a domain_event_publishing task in flavour's namespace with
// a fresh correlation ID.
func startTask(t *testing.T, flavour string, simulateFailure bool) (corr string, task harness.Task) {
	t.Helper()
	corr = newCorrelationID(t)
	ctx, cancel := context.WithTimeout(context.Background(), taskTimeout)
	defer cancel()
	task, err := sys.Client.CreateTask(ctx, harness.DomainEventTask(flavour, corr, simulateFailure))
	require.NoError(t, err, "creating a task")
	tally.tasks.Add(1)
	return corr, task
}

// startedTask is a task created by a test, with its correlation ID.
type startedTask struct {
	corr string
	task harness.Task
}

// startTasks creates n tasks in flavour's namespace at once, the way a burst
// of clients would, and stops the test if any creation failed.
func startTasks(t *testing.T, flavour string, n int) []startedTask {
	t.Helper()
	tasks := make([]startedTask, n)
	var wg sync.WaitGroup
	for i := range tasks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), taskTimeout)
			defer cancel()
			corr := fmt.Sprintf("%s-%02d", newCorrelationID(t), i)
			task, err := sys.Client.CreateTask(ctx, harness.DomainEventTask(flavour, corr, false))
			if assert.NoError(t, err) {
				tally.tasks.Add(1)
				tasks[i] = startedTask{corr, task}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed(), "could not create %d tasks at once", n)
	return tasks
}

// finished waits for the task's finalize_task span, proof from the traces
// that an orchestration instance finalized it, then reads the task's final
// state from the API.
func finished(t *testing.T, a *tp.Assertions, corr string, task harness.Task) harness.Task {
	t.Helper()
	a.Require().Exactly(tp.Spans().Named("finalize_task").Correlated(corr), 1)
	ctx, cancel := context.WithTimeout(context.Background(), taskTimeout)
	defer cancel()
	final, err := sys.Client.WaitFinal(ctx, task.TaskUUID)
	require.NoError(t, err, "reading task %s", task.TaskUUID)
	return final
}

// successEvents and failureEvents are the events the reference workflow
// publishes (DESIGN.md), with their delivery modes.
var (
	successEvents = []domainevent.Event{
		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"),
		domainevent.Fast("inventory.updated"), domainevent.Fast("notification.sent"),
	}
	failureEvents = []domainevent.Event{domainevent.Fast("order.validated"), domainevent.Durable("payment.failed")}
)

// published proves the task published exactly events and counts them.
func published(a *tp.Assertions, corr string, events ...domainevent.Event) []domainevent.Proof {
	got := domainevent.On(a).Published(corr, events...)
	tally.events.Add(int64(len(got)))
	return got
}

// forEachFlavour runs f as a parallel subtest per worker flavour.
func forEachFlavour(t *testing.T, f func(t *testing.T, flavour string)) {
	for _, flavour := range sys.Flavours() {
		t.Run(flavour, func(t *testing.T) {
			t.Parallel()
			f(t, flavour)
		})
	}
}
