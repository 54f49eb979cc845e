package assert

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// Assertions are the test form of a Checker, bound to a test: a failure is
// reported with t.Errorf and the test goes on, or, after Require, stops with
// t.FailNow.
type Assertions struct {
	t     testing.TB
	c     *Checker
	fatal bool
}

// On returns assertions over the spans of src (an *otlpsink.Sink or
// *spanstore.Store) for the test t.
func On(t testing.TB, src Source, opts ...Option) *Assertions {
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
		o(&c)
	}
	b.c = &c
	return &b
}

// Checker returns the Checker underneath, for code that wants errors.
func (a *Assertions) Checker() *Checker { return a.c }

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

// DomainEvents are the assertions on the domain events of one task.
type DomainEvents struct {
	a  *Assertions
	id string
}

// DomainEvents returns assertions on the domain events published by the
// task of correlationID.
func (a *Assertions) DomainEvents(correlationID string) DomainEvents {
	return DomainEvents{a: a, id: correlationID}
}

// Published proves the task published exactly these events, each once, with
// the modes given; see Checker.Published.
func (d DomainEvents) Published(events ...DomainEvent) []PublishedEvent {
	d.a.t.Helper()
	got, err := d.a.c.Published(d.a.ctx(), d.id, events...)
	d.a.report(err)
	return got
}

// Includes proves the task published at least these events; see
// Checker.Includes.
func (d DomainEvents) Includes(events ...DomainEvent) []PublishedEvent {
	d.a.t.Helper()
	got, err := d.a.c.Includes(d.a.ctx(), d.id, events...)
	d.a.report(err)
	return got
}

// NotPublished proves the task published no event named event within window
// (scaled).
func (d DomainEvents) NotPublished(event string, window time.Duration) bool {
	d.a.t.Helper()
	return d.a.report(d.a.c.NotPublished(d.a.ctx(), d.id, event, window))
}
