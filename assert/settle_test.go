package assert_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

// Exactly, OncePer and Published share one wait-then-settle loop; these
// tables hold each of them to its rules, so that a change to the loop shows
// in all three at once.
type settler struct {
	name string
	// meet ingests what the assertion asks for; extra ingests one span set
	// too many (a second publish, a step run twice, an event published twice).
	meet, extra func(st *spanstore.Store)
	check       func(ctx context.Context, c *assert.Checker) error
	// extraFound are in the report when extra arrives in the settle window;
	// endedFound matches its Found line when the context ends during it.
	extraFound []string
	endedFound *regexp.Regexp
}

var settlers = []settler{{
	name:  "Exactly",
	meet:  func(st *spanstore.Store) { fast(st, "worker-1", "c-1", "order.validated", 0) },
	extra: func(st *spanstore.Store) { fast(st, "worker-2", "c-1", "order.validated", 50*time.Millisecond) },
	check: func(ctx context.Context, c *assert.Checker) error {
		_, err := c.Exactly(ctx, S().Named("publish").Correlated("c-1"), 1)
		return err
	},
	extraFound: []string{"found 2, 1 too many: the extra arrived ", "into the 1m0s settle window",
		"extra: publish [worker-2] span ", "started 10:00:00.051"},
	endedFound: regexp.MustCompile(`^found 1, but the context ended \d+ms into the settle window \(context deadline exceeded\)$`),
}, {
	name:  "OncePer",
	meet:  func(st *spanstore.Store) { ingest(st, "worker-1", step("validate", 0, "c-1")) },
	extra: func(st *spanstore.Store) { ingest(st, "worker-2", step("validate", 70*time.Millisecond, "c-1")) },
	check: func(ctx context.Context, c *assert.Checker) error {
		_, err := c.OncePer(ctx, S().Named("execute_step").Correlated("c-1"), "step_name", "validate")
		return err
	},
	extraFound: []string{"1 of 1 step_name values occurred more than once",
		`step_name "validate" occurred 2 times: worker-1 at 10:00:00.000 (span `, `), worker-2 at 10:00:00.070 (span `},
	endedFound: regexp.MustCompile(`^the context ended during the settle window \(context deadline exceeded\)$`),
}, {
	name:  "Published",
	meet:  func(st *spanstore.Store) { fast(st, "worker-rust-1", "c-1", "order.validated", 0) },
	extra: func(st *spanstore.Store) { fast(st, "worker-rust-2", "c-1", "order.validated", time.Second) },
	check: func(ctx context.Context, c *assert.Checker) error {
		_, err := c.Published(ctx, "c-1", assert.Fast("order.validated"))
		return err
	},
	extraFound: []string{"0 of 1 published, 1 duplicated; the extra arrived ", "into the 1m0s settle window",
		"published 2 times, expected once: worker-rust-1 at 10:00:00.000, worker-rust-2 at 10:00:01.000"},
	endedFound: regexp.MustCompile(`^1 of 1 published, but the context ended during the settle window \(context deadline exceeded\)$`),
}}

// eachSettler runs body as a parallel subtest for each settler, on a fresh
// store that holds what the settler asks for.
func eachSettler(t *testing.T, body func(t *testing.T, s settler, st *spanstore.Store)) {
	for _, s := range settlers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			st := spanstore.New()
			s.meet(st)
			body(t, s, st)
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

// An extra that arrives in a minute-long settle window fails the assertion
// when it arrives, not when the window closes.
func TestExtraInTheSettleWindowFailsAtOnce(t *testing.T) {
	t.Parallel()
	eachSettler(t, func(t *testing.T, s settler, st *spanstore.Store) {
		src := &hooked{Store: st, at: 1, hook: func() { s.extra(st) }}
		start := time.Now()
		err := s.check(context.Background(), assert.Check(src, assert.Settle(time.Minute)))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s: an extra should fail at once", d)
		}
		contains(t, failure(t, err).Error(), s.extraFound...)
	})
}

// The timeout bounds the wait for what was asked, not the settle window: an
// answer that came just in time still gets its full window.
func TestSettleWindowOutlivesTheTimeout(t *testing.T) {
	t.Parallel()
	eachSettler(t, func(t *testing.T, s settler, st *spanstore.Store) {
		const window = 100 * time.Millisecond
		start := time.Now()
		if err := s.check(context.Background(), assert.Check(st, assert.Timeout(time.Millisecond), assert.Settle(window))); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < window {
			t.Errorf("returned after %s, before the %s settle window closed", d, window)
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
		err := s.check(ctx, assert.Check(st, assert.Settle(time.Minute)))
		if f := failure(t, err); !s.endedFound.MatchString(f.Found) {
			t.Errorf("found %q, want %s", f.Found, s.endedFound)
		}
	})
}

// The window opens once: a span that wakes the assertion without changing
// its answer (another span of the correlation) does not start it again, or
// a busy correlation would never settle. The wake is a timer, so that it
// comes late in the window: a restarted window would close 1.5s after the
// real one, and the check allows 750ms of scheduling delay either side of
// that, so a loaded CI machine does not make it flaky.
func TestSettleWindowIsNotExtendedByWakes(t *testing.T) {
	t.Parallel()
	const window, wakeAt = 2 * time.Second, 1500 * time.Millisecond
	eachSettler(t, func(t *testing.T, s settler, st *spanstore.Store) {
		src := &hooked{Store: st} // counts the looks; no hook
		wake := time.AfterFunc(wakeAt, func() {
			ingest(st, "worker-3", span{name: "finalize_task", attrs: []any{"correlation_id", "c-1"}})
		})
		defer wake.Stop()
		start := time.Now()
		if err := s.check(context.Background(), assert.Check(src, assert.Settle(window))); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		src.mu.Lock()
		looks := src.calls
		src.mu.Unlock()
		if looks < 2 {
			t.Fatalf("the assertion looked %d times: the wake did not reach it", looks)
		}
		// A window started again at the wake would close at 3.5s.
		if d < window || d >= window+wakeAt/2 {
			t.Errorf("settled after %s; the %s window opened at the start", d, window)
		}
	})
}
