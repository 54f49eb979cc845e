package remote

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

// Build checks q and turns it into the assert.Query that evaluates it, so
// a remote query means exactly what the same Go query means. Its errors are
// *[QueryError]s naming the field at fault. It checks the limits too: at most
// 16 levels of sub-queries, 64 query objects in all, 32 attrs in each,
// regular expressions of at most 1 KiB.
func (q Query) Build() (assert.Query, error) {
	var b builder
	aq, err := b.build(&q, "", 0)
	if err != nil {
		return assert.Query{}, err
	}
	return aq, nil
}

// builder carries what Build counts across the whole query tree.
type builder struct {
	queries int
}

var kinds = map[string]spanstore.SpanKind{
	"internal": spanstore.KindInternal, "server": spanstore.KindServer, "client": spanstore.KindClient,
	"producer": spanstore.KindProducer, "consumer": spanstore.KindConsumer, "unspecified": spanstore.KindUnspecified,
}

const kindNames = "internal server client producer consumer unspecified"

var statuses = map[string]spanstore.StatusCode{
	"unset": spanstore.StatusUnset, "ok": spanstore.StatusOK, "error": spanstore.StatusError,
}

const statusNames = "unset ok error"

var scopes = map[string]assert.AttrScope{
	"": assert.InAny, "any": assert.InAny, "span": assert.InSpan,
	"event": assert.InEvents, "resource": assert.InResource,
}

const scopeNames = "span event resource any"

const opNames = "= != exists !exists contains regex !regex < <= > >="

func (b *builder) build(q *Query, path string, depth int) (assert.Query, *QueryError) {
	fail := func(field, format string, args ...any) (assert.Query, *QueryError) {
		return assert.Query{}, &QueryError{Field: join(path, field), Msg: fmt.Sprintf(format, args...)}
	}
	if depth > maxDepth {
		return fail("", "sub-queries nested more than %d deep", maxDepth)
	}
	if b.queries++; b.queries > maxQueries {
		return fail("", "more than %d queries in all", maxQueries)
	}
	aq := assert.Spans()
	if q.Name != "" {
		aq = aq.Named(q.Name)
	}
	if q.NamePrefix != "" {
		aq = aq.NamePrefix(q.NamePrefix)
	}
	if q.NameRegex != "" {
		if msg := checkRegex(q.NameRegex); msg != "" {
			return fail("name_regex", "%s", msg)
		}
		aq = aq.NameMatches(q.NameRegex)
	}
	if q.Kind != "" {
		k, ok := kinds[q.Kind]
		if !ok {
			return fail("kind", "unknown kind %q; want one of %s", q.Kind, kindNames)
		}
		aq = aq.Kind(k)
	}
	if q.Status != "" {
		c, ok := statuses[q.Status]
		if !ok {
			return fail("status", "unknown status %q; want one of %s", q.Status, statusNames)
		}
		aq = aq.Status(c)
	}
	if q.Correlation != "" {
		aq = aq.Correlated(q.Correlation)
	}
	if q.Service != "" {
		aq = aq.Service(q.Service)
	}
	if q.Instance != "" {
		aq = aq.Instance(q.Instance)
	}
	if q.TraceID != "" {
		id, msg := parseTraceID(q.TraceID)
		if msg != "" {
			return fail("trace_id", "%s", msg)
		}
		aq = aq.InTrace(id)
	}
	if len(q.Attrs) > maxAttrs {
		return fail("attrs", "%d attrs; at most %d", len(q.Attrs), maxAttrs)
	}
	for i, a := range q.Attrs {
		var err *QueryError
		if aq, err = buildAttr(aq, a); err != nil {
			return assert.Query{}, err.under(join(path, "attrs["+strconv.Itoa(i)+"]"))
		}
	}
	if q.Event != "" {
		aq = aq.HasEvent(q.Event)
	}
	for _, s := range []struct {
		field string
		sub   *Query
		add   func(assert.Query, assert.Query) assert.Query
	}{
		{"child", q.Child, assert.Query.HasChild},
		{"descendant", q.Descendant, assert.Query.HasDescendant},
		{"parent", q.Parent, assert.Query.ChildOf},
		{"ancestor", q.Ancestor, assert.Query.DescendantOf},
	} {
		if s.sub == nil {
			continue
		}
		sub, err := b.build(s.sub, join(path, s.field), depth+1)
		if err != nil {
			return assert.Query{}, err
		}
		aq = s.add(aq, sub)
	}
	return aq, nil
}

