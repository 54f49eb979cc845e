package assert

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// Assertions are the test form of a Checker, bound to a test: a failure is
// reported with t.Errorf and the test goes on, or, after Require, stops with
// t.FailNow.
type Assertions struct {
	t     TB
	c     *Checker
	fatal bool
}

// TB is the part of [testing.TB] assertions use, so that any test runner
// can stand behind them.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	FailNow()
	Name() string
}

// On returns assertions over the spans of src (an [otlpsink.Sink], a
// [spanstore.Store], or any other [Source]) for the test t.
func On(t TB, src Source, opts ...Option) *Assertions {
	return &Assertions{t: t, c: Check(src, opts...)}
}

// Require returns assertions that stop the test (t.FailNow) when they fail.
func (a *Assertions) Require() *Assertions {
	b := *a
	b.fatal = true
	return &b
}

// With returns assertions with more options, e.g. a longer Timeout for one
// slow step.
func (a *Assertions) With(opts ...Option) *Assertions {
	b := *a
	c := *a.c
	for _, o := range opts {
		o.apply(&c)
	}
	b.c = &c
	return &b
}

// Checker returns the [Checker] underneath, with the same source and
// options: for packages that build checks of their own (such as
// assert/domainevent) and report them with [Assertions.Report].
func (a *Assertions) Checker() *Checker { return a.c }

// Helper marks the caller as a test helper, so failures point at the test.
func (a *Assertions) Helper() { a.t.Helper() }

// Report fails the test with err's report, as every assertion does: dumps
// first when TRACEPROOF_DUMP_DIR is set, then Errorf, then FailNow under
// Require. It returns whether err was nil.
func (a *Assertions) Report(err error) bool {
	a.t.Helper()
	return a.report(err)
}

// Satisfy runs r; see [Checker.Satisfy].
func (a *Assertions) Satisfy(r Rule) []spanstore.Span {
	a.t.Helper()
	got, err := a.c.Satisfy(a.ctx(), r)
	a.report(err)
	return got
}

// ctx is not t.Context(): that one is canceled before Cleanup functions
// run, and an assertion in a Cleanup (say, Never after the test's work) must
// still wait. Every wait is bounded by its timeout or window anyway.
func (a *Assertions) ctx() context.Context { return context.Background() }

// report fails the test with err's report, dumping spans first when
// TRACEPROOF_DUMP_DIR is set so that the message names the files.
func (a *Assertions) report(err error) bool {
	if err == nil {
		return true
	}
	a.t.Helper()
	var f *Failure
	if dir := os.Getenv(EnvDumpDir); dir != "" && errors.As(err, &f) {
		_ = f.WriteDump(dir, a.t.Name()) // a failed dump is reported in the message
	}
	a.t.Errorf("%s", err)
	if a.fatal {
		a.t.FailNow()
	}
	return false
}

// Eventually waits until q selects at least n spans and returns them.
func (a *Assertions) Eventually(q Query, n int) []spanstore.Span {
	a.t.Helper()
	got, err := a.c.Eventually(a.ctx(), q, n)
	a.report(err)
	return got
}

// Exactly waits until q selects n spans, then watches for the settle window
// and fails as soon as an extra one arrives. It returns the spans.
func (a *Assertions) Exactly(q Query, n int) []spanstore.Span {
	a.t.Helper()
	got, err := a.c.Exactly(a.ctx(), q, n)
	a.report(err)
	return got
}

// Never watches for window (scaled) and fails as soon as q selects a span.
func (a *Assertions) Never(q Query, window time.Duration) bool {
	a.t.Helper()
	return a.report(a.c.Never(a.ctx(), q, window))
}

// OncePer proves the spans q selects occur exactly once per value of the
// attribute key, across all instances; see Checker.OncePer.
func (a *Assertions) OncePer(q Query, key string, want ...string) map[string]spanstore.Span {
	a.t.Helper()
	got, err := a.c.OncePer(a.ctx(), q, key, want...)
	a.report(err)
	return got
}

// InOrder proves the queries' spans started in the order given, across
// instances; see Checker.InOrder.
func (a *Assertions) InOrder(qs ...Query) []spanstore.Span {
	a.t.Helper()
	got, err := a.c.InOrder(a.ctx(), qs...)
	a.report(err)
	return got
}

// ChildOf proves every span child selects is a child of a span parent
// selects; see Checker.ChildOf.
func (a *Assertions) ChildOf(child, parent Query) []spanstore.Span {
	a.t.Helper()
	got, err := a.c.ChildOf(a.ctx(), child, parent)
	a.report(err)
	return got
}
