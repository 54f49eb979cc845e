package assert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/spanstore"
)

// Eventually waits until q selects at least n spans and returns all it
// selects then, in arrival order.
func (c *Checker) Eventually(ctx context.Context, q Query, n int) ([]spanstore.Span, error) {
	w := c.begin(ctx)
	defer w.cancel()
	for {
		v := newView(c.src)
		got, ch := q.find(v, true)
		if len(got) >= n {
			return got, nil
		}
		if next(w.ctx, nil, ch) != changed {
			return got, c.fail(v, w, report{
				asked:   fmt.Sprintf("at least %s within %s", q.phrase(count(n)), round(w.limit)),
				found:   fmt.Sprintf("found %d %s", len(got), w.ended()),
				matched: got, near: []Query{q},
			})
		}
	}
}

// Exactly waits until q selects n spans, then keeps watching for the settle
// window, and judges once at its end (or at the timeout and a settle window
// after it): n spans pass, more or fewer fail, the report listing the extras.
// Exactly(q, 0) is an absence check: see [Checker.Never] for why it fails
// over a correlation that had no span at all. It returns the spans judged.
func (c *Checker) Exactly(ctx context.Context, q Query, n int) ([]spanstore.Span, error) {
	return c.Satisfy(ctx, Rule{Asked: "exactly " + q.phrase(count(n)), Spans: q, Settle: true,
		Judge: func(got []spanstore.Span, _ time.Time) Judgement {
			j := Judgement{Complete: len(got) >= n, Failed: len(got) != n, Found: fmt.Sprintf("found %d", len(got))}
			if len(got) > n {
				j.Found = fmt.Sprintf("found %d, %d too many", len(got), len(got)-n)
				for _, extra := range got[n:] {
					j.Lines = append(j.Lines, "extra: "+spanLine(extra))
				}
				j.Named, j.Matched = got[n:], got
			}
			return j
		},
	})
}

// Never watches for window (scaled by TRACEPROOF_TIMEOUT_SCALE) and fails as
// soon as q selects a span. Spans that arrived before the call count too.
//
// An absence is only proven over spans that arrived: when q names a
// correlation (Correlated) that had no span at all by the end of the window,
// Never fails, saying so and listing the correlations that did arrive; a
// typo, a correlation ID that is not propagated and a worker that exports
// nothing would otherwise all pass. Without a correlation it fails when the
// source received no span from anyone. [WithAllowEmpty] opts out, for a test
// that really means "nothing at all".
func (c *Checker) Never(ctx context.Context, q Query, window time.Duration) error {
	window = Scaled(window)
	w := &wait{ctx: ctx, parent: ctx, start: time.Now(), limit: window}
	timer := time.NewTimer(window)
	defer timer.Stop()
	asked := fmt.Sprintf("no %s within %s", q.phrase("spans"), round(window))
	for {
		v := newView(c.src)
		got, ch := q.find(v, true)
		if len(got) > 0 {
			return c.fail(v, w, report{asked: asked, found: fmt.Sprintf("found %d after %s", len(got), round(time.Since(w.start))),
				matched: got, named: got, about: []Query{q}})
		}
		switch next(ctx, timer.C, ch) {
		case timerFired:
			return c.vacuous(newView(c.src), w, asked, q, 0)
		case ctxDone:
			return c.fail(v, w, report{asked: asked, found: fmt.Sprintf("found none, but the context ended after %s, before the window closed (%v)",
				round(time.Since(w.start)), context.Cause(ctx)), about: []Query{q}})
		}
	}
}

