package assert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/traceproof/traceproof/internal/english"
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
func nearMisses(v *view, q Query) ([]NearMiss, int, []nearGroup) {
	if len(q.conds) < 2 {
		return nil, 0, nil
	}
	f, _ := q.filter()
	var cands []spanstore.Span
	if f.Correlation != "" {
		cands = v.correlated(f.Correlation).spans
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
	var groups []nearGroup
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
		c := q.conds[missed]
		nm := NearMiss{Span: *s, Missed: c.words, Seen: c.seen(v, s)}
		if len(out) < maxNearMisses {
			out = append(out, nm)
		}
		i := slices.IndexFunc(groups, func(g nearGroup) bool { return g.missed == nm.Missed })
		if i < 0 {
			groups = append(groups, nearGroup{missed: nm.Missed})
			i = len(groups) - 1
		}
		groups[i].add(nm)
	}
	return out, total, groups
}

// nearGroup is the near misses that failed one condition: how many, what
// they had instead (each distinct value with its count), and a few of them.
type nearGroup struct {
	missed   string
	n        int
	seen     []string
	seenN    []int
	examples []spanstore.Span
}

const nearExamples = 3

func (g *nearGroup) add(nm NearMiss) {
	g.n++
	if i := slices.Index(g.seen, nm.Seen); i >= 0 {
		g.seenN[i]++
	} else {
		g.seen = append(g.seen, nm.Seen)
		g.seenN = append(g.seenN, 1)
	}
	if len(g.examples) < nearExamples {
		g.examples = append(g.examples, nm.Span)
	}
}

// String is the group in a line or two: the condition, the count, what was
// seen (most common first), and examples.
func (g nearGroup) String() string {
	idx := make([]int, len(g.seen))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return g.seenN[b] - g.seenN[a] })
	var seen []string
	for k, i := range idx {
		if k == 5 {
			seen = append(seen, fmt.Sprintf("… %d more values", len(idx)-k))
			break
		}
		if g.seenN[i] > 1 {
			seen = append(seen, fmt.Sprintf("%s (%d)", g.seen[i], g.seenN[i]))
		} else {
			seen = append(seen, g.seen[i])
		}
	}
	ex := make([]string, len(g.examples))
	for i, s := range g.examples {
		ex[i] = fmt.Sprintf("%s [%s] span %s", s.Name, s.Instance(), s.SpanID)
	}
	more := ""
	if g.n > len(g.examples) {
		more = ", …"
	}
	return fmt.Sprintf("%s missed [%s]; saw %s\n    e.g. %s%s", english.Plural(g.n, "span"), g.missed, strings.Join(seen, ", "), strings.Join(ex, ", "), more)
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
