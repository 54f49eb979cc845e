package assert

import (
	"regexp"
	"slices"
	"strings"

	"github.com/traceproof/traceproof/spanstore"
)

// Query describes spans: every condition added must hold. Queries are
// immutable values; each method returns a new Query, so a base query can be
// shared and refined:
//
//	published := assert.Spans().Named("publish_event").Correlated(id)
//	paid := published.Attr("event_name", "payment.processed")
//
// A query knows its own description (String), which failure messages use.
type Query struct {
	conds []cond
}

// cond is one condition of a query.
type cond struct {
	// words follow "spans" in a description: `named "x"`, `with k = "v"`.
	words string
	rank  int // descriptions list names first and the correlation last
	// trace conditions need the other spans of the span's trace, which the
	// store cannot give while it runs a Filter's Match; they are checked
	// after the store's query.
	trace bool

	// Index hints: the store narrows by these before any Match runs.
	name    string            // exact span name
	corr    string            // correlation value
	traceID spanstore.TraceID // one trace
	sub     *Query            // structure: the related span's query

	match func(v *view, s *spanstore.Span) bool
	// seen says what the span had instead, for near misses.
	seen func(v *view, s *spanstore.Span) string
}

const (
	rankName = iota
	rankOther
	rankStructure
	rankWhere
)

// Spans starts a query that selects every span; add conditions to narrow it.
func Spans() Query { return Query{} }

func (q Query) with(c cond) Query {
	q.conds = append(slices.Clip(q.conds), c)
	return q
}

// Named selects spans with exactly this name.
func (q Query) Named(name string) Query {
	return q.with(cond{
		words: "named " + quote(name), rank: rankName, name: name,
		match: func(_ *view, s *spanstore.Span) bool { return s.Name == name },
		seen:  seenName,
	})
}

// NamePrefix selects spans whose name starts with prefix.
func (q Query) NamePrefix(prefix string) Query {
	return q.with(cond{
		words: "with a name starting with " + quote(prefix), rank: rankName,
		match: func(_ *view, s *spanstore.Span) bool { return strings.HasPrefix(s.Name, prefix) },
		seen:  seenName,
	})
}

// NameMatches selects spans whose name matches the regular expression re.
// It panics if re does not compile, as regexp.MustCompile does.
func (q Query) NameMatches(re string) Query {
	rx := regexp.MustCompile(re)
	return q.with(cond{
		words: "with a name matching /" + re + "/", rank: rankName,
		match: func(_ *view, s *spanstore.Span) bool { return rx.MatchString(s.Name) },
		seen:  seenName,
	})
}

func seenName(_ *view, s *spanstore.Span) string { return "name " + quote(s.Name) }

// Kind selects spans of this kind (spanstore.KindServer, ...).
func (q Query) Kind(k spanstore.SpanKind) Query {
	return q.with(cond{
		words: "of kind " + k.String(), rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool { return s.Kind == k },
		seen:  func(_ *view, s *spanstore.Span) string { return "kind " + s.Kind.String() },
	})
}

// Status selects spans with this status code (spanstore.StatusError, ...).
func (q Query) Status(c spanstore.StatusCode) Query {
	return q.with(cond{
		words: "with status " + c.String(), rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool { return s.Status.Code == c },
		seen: func(_ *view, s *spanstore.Span) string {
			if s.Status.Message != "" {
				return "status " + s.Status.Code.String() + " " + quote(s.Status.Message)
			}
			return "status " + s.Status.Code.String()
		},
	})
}

// Attr selects spans with attribute key in any scope (span, span events,
// resource) satisfying want: a Matcher (Exists, Contains, Matches,
// GreaterThan, ...) or a plain value, compared by Value.Equal, so an int
// attribute 3 equals 3 and 3.0 but not "3".
func (q Query) Attr(key string, want any) Query { return q.AttrIn(InAny, key, want) }

// AttrIn is Attr looking in one scope only.
func (q Query) AttrIn(scope AttrScope, key string, want any) Query {
	m := matcherOf(want)
	words := "with " + key + " " + m.words
	if scope != InAny {
		words = "with " + scope.String() + " " + key + " " + m.words
	}
	return q.with(cond{
		words: words, rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool {
			for _, f := range lookupIn(s, scope, key) {
				if m.match(f.v) {
					return true
				}
			}
			return false
		},
		seen: func(_ *view, s *spanstore.Span) string { return seenAttr(s, scope, key) },
	})
}

