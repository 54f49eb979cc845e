package assert

import (
	"fmt"
	"slices"
)

// vacuous fails a check that passed over no span at all: an absence proven
// over a correlation, or a source, that never received a span is no proof
// (a typo in the ID, a correlation that is not propagated and a worker that
// exports nothing all look like that). n is how many spans the check
// selected; WithAllowEmpty opts out.
func (c *Checker) vacuous(v *view, w *wait, asked string, q Query, n int) error {
	// A source that failed to answer while the check ran (a backend that
	// could not be reached, a search that was cut short) proves nothing
	// either, with spans or without.
	if s, ok := c.src.(interface{ Err() error }); ok {
		if err := s.Err(); err != nil {
			return c.fail(v, w, report{asked: asked, corr: q.impliedCorrelation(),
				found: fmt.Sprintf("not proven: the source reported an error while the check ran: %v", err)})
		}
	}
	if n > 0 || c.allowEmpty {
		return nil
	}
	if corr := q.impliedCorrelation(); corr != "" {
		if len(v.correlated(corr).spans) > 0 {
			return nil
		}
		r := report{asked: asked, corr: corr,
			found: fmt.Sprintf("not proven: correlation %s had no span at all, so the absence holds over nothing", quote(corr)),
		}
		st := c.src.Stats()
		if others := slices.DeleteFunc(slices.Clone(st.Correlations), func(s string) bool { return s == corr }); len(others) > 0 {
			r.details = append(r.details, "correlations that did arrive (newest first): "+quoteAll(others))
			if m := closest(corr, others); m != "" {
				r.details = append(r.details, fmt.Sprintf("did you mean correlation %s?", quote(m)))
			}
		} else {
			r.details = append(r.details, "no correlation arrived at all")
		}
		r.details = append(r.details, "if the test means \"nothing at all\", use assert.WithAllowEmpty()")
		return c.fail(v, w, r)
	}
	if c.src.Stats().Spans > 0 {
		return nil
	}
	return c.fail(v, w, report{asked: asked,
		found:   "not proven: the source received no span from anyone, so the absence holds over nothing",
		details: []string{"if the test means \"nothing at all\", use assert.WithAllowEmpty()"},
	})
}
