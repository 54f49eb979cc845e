package assert

import "github.com/traceproof/traceproof/spanstore"

// WithoutAttr selects spans that have no attribute key in any scope: not on
// the span, its events or its resource. A Matcher cannot say this, since it
// tests the values a span has (see Not).
func (q Query) WithoutAttr(key string) Query { return q.WithoutAttrIn(InAny, key) }

// WithoutAttrIn is WithoutAttr looking in one scope only: a `publish` span
// without a span attribute correlation_id may still carry one on an event.
func (q Query) WithoutAttrIn(scope AttrScope, key string) Query {
	words := "without attribute " + key
	if scope != InAny {
		words = "without " + scope.String() + " " + key
	}
	return q.with(cond{
		words: words, rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool { return len(lookupIn(s, scope, key)) == 0 },
		seen:  func(_ *view, s *spanstore.Span) string { return seenAttr(s, scope, key) },
	})
}
