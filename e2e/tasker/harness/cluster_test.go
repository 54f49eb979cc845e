package harness

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), scale(d))
	t.Cleanup(cancel)
	return ctx
}

func corrID(t *testing.T, suffix string) string {
	return fmt.Sprintf("%s-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), suffix, time.Now().UnixNano())
}

func assertSuccessfulTask(t *testing.T, task Task, workers []string) {
	t.Helper()
	assert.Equal(t, TaskComplete, task.State)
	require.Len(t, task.Steps, 4)
	for i, s := range task.Steps {
		assert.Equal(t, i, s.Position)
		assert.Equal(t, StepComplete, s.State, s.Name)
		assert.Equal(t, 1, s.Attempts, "%s executed more than once", s.Name)
		assert.Contains(t, workers, s.ExecutedBy, s.Name)
	}
	v, _ := task.Step(StepValidateOrder)
	assert.Equal(t, true, v.Result["validated"])
	assert.Equal(t, task.Context["order_id"], v.Result["order_id"])
	p, _ := task.Step(StepProcessPayment)
	assert.Equal(t, "completed", p.Result["status"])
	assert.NotEmpty(t, p.Result["transaction_id"])
	u, _ := task.Step(StepUpdateInventory)
	assert.Equal(t, true, u.Result["success"])
	assert.NotEmpty(t, u.Result["items"])
	n, _ := task.Step(StepSendNotification)
	assert.Equal(t, "email", n.Result["channel"])
	assert.NotEmpty(t, n.Result["notification_id"])
}

func assertFailedTask(t *testing.T, task Task) {
	t.Helper()
	assert.Equal(t, TaskError, task.State)
	require.Len(t, task.Steps, 4)
	assert.Equal(t, StepComplete, task.Steps[0].State)
	assert.Equal(t, StepError, task.Steps[1].State)
	assert.Contains(t, task.Steps[1].Result["error"], "simulated failure")
	for _, s := range task.Steps[2:] {
		assert.Equal(t, StepPending, s.State, "%s ran after the failed payment", s.Name)
		assert.Empty(t, s.ExecutedBy)
		assert.Nil(t, s.Result)
		assert.Zero(t, s.Attempts)
	}
}

func TestSingleMode(t *testing.T) {
	t.Parallel()
	c := StartTB(t, Config{Mode: ModeSingle})
	ctx := testCtx(t, 60*time.Second)
	client := c.Client()

	insts := c.Instances()
	require.Len(t, insts, 4)
	ids := []string{}
	for _, in := range insts {
		ids = append(ids, in.ID)
		assert.True(t, strings.HasPrefix(in.URL, "http://127.0.0.1:"), in.URL)
		assert.Positive(t, in.PID)
		assert.FileExists(t, in.LogPath)
	}
	assert.ElementsMatch(t, []string{"orchestration-1", "worker-python-1", "worker-ruby-1", "worker-rust-1"}, ids)
	require.Len(t, c.OrchestrationURLs(), 1)
	assert.Contains(t, c.TestEnv(), "TASKER_TEST_WORKER_RUST_URLS="+c.WorkerURLs("rust")[0])

	type created struct {
		flavour string
		fail    bool
		task    Task
	}
	var tasks []created
	for _, f := range Flavours() {
		for _, fail := range []bool{false, true} {
			task, err := client.CreateTask(ctx, DomainEventTask(f, corrID(t, f), fail))
			require.NoError(t, err)
			assert.Equal(t, TaskPending, task.State)
			assert.Equal(t, NamespaceFor(f), task.Namespace)
			assert.Equal(t, StepEnqueued, task.Steps[0].State)
			tasks = append(tasks, created{f, fail, task})
		}
	}
	for _, cr := range tasks {
		got, err := client.WaitFinal(ctx, cr.task.TaskUUID)
		require.NoError(t, err)
		assert.Equal(t, "orchestration-1", got.FinalizedBy)
		assert.NotNil(t, got.FinalizedAt)
		assert.Equal(t, cr.task.CorrelationID, got.CorrelationID)
		if cr.fail {
			assertFailedTask(t, got)
		} else {
			assertSuccessfulTask(t, got, []string{"worker-" + cr.flavour + "-1"})
		}
	}

	for _, f := range Flavours() {
		m, err := client.Metrics(ctx, c.WorkerURLs(f)[0])
		require.NoError(t, err)
		assert.Equal(t, "worker-"+f+"-1", m.WorkerID)
		assert.WithinDuration(t, time.Now(), m.CapturedAt, time.Minute)
		// One success (1 durable + 3 fast) and one failure (1 durable + 1 fast).
		assert.Equal(t, RouterMetrics{TotalRouted: 6, DurableRouted: 2, FastRouted: 4}, m.Router, f)
		assert.Equal(t, uint64(4), m.InProcessBus.TotalEventsDispatched)
		h, err := client.Health(ctx, c.WorkerURLs(f)[0])
		require.NoError(t, err)
		assert.Equal(t, Health{Status: "ok", InstanceID: "worker-" + f + "-1", Role: "worker", Namespace: NamespaceFor(f)}, h)
	}

	// API errors carry status and body.
	_, err := client.GetTask(ctx, "00000000-0000-0000-0000-000000000000")
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 404, he.StatusCode)
	_, err = client.CreateTask(ctx, CreateTaskRequest{Namespace: "nope", Name: WorkflowName, CorrelationID: "x"})
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 400, he.StatusCode)
	assert.Contains(t, he.Error(), "unknown workflow")
	_, err = client.CreateTask(ctx, CreateTaskRequest{Namespace: NamespaceFor("rust"), Name: WorkflowName})
	require.ErrorAs(t, err, &he)
	assert.Contains(t, he.Body, "correlation_id")

	// Stop: every process exits 0 on SIGTERM and none is left.
	require.NoError(t, c.Stop(ctx))
	for _, in := range c.Instances() {
		assert.False(t, alive(in.PID), "%s (pid %d) still alive", in.ID, in.PID)
		assert.False(t, alive(-in.PID), "process group of %s still alive", in.ID)
	}
	require.NoError(t, c.Stop(ctx), "Stop is idempotent")
	tail := c.LogTail(5)
	for _, id := range ids {
		assert.Contains(t, tail, "--- "+id)
	}
	assert.Contains(t, tail, "process exited: exit status 0")
}

