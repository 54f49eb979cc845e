package assert

import (
	"strings"

	"github.com/traceproof/traceproof/spanstore"
)

// Not matches a value that want does not: want is a Matcher, or a plain
// value meaning "equals" as in Query.Attr, so Not("Fast") is "!= \"Fast\""
// and Not(Matches("^order\\.")) is "not matching /^order\\./".
//
// Like every Matcher it tests the values a span has: a span without the
// attribute has none, so Attr(key, Not(x)) never selects it (the remote
// query language's != has this meaning, as TraceQL's does). For the absence
// of an attribute use Query.WithoutAttr; Not(Exists()) matches nothing. With
// InAny the condition holds when any value found is not want, so a key
// that has "a" on the span and "b" on an event is both = "a" and != "a".
func Not(want any) Matcher {
	m := matcherOf(want)
	words := "not " + m.words
	if rest, ok := strings.CutPrefix(m.words, "= "); ok {
		words = "!= " + rest
	}
	return Matcher{words: words, match: func(v spanstore.Value) bool { return !m.match(v) }}
}