// OncePer proves that the spans q selects occur exactly once per value of
// the attribute key (looked up in any scope): each step executed once across
// all worker instances, say. With want, it waits until each listed value
// occurred; without, until any span matched. It then watches for the settle
// window and judges once: a value that occurred twice (naming the instances
// and start times of the duplicates), a selected span that lacks key, or a
// wanted value that never occurred fails it. It returns the span of each
// value.
func (c *Checker) OncePer(ctx context.Context, q Query, key string, want ...string) (map[string]spanstore.Span, error) {
	asked := fmt.Sprintf("%s exactly once per %s", q.phrase("spans"), key)
	if len(want) > 0 {
		asked += " (" + quoteAll(want) + ")"
	}
	var groups map[string][]spanstore.Span
	_, err := c.Satisfy(ctx, Rule{Asked: asked, Spans: q, Settle: true, Extras: "duplicates",
		Judge: func(got []spanstore.Span, _ time.Time) Judgement {
			var order, keyless []string
			groups, order, keyless = groupBy(got, key)
			var missing []string
			for _, k := range want {
				if _, ok := groups[k]; !ok {
					missing = append(missing, k)
				}
			}
			j := Judgement{Complete: len(missing) == 0 && len(got) > 0}
			var dups []string
			for _, k := range order {
				if ss := groups[k]; len(ss) > 1 {
					dups = append(dups, fmt.Sprintf("%s %s occurred %d times: %s", key, quote(k), len(ss), occurrences(ss)))
					j.Named = append(j.Named, ss...)
				}
			}
			var found []string
			if len(keyless) > 0 {
				found = append(found, fmt.Sprintf("%s of %d selected lack %s", english.Plural(len(keyless), "span"), len(got), key))
				j.Lines = append(j.Lines, keyless...)
			}
			if len(dups) > 0 {
				found = append(found, fmt.Sprintf("%d of %d %s values occurred more than once", len(dups), len(order), key))
				j.Lines = append(j.Lines, dups...)
			}
			switch {
			case len(got) == 0:
				found = append(found, "found none")
			case len(missing) > 0:
				found = append(found, fmt.Sprintf("%s %s never occurred", key, quoteAll(missing)))
			}
			j.Failed = len(found) > 0
			j.Found = strings.Join(found, "; ")
			return j
		},
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]spanstore.Span, len(groups))
	for k, ss := range groups {
		out[k] = ss[0]
	}
	return out, nil
}

// groupBy groups spans by their value of key (looked up in any scope),
// listing the values in order of first arrival, and the spans that lack key
// as lines for a report.
func groupBy(spans []spanstore.Span, key string) (groups map[string][]spanstore.Span, order, keyless []string) {
	groups = map[string][]spanstore.Span{}
	for i := range spans {
		fs := lookupIn(&spans[i], InAny, key)
		if len(fs) == 0 {
			keyless = append(keyless, "no "+key+": "+spanLine(spans[i]))
			continue
		}
		k := fs[0].v.AsString()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], spans[i])
	}
	return groups, order, keyless
}

// occurrences lists where and when spans ran: "worker-1 at 10:00:00.100
// (span …), worker-2 at …".
func occurrences(ss []spanstore.Span) string {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b spanstore.Span) int { return a.Start.Compare(b.Start) })
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprintf("%s at %s (span %s)", s.Instance(), clock(s.Start), s.SpanID)
	}
	return strings.Join(parts, ", ")
}

// InOrder waits until each query selects a span, then proves that they
// started in the order given: the earliest span of each query starts no
// earlier than the earliest of the one before, across instances. It fails as
// soon as all are present and out of order, and returns the earliest span of
// each query.
func (c *Checker) InOrder(ctx context.Context, qs ...Query) ([]spanstore.Span, error) {
	w := c.begin(ctx)
	defer w.cancel()
	var asked strings.Builder
	fmt.Fprintf(&asked, "these to start in this order, within %s:", round(w.limit))
	for i, q := range qs {
		fmt.Fprintf(&asked, "\n  %d. %s", i+1, q.phrase("spans"))
	}
	for {
		v := newView(c.src)
		firsts := make([]*spanstore.Span, len(qs))
		var chans []<-chan struct{}
		var missing []Query
		var missingNos []string
		for i, q := range qs {
			got, ch := q.find(v, true)
			chans = append(chans, ch)
			if len(got) == 0 {
				missing = append(missing, q)
				missingNos = append(missingNos, fmt.Sprint(i+1))
				continue
			}
			first := slices.MinFunc(got, func(a, b spanstore.Span) int { return byStart(&a, &b) })
			firsts[i] = &first
		}
		if len(missing) == 0 {
			for i := 1; i < len(qs); i++ {
				if firsts[i].Start.Before(firsts[i-1].Start) {
					return spansOf(firsts), c.fail(v, w, report{asked: asked.String(),
						found:   fmt.Sprintf("out of order: %d started %s before %d", i+1, round(firsts[i-1].Start.Sub(firsts[i].Start)), i),
						details: timeline(firsts), about: qs})
				}
			}
			return spansOf(firsts), nil
		}
		if next(w.ctx, nil, chans...) != changed {
			return spansOf(firsts), c.fail(v, w, report{asked: asked.String(),
				found:   fmt.Sprintf("nothing matched %s %s", strings.Join(missingNos, ", "), w.ended()),
				details: timeline(firsts), near: missing, about: qs})
		}
	}
}