// A burst of tasks in cluster mode, created through both orchestration
// instances: every step runs exactly once, every task is finalized once.
func TestClusterExactlyOnce(t *testing.T) {
	t.Parallel()
	c := StartTB(t, Config{Mode: ModeCluster})
	ctx := testCtx(t, 90*time.Second)
	client := c.Client()

	require.Len(t, c.Instances(), 8)
	require.Len(t, c.OrchestrationURLs(), 2)
	workers := map[string][]string{}
	for _, f := range Flavours() {
		require.Len(t, c.WorkerURLs(f), 2)
		workers[f] = []string{"worker-" + f + "-1", "worker-" + f + "-2"}
	}

	const n = 21
	type result struct {
		flavour string
		fail    bool
		task    Task
		err     error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		f := Flavours()[i%3]
		fail := i%7 == 6
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := result{flavour: f, fail: fail}
			task, err := client.CreateTask(ctx, DomainEventTask(f, corrID(t, fmt.Sprint(i)), fail))
			if err == nil {
				task, err = client.WaitFinal(ctx, task.TaskUUID)
			}
			r.task, r.err = task, err
			results[i] = r
		}()
	}
	wg.Wait()

	want := map[string]RouterMetrics{}
	finalizers := map[string]int{}
	executors := map[string]int{}
	for _, r := range results {
		require.NoError(t, r.err)
		finalizers[r.task.FinalizedBy]++
		m := want[r.flavour]
		m.DurableRouted++
		if r.fail {
			assertFailedTask(t, r.task)
			m.FastRouted++
		} else {
			assertSuccessfulTask(t, r.task, workers[r.flavour])
			m.FastRouted += 3
		}
		m.TotalRouted = m.DurableRouted + m.FastRouted
		want[r.flavour] = m
		for _, s := range r.task.Steps {
			if s.ExecutedBy != "" {
				executors[s.ExecutedBy]++
			}
		}
	}
	for id := range finalizers {
		assert.Contains(t, []string{"orchestration-1", "orchestration-2"}, id)
	}
	t.Logf("finalized by: %v; steps executed by: %v", finalizers, executors)

	// The workers' own counters add up to exactly one routing per event.
	for _, f := range Flavours() {
		var sum RouterMetrics
		for _, u := range c.WorkerURLs(f) {
			m, err := client.Metrics(ctx, u)
			require.NoError(t, err)
			assert.Contains(t, workers[f], m.WorkerID)
			sum.TotalRouted += m.Router.TotalRouted
			sum.DurableRouted += m.Router.DurableRouted
			sum.FastRouted += m.Router.FastRouted
		}
		assert.Equal(t, want[f], sum, f)
	}

	// The durable queues hold exactly one message per task.
	st2, err := store.Open(ctx, c.DBPath(), events.QueueName(NamespaceFor("rust")), events.QueueName(NamespaceFor("ruby")), events.QueueName(NamespaceFor("python")))
	require.NoError(t, err)
	defer func() { _ = st2.Close() }()
	for _, r := range results {
		msgs, err := st2.QueueMessages(ctx, QueueName(r.task.Namespace), r.task.CorrelationID)
		require.NoError(t, err)
		require.Len(t, msgs, 1, r.task.CorrelationID)
		wantName := "payment.processed"
		if r.fail {
			wantName = "payment.failed"
		}
		assert.Equal(t, wantName, msgs[0].EventName)
		assert.Equal(t, r.task.TaskUUID, msgs[0].TaskUUID)
	}

	require.NoError(t, c.Stop(ctx))
	for _, in := range c.Instances() {
		assert.False(t, alive(in.PID), "%s (pid %d) still alive", in.ID, in.PID)
	}
}