// buildAttr adds one attribute condition; its errors name a field of a.
func buildAttr(aq assert.Query, a Attr) (assert.Query, *QueryError) {
	fail := func(field, format string, args ...any) (assert.Query, *QueryError) {
		return assert.Query{}, &QueryError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if a.Key == "" {
		return fail("key", "required")
	}
	scope, ok := scopes[a.Scope]
	if !ok {
		return fail("scope", "unknown scope %q; want one of %s", a.Scope, scopeNames)
	}
	op := a.Op
	if op == "" {
		op = "="
	}
	if !strings.Contains(" "+opNames+" ", " "+op+" ") {
		return fail("op", "unknown operator %q; want one of %s", op, opNames)
	}
	if op == "exists" || op == "!exists" {
		if a.Value != nil {
			return fail("value", "op %s takes no value, got %s", op, describeValue(a.Value))
		}
		if op == "!exists" {
			return aq.WithoutAttrIn(scope, a.Key), nil
		}
		return aq.AttrIn(scope, a.Key, assert.Exists()), nil
	}
	if a.Value == nil {
		return fail("value", "required for op %s", op)
	}
	v, msg := scalar(a.Value)
	if msg != "" {
		return fail("value", "%s", msg)
	}
	var m any
	switch op {
	case "=":
		m = v
	case "!=":
		m = assert.Not(v)
	case "contains":
		m = assert.Contains(v)
	case "regex", "!regex":
		re, ok := v.(string)
		if !ok {
			return fail("value", "op %s needs a regular expression as a string, got %s", op, describeValue(v))
		}
		if msg := checkRegex(re); msg != "" {
			return fail("value", "%s", msg)
		}
		m = assert.Matches(re)
		if op == "!regex" {
			m = assert.Not(m)
		}
	default: // < <= > >=
		switch v.(type) {
		case int64, float64:
		default:
			return fail("value", "op %s needs a number, got %s", op, describeValue(v))
		}
		m = map[string]func(any) assert.Matcher{
			"<": assert.LessThan, "<=": assert.AtMost, ">": assert.GreaterThan, ">=": assert.AtLeast,
		}[op](v)
	}
	return aq.AttrIn(scope, a.Key, m), nil
}

// scalar normalizes an attr value to string, bool, int64 or float64, or
// says why it cannot.
func scalar(x any) (any, string) {
	switch v := x.(type) {
	case string, bool, int64:
		return v, ""
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Sprintf("%v: JSON and the text form carry only finite numbers", v)
		}
		return v, ""
	case float32:
		return scalar(float64(v))
	case int:
		return int64(v), ""
	case int8:
		return int64(v), ""
	case int16:
		return int64(v), ""
	case int32:
		return int64(v), ""
	case uint:
		return scalar(uint64(v))
	case uint8:
		return int64(v), ""
	case uint16:
		return int64(v), ""
	case uint32:
		return int64(v), ""
	case uint64:
		if v > math.MaxInt64 {
			return nil, fmt.Sprintf("%d is out of the range of int64", v)
		}
		return int64(v), ""
	}
	return nil, fmt.Sprintf("want a string, number or boolean, got %T", x)
}

// describeValue renders a value for messages: `string "3"`, `number 3`.
func describeValue(x any) string {
	switch v := x.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case int64, float64, int, float32, int8, int16, int32, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("number %v", v)
	}
	return fmt.Sprintf("%T", x)
}

func checkRegex(re string) string {
	if len(re) > maxRegexLen {
		return fmt.Sprintf("regular expression of %d bytes; at most %d", len(re), maxRegexLen)
	}
	if _, err := regexp.Compile(re); err != nil {
		return err.Error()
	}
	return ""
}

func parseTraceID(s string) (spanstore.TraceID, string) {
	if len(s) != 32 {
		return spanstore.TraceID{}, fmt.Sprintf("want 32 hex digits, got %d characters", utf8.RuneCountInString(s))
	}
	id, err := spanstore.ParseTraceID(s)
	if err != nil {
		return id, fmt.Sprintf("%q is not hex", s)
	}
	if id.IsZero() {
		return id, "all zeros is not a valid trace ID"
	}
	return id, ""
}
