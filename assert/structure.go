package assert

import (
	"strings"

	"github.com/traceproof/traceproof/spanstore"
)

// Structure conditions relate a span to others of its own trace, where
// parent/child links live. Since each domain event is its own trace
// (DESIGN.md), "the route_event that has a publish child" is a structure
// query. A sub-query's Correlated also narrows the outer query: both spans
// share a trace, so the outer one is in the same correlation.

// HasChild selects spans with at least one direct child matching sub.
func (q Query) HasChild(sub Query) Query {
	return q.with(structure("with a child "+sub.nest("span"), sub,
		func(v *view, s *spanstore.Span) bool {
			for _, c := range v.trace(s.TraceID).children(s.SpanID) {
				if sub.matchAll(v, c) {
					return true
				}
			}
			return false
		},
		func(v *view, s *spanstore.Span) string {
			return listSpans("children", "no children received", v.trace(s.TraceID).children(s.SpanID))
		}))
}

// HasDescendant selects spans with a child, grandchild, ... matching sub.
func (q Query) HasDescendant(sub Query) Query {
	return q.with(structure("with a descendant "+sub.nest("span"), sub,
		func(v *view, s *spanstore.Span) bool {
			for _, d := range v.trace(s.TraceID).descendants(s.SpanID) {
				if sub.matchAll(v, d) {
					return true
				}
			}
			return false
		},
		func(v *view, s *spanstore.Span) string {
			return listSpans("descendants", "no descendants received", v.trace(s.TraceID).descendants(s.SpanID))
		}))
}

// ChildOf selects spans whose parent matches sub.
func (q Query) ChildOf(sub Query) Query {
	return q.with(structure("whose parent is "+sub.nest("a span"), sub,
		func(v *view, s *spanstore.Span) bool {
			p := v.trace(s.TraceID).span(s.ParentSpanID)
			return p != nil && sub.matchAll(v, p)
		},
		func(v *view, s *spanstore.Span) string { return seenParent(v, s, sub) }))
}

// DescendantOf selects spans with a parent, grandparent, ... matching sub.
func (q Query) DescendantOf(sub Query) Query {
	return q.with(structure("under "+sub.nest("a span"), sub,
		func(v *view, s *spanstore.Span) bool {
			for _, a := range v.trace(s.TraceID).ancestors(s) {
				if sub.matchAll(v, a) {
					return true
				}
			}
			return false
		},
		func(v *view, s *spanstore.Span) string {
			if s.IsRoot() {
				return "a root span"
			}
			return listSpans("ancestors", "parent "+s.ParentSpanID.String()+" not received", v.trace(s.TraceID).ancestors(s))
		}))
}

func structure(words string, sub Query, match func(*view, *spanstore.Span) bool, seen func(*view, *spanstore.Span) string) cond {
	return cond{words: words, rank: rankStructure, trace: true, sub: &sub, match: match, seen: seen}
}

// nest describes a sub-query after subject, parenthesised when it has more
// than one condition so the nesting stays readable.
func (q Query) nest(subject string) string {
	if len(q.conds) > 1 {
		return "(" + q.phrase(subject) + ")"
	}
	return q.phrase(subject)
}

// seenParent describes a span's parent, and how it misses sub.
func seenParent(v *view, s *spanstore.Span, sub Query) string {
	if s.IsRoot() {
		return "no parent (a root span)"
	}
	p := v.trace(s.TraceID).span(s.ParentSpanID)
	if p == nil {
		return "parent " + s.ParentSpanID.String() + " not received"
	}
	out := "parent " + p.Name + " [" + p.Instance() + "]"
	for _, c := range sub.conds {
		if !c.match(v, p) {
			return out + ", which misses [" + c.words + "]: " + c.seen(v, p)
		}
	}
	return out
}

func listSpans(what, none string, spans []*spanstore.Span) string {
	if len(spans) == 0 {
		return none
	}
	const max = 8
	parts := make([]string, 0, min(len(spans), max))
	for i, s := range spans {
		if i == max {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, s.Name+" ["+s.Instance()+"]")
	}
	return what + " " + strings.Join(parts, ", ")
}
