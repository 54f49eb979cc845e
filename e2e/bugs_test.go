package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tp "github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/e2e/tasker/harness"
	"github.com/traceproof/traceproof/otlpsink"
)

// bugPlan is what TestInjectedBugsAreCaught injects: a quarter of the tasks
// each lose payment.processed, publish inventory.updated twice, or run
// process_payment on both instances.
var bugPlan = harness.BugPlan{Lost: 0.25, Duplicate: 0.25, BothInstances: 0.25, Seed: 1}

// bugsPerKind is how many tasks of each kind (and unaffected) the test runs.
const bugsPerKind = 4

// TestInjectedBugsAreCaught proves the trace checks catch real publishing
// bugs: on its own cluster, whose workers inject bugPlan, it runs tasks
// chosen so that each kind of bug hits bugsPerKind of them and as many stay
// unaffected, and runs the suite's checks on every task in their error form.
// They fail for exactly the affected tasks, and the report a user reads names
// what went wrong: the missing event, the duplicated one and the instance
// that published it twice, the step that ran on both instances. (The rest
// of the suite is the other half: with no bug injected they pass.)
func TestInjectedBugsAreCaught(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t)
	cluster := harness.StartTB(t, harness.Config{
		Mode:     harness.ModeCluster,
		Flavours: []string{"rust"},
		Bugs:     bugPlan,
		Env: func(role, instanceID, flavour string) []string {
			return sink.ExporterEnv(otlpsink.ProtocolGRPC, "")
		},
	})
	client := cluster.Client()
	workers := []string{"worker-rust-1", "worker-rust-2"}
	// An absence is proven only when the wait ends, so a lost event costs
	// the whole timeout. The checks start once finalize_task has arrived,
	// and every event span ended before it started: what is left to wait
	// for is the export delay (100ms), a small fraction of this. The settle
	// window is what catches the second copy of a duplicate; the first
	// instance's execute_step of a step run on both instances may end just
	// after the task is finalized, and arrive a batch later, hence a longer
	// one than the default.
	check := tp.Check(sink, tp.WithTimeout(5*time.Second), tp.WithSettle(time.Second))

	for i, corr := range pickBuggyTasks(t.Name(), bugPlan, bugsPerKind) {
		bug := harness.InjectedBug(bugPlan, corr)
		name := fmt.Sprintf("%02d-%s", i, bug.Kind)
		if bug.Kind == harness.BugNone {
			name = fmt.Sprintf("%02d-unaffected", i)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), taskTimeout)
			defer cancel()
			task, err := client.CreateTask(ctx, harness.DomainEventTask("rust", corr, false))
			require.NoError(t, err)
			_, err = check.Exactly(ctx, tp.Spans().Named("finalize_task").Correlated(corr), 1)
			require.NoError(t, err)
			final, err := client.WaitFinal(ctx, task.TaskUUID)
			require.NoError(t, err)
			require.Equal(t, harness.TaskComplete, final.State, "an injected bug leaves the step results standing")
			var stepUUIDs []string
			for _, s := range final.Steps {
				stepUUIDs = append(stepUUIDs, s.StepUUID)
			}

			_, pubErr := domainevent.Check(check).Published(ctx, corr, successEvents...)
			_, onceErr := check.OncePer(ctx, tp.Spans().Named("execute_step").Correlated(corr), "step_uuid", stepUUIDs...)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("injected: %s\nPublished: %v\nOncePer: %v", bug, pubErr, onceErr)
				}
			})

			switch bug.Kind {
			case harness.BugNone:
				assert.NoError(t, pubErr, "unaffected task")
				assert.NoError(t, onceErr, "unaffected task")
			case harness.BugLost:
				require.Error(t, pubErr, "Published missed a lost event")
				msg := pubErr.Error()
				assert.Contains(t, msg, "✗ payment.processed (Durable): not routed (no route_event with event_name \"payment.processed\")")
				assert.Contains(t, msg, "3 of 4 published")
				for _, e := range []string{"order.validated (Fast)", "inventory.updated (Fast)", "notification.sent (Fast)"} {
					assert.Contains(t, msg, "✓ "+e+": published on ", "the events that were published are shown as such")
				}
				assert.NoError(t, onceErr, "each step still ran once")
			case harness.BugDuplicate:
				require.Error(t, pubErr, "Published missed a duplicated event")
				ranBy, _ := final.Step(bug.Step)
				assert.Equal(t, []string{ranBy.ExecutedBy, ranBy.ExecutedBy},
					duplicateInstances(t, pubErr.Error(), `inventory\.updated \(Fast\): published 2 times, expected once: `),
					"the report names the instance that published it twice")
				assert.NoError(t, onceErr, "each step still ran once")
			case harness.BugBothInstances:
				require.Error(t, pubErr, "Published missed an event published by both instances")
				assert.ElementsMatch(t, workers,
					duplicateInstances(t, pubErr.Error(), `payment\.processed \(Durable\): published 2 times, expected once: `),
					"the report names both instances")
				require.Error(t, onceErr, "OncePer missed a step run on both instances")
				pay, _ := final.Step(harness.StepProcessPayment)
				assert.ElementsMatch(t, workers,
					duplicateInstances(t, onceErr.Error(), regexp.QuoteMeta(`step_uuid "`+pay.StepUUID+`" occurred 2 times: `)),
					"the report names the step and both instances")
				assert.Contains(t, onceErr.Error(), "1 of 4 step_uuid values occurred more than once")
			}
		})
	}
}

// pickBuggyTasks returns correlation IDs for which plan injects each kind of
// bug exactly n times and leaves n unaffected, interleaved: harness.InjectedBug
// is the function the workers decide with, so the test knows in advance.
func pickBuggyTasks(prefix string, plan harness.BugPlan, n int) []string {
	byKind := map[harness.BugKind][]string{}
	kinds := []harness.BugKind{harness.BugNone, harness.BugLost, harness.BugDuplicate, harness.BugBothInstances}
	for i := 0; slices.ContainsFunc(kinds, func(k harness.BugKind) bool { return len(byKind[k]) < n }); i++ {
		corr := fmt.Sprintf("%s-%03d", nonWord.ReplaceAllString(prefix, "-"), i)
		k := harness.InjectedBug(plan, corr).Kind
		if len(byKind[k]) < n {
			byKind[k] = append(byKind[k], corr)
		}
	}
	var out []string
	for i := range n {
		for _, k := range kinds {
			out = append(out, byKind[k][i])
		}
	}
	return out
}

// duplicateInstances finds the report line that starts with the pattern
// lead and returns the instances it lists ("INSTANCE at HH:MM:SS.mmm"), in
// the order given.
func duplicateInstances(t *testing.T, report, lead string) []string {
	t.Helper()
	line := regexp.MustCompile(lead + `(.*)`).FindStringSubmatch(report)
	if !assert.NotNil(t, line, "the report has no line matching %q:\n%s", lead, report) {
		return nil
	}
	var out []string
	for _, m := range regexp.MustCompile(`(worker-rust-\d+) at \d\d:\d\d:\d\d\.\d{3}`).FindAllStringSubmatch(line[1], -1) {
		out = append(out, m[1])
	}
	return out
}
