package assert

import (
	"fmt"

	"github.com/traceproof/traceproof/spanstore"
)

// NearMiss is a span that met every condition of a query but one: usually
// the answer to "why did my assertion fail?" (a wrong attribute value, a
// parent that never arrived, another correlation ID).
type NearMiss struct {
	Span spanstore.Span
	// Missed is the condition the span failed, in the query's words.
	Missed string
	// Seen is what the span had instead, e.g. `event_name = "payment.failed"`.
	Seen string
}

func (n NearMiss) String() string {
	return fmt.Sprintf("%s [%s] span %s started %s: misses [%s]; saw %s",
		n.Span.Name, n.Span.Instance(), n.Span.SpanID, clock(n.Span.Start), n.Missed, n.Seen)
}

const (
	maxNearMisses = 10
	// maxCandidates bounds the spans a failure examines for near misses, so
	// a failure in a big shared sink stays quick.
	maxCandidates = 5000
)

// nearMisses evaluates each condition of q separately on candidate spans and
// returns those that failed exactly one, and how many there were in all.
// Candidates are the query's correlation's spans when it has any (the spans
// the test produced), else spans with the query's name, else the most recent
// spans of the trace or sink. A query of one condition has no near misses
// worth reading: every other span would be one.
func nearMisses(v *view, q Query) ([]NearMiss, int) {
	if len(q.conds) < 2 {
		return nil, 0
	}
	f, _ := q.filter()
	var cands []spanstore.Span
	if f.Correlation != "" {
		cands = v.src.Spans(spanstore.Filter{Correlation: f.Correlation})
	}
	if len(cands) == 0 && f.Name != "" {
		cands = v.src.Spans(spanstore.Filter{Name: f.Name})
	}
	if len(cands) == 0 && !f.TraceID.IsZero() {
		cands = v.src.Spans(spanstore.Filter{TraceID: f.TraceID})
	}
	if len(cands) == 0 && f.Correlation == "" && f.Name == "" && f.TraceID.IsZero() {
		cands = recent(v.src, maxCandidates)
	}
	if len(cands) > maxCandidates {
		cands = cands[len(cands)-maxCandidates:]
	}
	var out []NearMiss
	total := 0
	for i := range cands {
		s := &cands[i]
		missed := -1
		for j, c := range q.conds {
			if !c.match(v, s) {
				if missed >= 0 {
					missed = -2
					break
				}
				missed = j
			}
		}
		if missed < 0 {
			continue
		}
		total++
		if len(out) < maxNearMisses {
			c := q.conds[missed]
			out = append(out, NearMiss{Span: *s, Missed: c.words, Seen: c.seen(v, s)})
		}
	}
	return out, total
}

// recent returns up to n of the most recently arrived spans. Seq numbers
// arrivals over the store's life, so the newest n have the highest.
func recent(src Source, n int) []spanstore.Span {
	last := src.Stats().Spans
	if last <= uint64(n) {
		return src.Spans(spanstore.Filter{})
	}
	cut := last - uint64(n)
	return src.Spans(spanstore.Filter{Match: func(s *spanstore.Span) bool { return s.Seq > cut }})
}
