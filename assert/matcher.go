package assert

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/traceproof/traceproof/spanstore"
)

// AttrScope says where an attribute predicate looks.
type AttrScope uint8

// Scopes. One OTLP-instrumented system puts the same key in different places
// (DESIGN.md: correlation_id is a span-event attribute on route_event and a
// span attribute on publish_event), so the default looks everywhere.
const (
	// InAny looks in the span's attributes, its events' attributes and
	// its resource's; the predicate holds if any value found satisfies it.
	InAny AttrScope = iota
	// InSpan looks in the span's own attributes only.
	InSpan
	// InEvents looks in the attributes of the span's events.
	InEvents
	// InResource looks in the attributes of the emitting process.
	InResource
)

func (s AttrScope) String() string {
	switch s {
	case InAny:
		return "any"
	case InSpan:
		return "span attribute"
	case InEvents:
		return "span-event attribute"
	case InResource:
		return "resource attribute"
	}
	return "AttrScope(" + strconv.Itoa(int(s)) + ")"
}

// found is one value of a key, and where it was found.
type found struct {
	where string // "span", `event "Routing domain event"`, "resource"
	v     spanstore.Value
}

// lookupIn returns every value of key in scope, in the order InAny reads
// them: span, events, resource.
func lookupIn(s *spanstore.Span, scope AttrScope, key string) []found {
	var out []found
	if scope == InAny || scope == InSpan {
		if v, ok := s.Attributes.Get(key); ok {
			out = append(out, found{"span", v})
		}
	}
	if scope == InAny || scope == InEvents {
		for _, e := range s.Events {
			if v, ok := e.Attributes.Get(key); ok {
				out = append(out, found{"event " + strconv.Quote(e.Name), v})
			}
		}
	}
	if scope == InAny || scope == InResource {
		if v, ok := s.Resource.Attributes.Get(key); ok {
			out = append(out, found{"resource", v})
		}
	}
	return out
}

// Matcher tests an attribute value. Pass one to Query.Attr in place of a
// plain value, which means "equals".
type Matcher struct {
	words string // follows the key: `= "x"`, "set", `containing "x"`, "> 3"
	match func(spanstore.Value) bool
}

// String is the matcher in words, as it follows an attribute key.
func (m Matcher) String() string { return m.words }

// Exists matches any value: the attribute is present.
func Exists() Matcher {
	return Matcher{words: "set", match: func(spanstore.Value) bool { return true }}
}

// Contains matches a string attribute holding x as a substring, or a slice
// attribute holding an element equal to x.
func Contains(x any) Matcher {
	want := spanstore.ValueOf(x)
	return Matcher{words: "containing " + show(want), match: func(v spanstore.Value) bool {
		switch v.Kind() {
		case spanstore.KindString:
			return want.Kind() == spanstore.KindString && strings.Contains(v.Str(), want.Str())
		case spanstore.KindBytes:
			return bytes.Contains(v.Bytes(), []byte(want.AsString()))
		case spanstore.KindSlice:
			for _, e := range v.Slice() {
				if e.Equal(want) {
					return true
				}
			}
		}
		return false
	}}
}

// Matches matches a value whose text (Value.AsString) matches the regular
// expression re. It panics if re does not compile, as regexp.MustCompile
// does: a bad pattern is a bug in the test.
func Matches(re string) Matcher {
	rx := regexp.MustCompile(re)
	return Matcher{words: "matching /" + re + "/", match: func(v spanstore.Value) bool {
		return rx.MatchString(v.AsString())
	}}
}

// GreaterThan, AtLeast, LessThan and AtMost compare numbers: an int or double
// attribute against any Go number. A value that is not a number never
// matches; "42" is a string, not 42.
func GreaterThan(x any) Matcher { return compare(">", x, func(c int) bool { return c > 0 }) }

// AtLeast matches a number >= x. See GreaterThan.
func AtLeast(x any) Matcher { return compare(">=", x, func(c int) bool { return c >= 0 }) }

// LessThan matches a number < x. See GreaterThan.
func LessThan(x any) Matcher { return compare("<", x, func(c int) bool { return c < 0 }) }

// AtMost matches a number <= x. See GreaterThan.
func AtMost(x any) Matcher { return compare("<=", x, func(c int) bool { return c <= 0 }) }

func compare(op string, x any, ok func(int) bool) Matcher {
	want := spanstore.ValueOf(x)
	return Matcher{words: op + " " + show(want), match: func(v spanstore.Value) bool {
		c, isNum := v.Compare(want)
		return isNum && ok(c)
	}}
}

// matcherOf turns Attr's argument into a Matcher: a Matcher stays itself,
// anything else is compared with Value.Equal (typed: 42 equals 42.0, not "42").
func matcherOf(x any) Matcher {
	if m, ok := x.(Matcher); ok {
		return m
	}
	want := spanstore.ValueOf(x)
	return Matcher{words: "= " + show(want), match: func(v spanstore.Value) bool { return v.Equal(want) }}
}

// show renders a value for messages: strings quoted, so "42" and 42 differ.
func show(v spanstore.Value) string {
	switch v.Kind() {
	case spanstore.KindString, spanstore.KindBytes:
		return strconv.Quote(v.AsString())
	case spanstore.KindEmpty:
		return "(empty)"
	}
	return v.AsString()
}

func quote(s string) string { return strconv.Quote(s) }

// plural returns "1 span" or "2 spans".
