package assert

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/spanstore"
)

// Checker runs assertions for code that is not a test (a harness, a CLI, a
// readiness probe): each method waits like its test form and returns a
// *Failure as its error, whose Error() is the report a test would print.
// A Checker is safe for concurrent use.
type Checker struct {
	src        Source
	timeout    time.Duration
	settle     time.Duration
	allowEmpty bool
}

// Option configures a [Checker] or [Assertions].
type Option interface{ apply(*Checker) }

type optionFunc func(*Checker)

func (f optionFunc) apply(c *Checker) { f(c) }

// WithTimeout sets how long assertions wait for spans ([DefaultTimeout]). It
// is scaled by TRACEPROOF_TIMEOUT_SCALE.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *Checker) { c.timeout = Scaled(d) })
}

// WithSettle sets how long the checks that prove "these and no more"
// (Exactly, OncePer, and rules such as domain-event publishing) keep
// watching for extras once the expected spans arrived ([DefaultSettle]). It
// is scaled by TRACEPROOF_TIMEOUT_SCALE.
func WithSettle(d time.Duration) Option { return optionFunc(func(c *Checker) { c.settle = Scaled(d) }) }

// WithAllowEmpty lets an absence check (Never, Exactly(q, 0), a rule that
// expects nothing) pass over a correlation, or a source, that had no span at
// all. Without it such a check fails: an absence proven over nothing is no
// proof. Use it only for a test that really means "nothing at all".
func WithAllowEmpty() Option { return optionFunc(func(c *Checker) { c.allowEmpty = true }) }

// Check returns a Checker reading spans from src (an [otlpsink.Sink], a
// [spanstore.Store], or any other [Source]).
func Check(src Source, opts ...Option) *Checker {
	c := &Checker{src: src, timeout: Scaled(DefaultTimeout), settle: Scaled(DefaultSettle)}
	// A source that knows how late its spans can be (a tracing backend's
	// ingestion delay) widens the settle window to that; options still win.
	if s, ok := src.(interface{ Settle() time.Duration }); ok {
		c.settle = max(c.settle, s.Settle())
	}
	for _, o := range opts {
		o.apply(c)
	}
	return c
}

// wait is one assertion's clock. ctx carries the deadline for spans to
// arrive; a settle window runs past it on parent, the caller's context, so an
// answer that came late still gets its full settle window.
type wait struct {
	ctx, parent context.Context
	cancel      context.CancelFunc
	start       time.Time
	limit       time.Duration
}

// begin starts waiting for at most the Checker's timeout, or less if ctx's
// deadline comes first.
func (c *Checker) begin(ctx context.Context) *wait {
	w := &wait{parent: ctx, start: time.Now(), limit: c.timeout}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < c.timeout {
		w.limit = time.Until(d)
		w.ctx, w.cancel = context.WithCancel(ctx)
		return w
	}
	w.ctx, w.cancel = context.WithTimeout(ctx, c.timeout)
	return w
}

// ended says how the wait ended, for "found N ..." lines.
func (w *wait) ended() string {
	if err := w.parent.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("when the context ended after %s (%v)", round(time.Since(w.start)), context.Cause(w.parent))
	}
	if errors.Is(w.ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("after %s", round(w.limit)) // the limit asked, not a jittery clock reading
	}
	return fmt.Sprintf("after %s", round(time.Since(w.start)))
}

type wakeup int

const (
	changed wakeup = iota
	timerFired
	ctxDone
)

// next blocks until a span arrives that may change an answer (one of chans
// closes), the timer fires, or ctx ends. Nothing polls: the store closes the
// channels on ingest.
func next(ctx context.Context, timer <-chan time.Time, chans ...<-chan struct{}) wakeup {
	chans = slices.Compact(chans) // queries on one correlation share a channel
	if len(chans) <= 1 {
		var ch <-chan struct{}
		if len(chans) == 1 {
			ch = chans[0]
		}
		select {
		case <-ch:
			return changed
		case <-timer:
			return timerFired
		case <-ctx.Done():
			return ctxDone
		}
	}
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer)},
	}
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	switch i, _, _ := reflect.Select(cases); i {
	case 0:
		return ctxDone
	case 1:
		return timerFired
	}
	return changed
}

// report is what a failing assertion knows; fail turns it into a Failure.
type report struct {
	asked, found string
	details      []string
	matched      []spanstore.Span
	named        []spanstore.Span // spans the verdict speaks of
	near         []Query          // queries whose near misses explain the failure
	about        []Query          // queries whose correlation the failure shows; near when nil
	corr         string           // a correlation to show, when no query names it
}

func (c *Checker) fail(v *view, w *wait, r report) *Failure {
	f := &Failure{
		Asked: r.asked, Found: r.found, Details: r.details, Matched: r.matched, Named: r.named,
		started: w.start, at: time.Now(),
	}
	for _, q := range r.near {
		nm, total, groups := nearMisses(v, q)
		f.NearMisses = append(f.NearMisses, nm...)
		f.moreNearMisses += total - len(nm)
		f.nearGroups = append(f.nearGroups, groups...)
	}
	about := r.about
	if about == nil {
		about = r.near
	}
	f.Spans, f.spansTitle = c.related(v, r.corr, about, f)
	f.Stats = c.src.Stats()
	return f
}

const maxRelatedTraces = 50

// related picks the spans a failure is about: the correlation's when there
// is one (everything the test's task produced), else the traces of the
// matches and near misses, else what the sink received last.
func (c *Checker) related(v *view, corr string, qs []Query, f *Failure) ([]spanstore.Span, string) {
	var corrs []string
	if corr != "" {
		corrs = append(corrs, corr)
	}
	for _, q := range qs {
		if v := q.impliedCorrelation(); v != "" && !slices.Contains(corrs, v) {
			corrs = append(corrs, v)
		}
	}
	if len(corrs) > 0 {
		var spans []spanstore.Span
		for _, corr := range corrs {
			spans = append(spans, v.correlated(corr).spans...)
		}
		spans = dedupe(spans)
		return spans, "spans of correlation " + quoteAll(corrs)
	}
	var ids []spanstore.TraceID
	add := func(s spanstore.Span) {
		if !slices.Contains(ids, s.TraceID) && len(ids) < maxRelatedTraces {
			ids = append(ids, s.TraceID)
		}
	}
	for _, s := range f.Matched {
		add(s)
	}
	for _, n := range f.NearMisses {
		add(n.Span)
	}
	if len(ids) > 0 {
		var spans []spanstore.Span
		for _, id := range ids {
			spans = append(spans, v.trace(id).spans...)
		}
		return spans, "traces of the matched spans and near misses"
	}
	return recent(c.src, maxTreeSpans), "the most recent spans in the sink (none related to the query)"
}

func dedupe(spans []spanstore.Span) []spanstore.Span {
	type key struct {
		t spanstore.TraceID
		s spanstore.SpanID
	}
	seen := map[key]bool{}
	out := spans[:0]
	for _, s := range spans {
		if k := (key{s.TraceID, s.SpanID}); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

func quoteAll(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += quote(s)
	}
	return out
}

// count is the subject of a description: "1 span", "3 spans".
func count(n int) string { return english.Plural(n, "span") }
