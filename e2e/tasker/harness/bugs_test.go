package harness

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
)

// pickTasks returns correlation IDs with prefix, n of each bug kind of plan
// and n unaffected, in a fixed order.
func pickTasks(plan BugPlan, prefix string, n int) map[string]Bug {
	out := map[string]Bug{}
	count := map[BugKind]int{}
	for i := 0; len(out) < 4*n; i++ {
		corr := fmt.Sprintf("%s-%03d", prefix, i)
		b := InjectedBug(plan, corr)
		if count[b.Kind] < n {
			count[b.Kind]++
			out[corr] = b
		}
	}
	return out
}

// TestInjectedBugs: with Config.Bugs the workers do to exactly the tasks
// InjectedBug names what it says, seen through the API, the durable queue,
// the workers' counters and their logs (no traces here: e2e/bugs_test.go
// proves the trace checks catch them).
func TestInjectedBugs(t *testing.T) {
	t.Parallel()
	plan := BugPlan{Lost: 0.25, Duplicate: 0.25, BothInstances: 0.25, Seed: 11}
	c := StartTB(t, Config{Mode: ModeCluster, Flavours: []string{"rust"}, Bugs: plan})
	ctx := testCtx(t, 60*time.Second)
	client := c.Client()

	tasks := pickTasks(plan, corrID(t, "bug"), 2)
	final := map[string]Task{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for corr := range tasks {
		wg.Go(func() {
			task, err := client.CreateTask(ctx, DomainEventTask("rust", corr, false))
			if assert.NoError(t, err) {
				task, err = client.WaitFinal(ctx, task.TaskUUID)
				assert.NoError(t, err)
			}
			mu.Lock()
			final[corr] = task
			mu.Unlock()
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	st, err := store.Open(ctx, c.DBPath(), events.QueueName(NamespaceFor("rust")))
	require.NoError(t, err)
	defer func() { _ = st.Close() }()
	var want RouterMetrics
	for corr, bug := range tasks {
		task := final[corr]
		assert.Equal(t, TaskComplete, task.State, "%s (%s): the step results stand", corr, bug)
		msgs, err := st.QueueMessages(ctx, QueueName(task.Namespace), corr)
		require.NoError(t, err)
		pay, _ := task.Step(StepProcessPayment)
		durable, fast, attempts := 1, 3, 1
		switch bug.Kind {
		case BugLost:
			durable = 0
		case BugDuplicate:
			fast = 4
		case BugBothInstances:
			durable, attempts = 2, 2
		}
		assert.Len(t, msgs, durable, "%s (%s): payment.processed messages in the queue", corr, bug)
		assert.Equal(t, attempts, pay.Attempts, "%s (%s): process_payment claims", corr, bug)
		want.DurableRouted += uint64(durable)
		want.FastRouted += uint64(fast)
	}
	want.TotalRouted = want.DurableRouted + want.FastRouted
	var sum RouterMetrics
	for _, u := range c.WorkerURLs("rust") {
		m, err := client.Metrics(ctx, u)
		require.NoError(t, err)
		sum.TotalRouted += m.Router.TotalRouted
		sum.DurableRouted += m.Router.DurableRouted
		sum.FastRouted += m.Router.FastRouted
	}
	assert.Equal(t, want, sum, "the workers' counters add up to what the bugs did")

	require.NoError(t, c.Stop(ctx))
	var logs strings.Builder
	for _, in := range c.Instances() {
		if in.Role == RoleWorker {
			b, err := os.ReadFile(in.LogPath)
			require.NoError(t, err)
			logs.Write(b)
		}
	}
	// Each worker logs the plan once, and a line per injected bug naming
	// the task.
	assert.Equal(t, 2, strings.Count(logs.String(), `msg="injecting publishing bugs on purpose"`))
	assert.Equal(t, 2, strings.Count(logs.String(), `plan="`+plan.String()+`"`))
	logged := map[string]map[string]bool{} // correlation ID → bug kinds logged
	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, `msg="injected bug"`) {
			continue
		}
		var corr, kind string
		for f := range strings.FieldsSeq(line) {
			if v, ok := strings.CutPrefix(f, "correlation_id="); ok {
				corr = v
			}
			if v, ok := strings.CutPrefix(f, "bug="); ok {
				kind = v
			}
		}
		if logged[corr] == nil {
			logged[corr] = map[string]bool{}
		}
		logged[corr][kind] = true
	}
	for corr, bug := range tasks {
		if bug.Kind == BugNone {
			assert.Nil(t, logged[corr], "%s is not affected, yet logged", corr)
			continue
		}
		assert.Equal(t, map[string]bool{string(bug.Kind): true}, logged[corr], "%s (%s) is named in log lines", corr, bug)
	}
}

func TestInjectedBugsNeedTwoInstances(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Config{Mode: ModeSingle, BinPath: "tasker", Dir: t.TempDir(),
		Bugs: BugPlan{BothInstances: 0.5}})
	assert.ErrorContains(t, err, "both_instances bug needs two worker instances")
	plan, err := ParseBugPlan("lost=0.5,seed=2")
	require.NoError(t, err)
	assert.Equal(t, BugPlan{Lost: 0.5, Seed: 2}, plan)
}
