package domainevent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

// Checker runs the domain-event checks in error form, on an
// [assert.Checker]: each method waits like its test form and returns an
// *[assert.Failure] as its error.
type Checker struct {
	c     *assert.Checker
	names Names
}

// Check returns domain-event checks over c's source, with c's timeout and
// settle window.
func Check(c *assert.Checker, opts ...Option) *Checker {
	n := DefaultNames()
	for _, o := range opts {
		o.apply(&n)
	}
	return &Checker{c: c, names: n}
}

// Published proves that the task of correlationID published exactly these
// domain events, each once, with the delivery modes given, by DESIGN.md's
// rules (a durable event counts once its publish_event recorded "Domain
// event published successfully", a fast one once its publish child exists).
//
// It waits until every event listed is confirmed, or for the timeout, then
// watches for the settle window, and judges once, from the spans the report
// prints: an event not listed, one routed twice (naming the instances and
// times) or with the wrong mode fails it, and each event listed gets one
// status: published, arrived after the deadline, routed but not confirmed,
// or not routed. It returns the events in the order listed.
func (c *Checker) Published(ctx context.Context, correlationID string, events ...Event) ([]Proof, error) {
	return c.published(ctx, correlationID, events, true)
}

// Includes proves that the task of correlationID published at least these
// domain events, with the modes given; others and repeats are allowed. It
// returns as soon as all are confirmed.
func (c *Checker) Includes(ctx context.Context, correlationID string, events ...Event) ([]Proof, error) {
	return c.published(ctx, correlationID, events, false)
}

// Rule is the [assert.Rule] under Published (exact) and Includes, for
// callers that run rules themselves, such as a remote server.
func (c *Checker) Rule(correlationID string, events []Event, exact bool) (assert.Rule, error) {
	for i, e := range events {
		if slices.ContainsFunc(events[:i], func(o Event) bool { return o.Name == e.Name }) {
			return assert.Rule{}, errors.New("domainevent: event " + quote(e.Name) + " listed twice")
		}
	}
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.String()
	}
	asked := fmt.Sprintf("correlation %s to publish exactly these domain events, once each: %s", quote(correlationID), strings.Join(names, ", "))
	if !exact {
		asked = fmt.Sprintf("correlation %s to publish at least these domain events: %s", quote(correlationID), strings.Join(names, ", "))
	}
	if len(events) == 0 {
		asked = fmt.Sprintf("correlation %s to publish no domain event", quote(correlationID))
	}
	return assert.Rule{
		Asked:  asked,
		Spans:  assert.Spans().Correlated(correlationID),
		Settle: exact,
		Judge: func(spans []spanstore.Span, deadline time.Time) assert.Judgement {
			v := c.names.judge(events, spans, deadline, exact)
			return assert.Judgement{
				Complete: v.arrived == len(events),
				Failed:   v.confirmed-v.late < len(events) || len(v.problems) > 0,
				Found:    v.summary(len(events)),
				Lines:    v.lines,
				Named:    v.named,
			}
		},
	}, nil
}

func (c *Checker) published(ctx context.Context, id string, want []Event, exact bool) ([]Proof, error) {
	r, err := c.Rule(id, want, exact)
	if err != nil {
		return nil, err
	}
	spans, err := c.c.Satisfy(ctx, r)
	v := c.names.judge(want, spans, time.Time{}, exact)
	if err != nil {
		return v.proofs, err
	}
	return v.proofs, nil
}

// NotPublished proves that the task of correlationID published no event
// named event within window (scaled by TRACEPROOF_TIMEOUT_SCALE): no span of
// the correlation carries it as its event name, so neither a route nor a
// publish attempt counts as absent. Like [assert.Checker.Never], it fails
// when the correlation had no span at all: that proves nothing.
func (c *Checker) NotPublished(ctx context.Context, correlationID, event string, window time.Duration) error {
	q := assert.Spans().Correlated(correlationID).Attr(c.names.EventNameAttr, event)
	err := c.c.Never(ctx, q, window)
	var f *assert.Failure
	if errors.As(err, &f) {
		f.Asked = fmt.Sprintf("correlation %s not to publish %s within %s", quote(correlationID), quote(event), round(assert.Scaled(window)))
	}
	return err
}

// Assertions are the domain-event checks in test form, on an
// [assert.Assertions]: a failure is reported as any assertion's is.
type Assertions struct {
	a *assert.Assertions
	c *Checker
}

// On returns domain-event assertions over a's source, test and options.
func On(a *assert.Assertions, opts ...Option) *Assertions {
	return &Assertions{a: a, c: Check(a.Checker(), opts...)}
}

// Published proves the task of correlationID published exactly these
// events, each once; see [Checker.Published].
func (d *Assertions) Published(correlationID string, events ...Event) []Proof {
	d.a.Helper()
	got, err := d.c.Published(context.Background(), correlationID, events...)
	d.a.Report(err)
	return got
}

// Includes proves the task of correlationID published at least these
// events; see [Checker.Includes].
func (d *Assertions) Includes(correlationID string, events ...Event) []Proof {
	d.a.Helper()
	got, err := d.c.Includes(context.Background(), correlationID, events...)
	d.a.Report(err)
	return got
}

// NotPublished proves the task of correlationID published no event named
// event within window; see [Checker.NotPublished].
func (d *Assertions) NotPublished(correlationID, event string, window time.Duration) bool {
	d.a.Helper()
	return d.a.Report(d.c.NotPublished(context.Background(), correlationID, event, window))
}
