package domainevent_test

import (
	"regexp"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/spanstore"
)

// masked hides what differs from run to run without changing the verdict:
// trace and span IDs, and how long ago things arrived.
var masked = regexp.MustCompile(`[0-9a-f]{32}|[0-9a-f]{16}|\d+(\.\d+)?(ms|s|µs) ago`)

// TestStaggeredInstancesGiveOneVerdict is traceproof#9's first finding: two
// instances publish a task's events, the code under test publishes
// order.shiped instead of order.shipped, and the other instance's batch
// lands a little later. Before, Published stopped at the unexpected event and
// called payment.captured "not routed" while its tree showed it published,
// and said "1 of 3" or "2 of 3" depending on the run. Now the verdict is
// judged once from the spans the report prints: the same text all 50 times.
func TestStaggeredInstancesGiveOneVerdict(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	verdicts := map[string]int{}
	for range 50 {
		synctest.Test(t, func(t *testing.T) {
			st := spanstore.New()
			asserttest.Fast(st, "worker-rust-1", "c-1", "order.validated", 0)
			asserttest.Fast(st, "worker-rust-1", "c-1", "order.shiped", 200*time.Millisecond)
			// worker-rust-2 exports payment.captured in a batch that lands
			// 150ms into the wait, well after the unexpected event.
			late := time.AfterFunc(150*time.Millisecond, func() {
				asserttest.Durable(st, "worker-rust-2", "c-1", "payment.captured", 100*time.Millisecond, true)
			})
			defer late.Stop()
			rec := asserttest.Record(t, func(tb testing.TB) {
				domainevent.On(assert.On(tb, st, assert.WithTimeout(time.Second))).Published("c-1",
					domainevent.Fast("order.validated"), domainevent.Durable("payment.captured"), domainevent.Fast("order.shipped"))
			})
			msg := rec.Message(t)
			asserttest.Contains(t, msg,
				"\n2 of 3 published, 1 unexpected after 1s\n",
				"  ✓ payment.captured (Durable): published on worker-rust-2 at 10:00:00.100\n",
				`  ✗ order.shipped (Fast): not routed (no route_event with event_name "order.shipped")`,
				`  ✗ unexpected: order.shiped (Fast) routed on worker-rust-1 at 10:00:00.200; was it meant to be "order.shipped"?`)
			mu.Lock()
			verdicts[masked.ReplaceAllString(msg, "…")]++
			mu.Unlock()
		})
	}
	if len(verdicts) != 1 {
		for v, n := range verdicts {
			t.Logf("%d times:\n%s", n, v)
		}
		t.Fatalf("50 runs gave %d different verdicts", len(verdicts))
	}
}

// A correlation that never sent a span proves no absence (traceproof#9's
// second finding; before, NotPublished passed on it).
func TestNotPublishedOverAnUnknownCorrelationFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.ReferenceWorkflow(st, "order-A1")
		rec := asserttest.Record(t, func(tb testing.TB) {
			domainevent.On(assert.On(tb, st)).NotPublished("order-A2", "payment.failed", 500*time.Millisecond)
		})
		asserttest.Contains(t, rec.Message(t),
			`expected correlation "order-A2" not to publish "payment.failed" within 500ms`,
			`not proven: correlation "order-A2" had no span at all, so the absence holds over nothing`,
			`correlations that did arrive (newest first): "task-x", "order-A1", "task-order-A1"`,
			`did you mean correlation "order-A1"?`)
		asserttest.Passes(t, func(tb testing.TB) {
			domainevent.On(assert.On(tb, st, assert.WithAllowEmpty())).NotPublished("order-A2", "payment.failed", 500*time.Millisecond)
		})
	})
}
