package remote

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// String writes q in the text form, which ParseQuery reads back as q:
// a query whose span has a Parent or Ancestor is written as a pipeline,
// {parent} > {span}, the other relations as child = {…} inside the braces.
//
//	{ name = "route_event" && correlation = "order-A1" } > { name = "publish" }
//
// A query Build rejects may print in a form ParseQuery rejects too.
func (q Query) String() string {
	var b strings.Builder
	writePipeline(&b, &q, 0)
	return b.String()
}

// maxPrintDepth stops String on a cyclic query a program built by hand.
const maxPrintDepth = 4 * maxDepth

func writePipeline(b *strings.Builder, q *Query, depth int) {
	if depth > maxPrintDepth {
		b.WriteString("{ … }")
		return
	}
	switch {
	case q.Parent != nil:
		writePipeline(b, q.Parent, depth+1)
		b.WriteString(" > ")
		r := *q
		r.Parent = nil
		writeSpanset(b, &r, depth)
	case q.Ancestor != nil:
		writePipeline(b, q.Ancestor, depth+1)
		b.WriteString(" >> ")
		r := *q
		r.Ancestor = nil
		writeSpanset(b, &r, depth)
	default:
		writeSpanset(b, q, depth)
	}
}

func writeSpanset(b *strings.Builder, q *Query, depth int) {
	if depth > maxPrintDepth {
		b.WriteString("{ … }")
		return
	}
	n := 0
	cond := func() {
		if n == 0 {
			b.WriteString("{ ")
		} else {
			b.WriteString(" && ")
		}
		n++
	}
	str := func(name, op, v string) {
		if v != "" {
			cond()
			b.WriteString(name + " " + op + " " + strconv.Quote(v))
		}
	}
	word := func(name, v string, known map[string]bool) {
		if v != "" {
			cond()
			if known[v] {
				b.WriteString(name + " = " + v)
			} else {
				b.WriteString(name + " = " + strconv.Quote(v))
			}
		}
	}
	str("name", "=", q.Name)
	str("name_prefix", "=", q.NamePrefix)
	str("name", "=~", q.NameRegex)
	word("kind", q.Kind, kindWords)
	word("status", q.Status, statusWords)
	str("correlation", "=", q.Correlation)
	str("service", "=", q.Service)
	str("instance", "=", q.Instance)
	str("trace_id", "=", q.TraceID)
	for _, a := range q.Attrs {
		cond()
		writeAttr(b, a)
	}
	str("event", "=", q.Event)
	for _, s := range []struct {
		name string
		sub  *Query
	}{{"child", q.Child}, {"descendant", q.Descendant}, {"parent", q.Parent}, {"ancestor", q.Ancestor}} {
		if s.sub == nil {
			continue
		}
		cond()
		b.WriteString(s.name + " = ")
		if s.sub.Parent != nil || s.sub.Ancestor != nil {
			b.WriteByte('(')
			writePipeline(b, s.sub, depth+1)
			b.WriteByte(')')
		} else {
			writeSpanset(b, s.sub, depth+1)
		}
	}
	if n == 0 {
		b.WriteString("{}")
	} else {
		b.WriteString(" }")
	}
}

var kindWords, statusWords = wordSet(kindNames), wordSet(statusNames)

func wordSet(names string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(names) {
		m[w] = true
	}
	return m
}

var scopePrefix = map[string]string{"": ".", "any": ".", "span": "span.", "event": "event.", "resource": "resource."}

func writeAttr(b *strings.Builder, a Attr) {
	prefix, ok := scopePrefix[a.Scope]
	if !ok {
		prefix = a.Scope + "." // unknown: printed so that it does not parse
	}
	b.WriteString(prefix)
	if bareKey(a.Key) {
		b.WriteString(a.Key)
	} else {
		b.WriteString(strconv.Quote(a.Key))
	}
	switch a.Op {
	case "exists":
		b.WriteString(" != nil")
		return
	case "!exists":
		b.WriteString(" = nil")
		return
	case "", "=":
		b.WriteString(" = ")
	case "regex":
		b.WriteString(" =~ ")
	case "!regex":
		b.WriteString(" !~ ")
	default:
		b.WriteString(" " + a.Op + " ")
	}
	b.WriteString(formatValue(a.Value))
}

func bareKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r == utf8.RuneError || !isKeyRune(r) {
			return false
		}
	}
	return true
}

// formatValue writes a value as the text form reads it back with its type:
// a float always with a fraction or an exponent, so 1.0 stays a float.
func formatValue(x any) string {
	if x == nil {
		return "nil"
	}
	v, msg := scalar(x)
	if msg != "" {
		return fmt.Sprintf("%v", x) // not a value the text form has; it will not parse
	}
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return formatFloat(v)
	}
	return ""
}

func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") && !math.IsInf(f, 0) && !math.IsNaN(f) {
		s += ".0"
	}
	return s
}
