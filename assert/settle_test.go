package assert_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/spanstore"
)

// Exactly, OncePer and Published share one wait-then-judge loop
// (Checker.Satisfy); these tables hold each of them to its rules, so that a
// change to the loop shows in all three at once. Every test runs under
// testing/synctest: the windows are exact, with no allowance for a slow
// machine.
type settler struct {
	name string
	// meet ingests what the assertion asks for; extra ingests one span set
	// too many (a second publish, a step run twice, an event published twice).
	meet, extra func(st *spanstore.Store)
	check       func(ctx context.Context, c *assert.Checker) error
	// extraFound are in the report when extra arrives in the settle window;
	// endedFound is its Found line when the context ends 50ms into it.
	extraFound []string
	endedFound string
}

var settlers = []settler{{
	name: "Exactly",
	meet: func(st *spanstore.Store) { asserttest.Fast(st, "worker-1", "c-1", "order.validated", 0) },
	extra: func(st *spanstore.Store) {
		asserttest.Fast(st, "worker-2", "c-1", "order.validated", 50*time.Millisecond)
	},
	check: func(ctx context.Context, c *assert.Checker) error {
		_, err := c.Exactly(ctx, S().Named("publish").Correlated("c-1"), 1)
		return err
	},
	extraFound: []string{"\nfound 2, 1 too many\n", "extra: publish [worker-2] span ", "started 10:00:00.051"},
	endedFound: "found 1, but the context ended 50ms into the settle window (context deadline exceeded)",
}, {
	name: "OncePer",
	meet: func(st *spanstore.Store) { asserttest.Ingest(st, "worker-1", step("validate", 0, "c-1")) },
	extra: func(st *spanstore.Store) {
		asserttest.Ingest(st, "worker-2", step("validate", 70*time.Millisecond, "c-1"))
	},
	check: func(ctx context.Context, c *assert.Checker) error {
		_, err := c.OncePer(ctx, S().Named("execute_step").Correlated("c-1"), "step_name", "validate")
		return err
	},
	extraFound: []string{"1 of 1 step_name values occurred more than once",
		`step_name "validate" occurred 2 times: worker-1 at 10:00:00.000 (span `, `), worker-2 at 10:00:00.070 (span `},
	endedFound: ", but the context ended 50ms into the settle window (context deadline exceeded)",
}, {
	name:  "Published",
	meet:  func(st *spanstore.Store) { asserttest.Fast(st, "worker-rust-1", "c-1", "order.validated", 0) },
	extra: func(st *spanstore.Store) { asserttest.Fast(st, "worker-rust-2", "c-1", "order.validated", time.Second) },
	check: func(ctx context.Context, c *assert.Checker) error {
		_, err := domainevent.Check(c).Published(ctx, "c-1", domainevent.Fast("order.validated"))
		return err
	},
	extraFound: []string{"0 of 1 published, 1 duplicated\n",
		"published 2 times, expected once: worker-rust-1 at 10:00:00.000, worker-rust-2 at 10:00:01.000"},
	endedFound: "1 of 1 published, but the context ended 50ms into the settle window (context deadline exceeded)",
}}

// eachSettler runs body as a subtest for each settler, in a synctest bubble,
// on a fresh store that holds what the settler asks for.
func eachSettler(t *testing.T, body func(t *testing.T, s settler, st *spanstore.Store)) {
	for _, s := range settlers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				st := spanstore.New()
				s.meet(st)
				body(t, s, st)
			})
		})
	}
}

// failure is the report of err, failing t unless err is a *Failure.
func failure(t *testing.T, err error) *assert.Failure {
	t.Helper()
	var f *assert.Failure
	if !errors.As(err, &f) {
		t.Fatalf("want a *Failure, got %v", err)
	}
	return f
}

// An extra that arrives in a minute-long settle window is judged when the
// window closes, from the spans the report prints. (Before traceproof#9 it
// failed the assertion at once, and the report could disagree with its own
// tree.)
func TestExtraInTheSettleWindowIsJudgedWhenItCloses(t *testing.T) {
	t.Parallel()
	eachSettler(t, func(t *testing.T, s settler, st *spanstore.Store) {
		src := &asserttest.Hooked{Store: st, At: 1, Hook: func() { s.extra(st) }}
		start := time.Now()
		err := s.check(context.Background(), assert.Check(src, assert.WithSettle(time.Minute)))
		if d := time.Since(start); d != time.Minute {
			t.Errorf("judged after %s, want when the 1m window closed", d)
		}
		asserttest.Contains(t, failure(t, err).Error(), s.extraFound...)
	})
}

// The timeout bounds the wait for what was asked, not the settle window: an
// answer that came just in time still gets its full window.
func TestSettleWindowOutlivesTheTimeout(t *testing.T) {
	t.Parallel()
	eachSettler(t, func(t *testing.T, s settler, st *spanstore.Store) {
		const window = 100 * time.Millisecond
		start := time.Now()
		if err := s.check(context.Background(), assert.Check(st, assert.WithTimeout(time.Millisecond), assert.WithSettle(window))); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != window {
			t.Errorf("returned after %s, want when the %s settle window closed", d, window)
		}
	})
}

// The caller's context still ends the settle window, and the report says
// it ended there rather than that spans were missing.
func TestContextEndingInTheSettleWindow(t *testing.T) {
	t.Parallel()
	eachSettler(t, func(t *testing.T, s settler, st *spanstore.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.check(ctx, assert.Check(st, assert.WithSettle(time.Minute)))
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("returned after %s, want when the context ended at 50ms", d)
		}
		if f := failure(t, err); !strings.HasSuffix(f.Found, s.endedFound) {
			t.Errorf("found %q, want it to end in %q", f.Found, s.endedFound)
		}
	})
}

// The window opens once: a span that wakes the assertion without changing
// its answer (another span of the correlation) does not start it again, or
// a busy correlation would never settle.
func TestSettleWindowIsNotExtendedByWakes(t *testing.T) {
	t.Parallel()
	const window, wakeAt = 2 * time.Second, 1500 * time.Millisecond
	eachSettler(t, func(t *testing.T, s settler, st *spanstore.Store) {
		src := &asserttest.Hooked{Store: st} // counts the looks; no hook
		wake := time.AfterFunc(wakeAt, func() {
			asserttest.Ingest(st, "worker-3", asserttest.Span{Name: "finalize_task", Attrs: []any{"correlation_id", "c-1"}})
		})
		defer wake.Stop()
		start := time.Now()
		if err := s.check(context.Background(), assert.Check(src, assert.WithSettle(window))); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != window {
			t.Errorf("settled after %s, want %s: the window opened at the start and the wake must not extend it", d, window)
		}
		if looks := src.Calls(); looks < 2 {
			t.Fatalf("the assertion looked %d times: the wake did not reach it", looks)
		}
	})
}