func spansOf(ps []*spanstore.Span) []spanstore.Span {
	out := make([]spanstore.Span, 0, len(ps))
	for _, p := range ps {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

// timeline lists the earliest span of each query by start time, so the order
// that happened is visible next to the order asked.
func timeline(firsts []*spanstore.Span) []string {
	idx := make([]int, 0, len(firsts))
	var lines []string
	for i, p := range firsts {
		if p == nil {
			lines = append(lines, fmt.Sprintf("%d. no match", i+1))
			continue
		}
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return byStart(firsts[a], firsts[b]) })
	var seen []string
	for _, i := range idx {
		p := firsts[i]
		lines = append(lines, fmt.Sprintf("%d. %s", i+1, spanLine(*p)))
		seen = append(seen, fmt.Sprint(i+1))
	}
	if len(seen) > 1 {
		lines = append(lines, "order seen by start time: "+strings.Join(seen, ", "))
	}
	return lines
}

// ChildOf proves that every span child selects is a child of a span parent
// selects: it waits until child selects at least one span and each one's
// parent has arrived and matches. It fails at once for a root span or a
// parent that arrived and does not match (spans arrive complete), and at the
// timeout for parents that never arrived. Give child the correlation, or it
// speaks of every such span in the sink.
func (c *Checker) ChildOf(ctx context.Context, child, parent Query) ([]spanstore.Span, error) {
	w := c.begin(ctx)
	defer w.cancel()
	asked := fmt.Sprintf("every %s to be a child of %s, within %s", child.phrase("span"), parent.nest("a span"), round(w.limit))
	both := child.ChildOf(parent)
	for {
		v := newView(c.src)
		good, ch := both.find(v, true) // watches what the parent's arrival touches
		kids, _ := child.find(v, false)
		isGood := map[spanstore.SpanID]bool{}
		for _, s := range good {
			isGood[s.SpanID] = true
		}
		var wrong, waiting []string
		for i := range kids {
			k := &kids[i]
			if isGood[k.SpanID] {
				continue
			}
			line := spanLine(*k) + ": " + seenParent(v, k, parent)
			if k.IsRoot() || v.trace(k.TraceID).span(k.ParentSpanID) != nil {
				wrong = append(wrong, line)
			} else {
				waiting = append(waiting, line)
			}
		}
		if len(wrong) > 0 {
			return kids, c.fail(v, w, report{asked: asked,
				found:   fmt.Sprintf("%d of %d are not", len(wrong), len(kids)),
				details: wrong, about: []Query{child, parent}})
		}
		if len(kids) > 0 && len(waiting) == 0 {
			return kids, nil
		}
		if next(w.ctx, nil, ch) != changed {
			if len(kids) == 0 {
				return nil, c.fail(v, w, report{asked: asked, found: fmt.Sprintf("found no %s %s", child.phrase("span"), w.ended()),
					near: []Query{child}, about: []Query{child, parent}})
			}
			return kids, c.fail(v, w, report{asked: asked,
				found:   fmt.Sprintf("%d of %d still have no parent %s", len(waiting), len(kids), w.ended()),
				details: waiting, about: []Query{child, parent}})
		}
	}
}