// seenAttr describes the values of key a span has in scope.
func seenAttr(s *spanstore.Span, scope AttrScope, key string) string {
	fs := lookupIn(s, scope, key)
	if len(fs) == 0 {
		if scope == InAny {
			return "no attribute " + key
		}
		return "no " + scope.String() + " " + key
	}
	distinct := slices.CompactFunc(slices.Clone(fs), func(a, b found) bool { return a.v.Equal(b.v) })
	if len(distinct) == 1 {
		return key + " = " + show(fs[0].v)
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = show(f.v) + " (" + f.where + ")"
	}
	return key + " = " + strings.Join(parts, ", ")
}

// HasEvent selects spans that recorded a span event with this name.
func (q Query) HasEvent(name string) Query {
	return q.with(cond{
		words: "with event " + quote(name), rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool { return s.HasEvent(name) },
		seen: func(_ *view, s *spanstore.Span) string {
			if len(s.Events) == 0 {
				return "no events"
			}
			names := make([]string, len(s.Events))
			for i, e := range s.Events {
				names[i] = quote(e.Name)
			}
			return "events " + strings.Join(names, ", ")
		},
	})
}

// Service selects spans emitted by this service.name.
func (q Query) Service(name string) Query {
	return q.with(cond{
		words: "from service " + quote(name), rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool { return s.Service() == name },
		seen:  func(_ *view, s *spanstore.Span) string { return "service " + quote(s.Service()) },
	})
}

// Instance selects spans emitted by this instance (Span.Instance:
// service.instance.id, else host.name, else the sender's address).
func (q Query) Instance(id string) Query {
	return q.with(cond{
		words: "from instance " + quote(id), rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool { return s.Instance() == id },
		seen:  func(_ *view, s *spanstore.Span) string { return "instance " + quote(s.Instance()) },
	})
}

// Correlated selects the spans of traces correlated with value: traces
// holding a span that carries value under one of the store's correlation keys
// (spanstore.DefaultCorrelationKeys() unless the sink was configured otherwise),
// in span, span-event or resource attributes. A child that carries the ID
// only through its parent, like `publish`, is selected too. The store indexes
// correlation values, so a correlated query touches only its own spans, and
// parallel tests with distinct values never see each other's.
func (q Query) Correlated(value string) Query {
	return q.with(cond{
		words: "in the trace of correlation " + quote(value), rank: rankWhere, trace: true, corr: value,
		match: func(v *view, s *spanstore.Span) bool { return slices.Contains(v.correlations(s.TraceID), value) },
		seen: func(v *view, s *spanstore.Span) string {
			cs := v.correlations(s.TraceID)
			if len(cs) == 0 {
				return "a trace with no correlation value"
			}
			qs := make([]string, len(cs))
			for i, c := range cs {
				qs[i] = quote(c)
			}
			return "the trace of correlation " + strings.Join(qs, ", ")
		},
	})
}

// InTrace selects the spans of one trace.
func (q Query) InTrace(id spanstore.TraceID) Query {
	return q.with(cond{
		words: "in trace " + id.String(), rank: rankWhere, traceID: id,
		match: func(_ *view, s *spanstore.Span) bool { return s.TraceID == id },
		seen:  func(_ *view, s *spanstore.Span) string { return "trace " + s.TraceID.String() },
	})
}

// Where selects spans for which f returns true; words describe the
// condition in messages ("with a retry count below the limit").
func (q Query) Where(words string, f func(spanstore.Span) bool) Query {
	return q.with(cond{
		words: words, rank: rankOther,
		match: func(_ *view, s *spanstore.Span) bool { return f(*s) },
		seen:  func(*view, *spanstore.Span) string { return "does not" },
	})
}

// String describes the query in words, e.g.
//
//	spans named "publish_event" with event_name = "payment.processed" in the trace of correlation "abc"
func (q Query) String() string { return q.phrase("spans") }

// phrase describes the query after a subject ("spans", "span", "1 span").
func (q Query) phrase(subject string) string {
	if len(q.conds) == 0 {
		if subject == "spans" {
			return "any spans"
		}
		return subject
	}
	cs := slices.Clone(q.conds)
	slices.SortStableFunc(cs, func(a, b cond) int { return a.rank - b.rank })
	var b strings.Builder
	b.WriteString(subject)
	for _, c := range cs {
		b.WriteByte(' ')
		b.WriteString(c.words)
	}
	return b.String()
}