func TestStartFailureReportsLogTail(t *testing.T) {
	t.Parallel()
	bin := BuildOnce(t)
	dir := t.TempDir()
	_, err := Start(context.Background(), Config{
		BinPath:  bin,
		Dir:      dir,
		Flavours: []string{"rust", "ruby"},
		Args: func(role, id, flavour string) []string {
			if id == "worker-ruby-1" {
				return []string{"--no-such-flag"}
			}
			return nil
		},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "worker-ruby-1 exited before listening")
	assert.Contains(t, err.Error(), "flag provided but not defined: -no-such-flag", "log tail is included")
	assert.NotContains(t, err.Error(), "worker-rust-1 exited")

	_, err = Start(context.Background(), Config{BinPath: bin, Dir: dir, Mode: "swarm"})
	assert.ErrorContains(t, err, "unknown mode")
	_, err = Start(context.Background(), Config{BinPath: bin, Dir: dir, Flavours: []string{"cobol"}})
	assert.ErrorContains(t, err, "unknown flavour")
	_, err = Start(context.Background(), Config{Dir: dir})
	assert.ErrorContains(t, err, "BinPath")
}

func TestWaitFinalContextEnds(t *testing.T) {
	t.Parallel()
	// Only orchestration: nothing runs the steps, so the task never finishes.
	c := StartTB(t, Config{Flavours: []string{"rust"}, Replicas: 1})
	require.NoError(t, c.procs[1].stop(time.Now().Add(scale(10*time.Second))), "stop the only worker")
	client := c.Client()
	task, err := client.CreateTask(testCtx(t, 30*time.Second), DomainEventTask("rust", corrID(t, "x"), false))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	got, err := client.WaitFinal(ctx, task.TaskUUID)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not finalized")
	assert.Contains(t, err.Error(), "validate_order=Enqueued")
	assert.Equal(t, task.TaskUUID, got.TaskUUID)
	assert.Equal(t, TaskPending, got.State)
}
