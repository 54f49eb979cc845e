package e2e

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tp "github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/e2e/tasker/harness"
)

// burst is how many tasks TestExactlyOnce starts at once per flavour.
const burst = 25

// TestExactlyOnce starts a burst of tasks per flavour at once and proves,
// from traces, that every step of every task was executed by exactly one
// instance, that each event was published once, and (in cluster mode) that
// the work really spread over more than one instance: otherwise the test
// would prove nothing about cluster mode.
func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	forEachFlavour(t, func(t *testing.T, flavour string) {
		tasks := startTasks(t, flavour, burst)

		var mu sync.Mutex
		ranSteps := map[string]int{} // instance → steps executed
		t.Run("tasks", func(t *testing.T) {
			for i, s := range tasks {
				t.Run(fmt.Sprintf("%02d", i), func(t *testing.T) {
					t.Parallel()
					a := on(t)
					final := finished(t, a, s.corr, s.task)
					require.Equal(t, harness.TaskComplete, final.State)
					stepUUIDs := make([]string, len(final.Steps))
					for i, st := range final.Steps {
						stepUUIDs[i] = st.StepUUID
					}
					byStep := a.OncePer(tp.Spans().Named("execute_step").Correlated(s.corr), "step_uuid", stepUUIDs...)
					published(a, s.corr, successEvents...)
					mu.Lock()
					for _, span := range byStep {
						ranSteps[span.Instance()]++
					}
					mu.Unlock()
				})
			}
		})
		t.Logf("%s steps per instance: %v", flavour, ranSteps)
		if sys.Mode == harness.ModeCluster {
			assert.GreaterOrEqual(t, len(ranSteps), 2,
				"in cluster mode the %d tasks' steps should spread over both %s instances; they ran on %v", burst, flavour, ranSteps)
		}
	})
}
