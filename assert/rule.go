package assert

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// Rule is a check of one's own over the spans a query selects, run the way
// the built-in "these and no more" checks run: woken by arrivals, never by
// polling, and judged once, from one snapshot, which is also the snapshot the
// failure report prints. Packages that know a system's span shapes (such as
// assert/domainevent) are built on it.
type Rule struct {
	// Asked says what the test expects, for the report's first line.
	Asked string
	// Spans selects the spans judged. Give it a correlation (Correlated):
	// the report then shows the correlation's spans, and a rule that holds
	// over no span at all fails as vacuous.
	Spans Query
	// Judge reads one snapshot of the spans Spans selects, in arrival
	// order. deadline is zero while the rule waits; at the final look it is
	// when the wait for spans ended, so that spans received after it can be
	// told apart. Judge must depend on nothing but its arguments.
	Judge func(spans []spanstore.Span, deadline time.Time) Judgement
	// Settle keeps watching for the settle window once Judge says
	// Complete, so that an extra still in flight is seen. Without it the
	// rule passes the moment it is complete and not failed.
	Settle bool
	// Extras names what the settle window watches for in the report
	// ("duplicates"); "extras" when empty.
	Extras string
}

// Judgement is what a [Rule] makes of one snapshot.
type Judgement struct {
	// Complete says every span the rule waits for has arrived. The rule
	// stops waiting when it is complete (after the settle window, with
	// Rule.Settle) or when its timeout passes.
	Complete bool
	// Failed says the snapshot breaks the rule. A failed judgement is not
	// final while the rule waits: a report is written once, at the end.
	Failed bool
	// Found is the one-line verdict ("2 of 3 published, 1 unexpected"),
	// Lines the checklist under it.
	Found string
	Lines []string
	// Named are the spans the verdict speaks of; Matched, when set, are
	// listed as the spans that met the query.
	Named, Matched []spanstore.Span
}

// Satisfy waits until r is complete, or for the Checker's timeout, then
// (with r.Settle, or when it timed out) for the settle window, and judges the
// spans once. It returns the spans judged, and a *Failure when the judgement
// failed or was never complete.
func (c *Checker) Satisfy(ctx context.Context, r Rule) ([]spanstore.Span, error) {
	w := c.begin(ctx)
	defer w.cancel()
	asked := r.Asked + fmt.Sprintf(", within %s", round(w.limit))
	if r.Settle {
		extras := cmp.Or(r.Extras, "extras")
		asked = r.Asked + fmt.Sprintf(" (waiting up to %s for them, then %s for %s)", round(w.limit), round(c.settle), extras)
	}
	var v *view
	var spans []spanstore.Span
	look := func(deadline time.Time) (Judgement, <-chan struct{}) {
		v = newView(c.src)
		var ch <-chan struct{}
		spans, ch = r.Spans.find(v, true)
		return r.Judge(spans, deadline), ch
	}
	out := c.judgeOnce(w, look, r.Settle)
	j := out.j
	if j.Complete && !j.Failed && out.interrupted == "" {
		if err := c.vacuous(v, w, asked, r.Spans, len(spans)); err != nil {
			return spans, err
		}
		return spans, nil
	}
	found := j.Found
	switch {
	case out.interrupted != "":
		found += ", but " + out.interrupted
	case !out.complete:
		found += " " + w.ended()
	}
	return spans, c.fail(v, w, report{asked: asked, found: found, details: j.Lines, named: j.Named, matched: j.Matched, about: []Query{r.Spans}})
}

// judged is how judgeOnce ended: the final judgement, whether the rule was
// complete before the wait for spans ended, and, when the caller's context
// cut the wait or the window short, how.
type judged struct {
	j           Judgement
	complete    bool
	interrupted string
}

// judgeOnce is the loop under Satisfy, Exactly and OncePer. It looks on
// every arrival until a look is complete and not failed (returning at once
// without settle), or complete (then keeps looking for the settle window),
// or the wait's timeout passes (then it keeps looking for the settle window
// too, so that what was in flight at the deadline is seen, and judged as
// late). The final judgement is a look of its own after the window, so that
// the verdict and the spans reported come from one snapshot. It returns how
// the wait ended when that belongs in the verdict ("after 10s"), and the
// final judgement.
func (c *Checker) judgeOnce(w *wait, look func(deadline time.Time) (Judgement, <-chan struct{}), settle bool) judged {
	var timer *time.Timer
	var opened time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var deadline time.Time // when the wait for spans ended; zero while it lasts
	complete := false
	openWindow := func() {
		if timer == nil {
			timer, opened = time.NewTimer(c.settle), time.Now()
		}
	}
	for {
		j, changes := look(time.Time{})
		if j.Complete && deadline.IsZero() {
			complete = true
			if !settle && !j.Failed {
				return judged{j: j, complete: true}
			}
			openWindow()
		}
		done, fired := w.ctx, (<-chan time.Time)(nil)
		if timer != nil {
			done, fired = w.parent, timer.C
		}
		switch next(done, fired, changes) {
		case timerFired:
			if deadline.IsZero() {
				deadline = time.Now() // complete in time: nothing was late
			}
			j, _ = look(deadline)
			return judged{j: j, complete: complete}
		case ctxDone:
			if err := w.parent.Err(); err != nil {
				// The caller's context ended: judge what there is now.
				j, _ = look(time.Now())
				how := fmt.Sprintf("the context ended %s (%v)", w.ended(), context.Cause(w.parent))
				if timer != nil {
					how = fmt.Sprintf("the context ended %s into the settle window (%v)", round(time.Since(opened)), context.Cause(w.parent))
				}
				return judged{j: j, complete: complete, interrupted: how}
			}
			deadline = time.Now()
			openWindow()
		}
	}
}
