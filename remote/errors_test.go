package remote_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/traceproof/traceproof/remote"
)

const (
	kindList  = "internal server client producer consumer unspecified"
	opList    = "= != exists !exists contains regex !regex < <= > >="
	fieldList = "name, name_prefix, name_regex, kind, status, correlation, service, instance, trace_id, attrs, event, child, descendant, parent, ancestor"
	condWant  = "expected a condition: an intrinsic (name, name_prefix, name_regex, kind, status, correlation, service, instance, trace_id, event, child, descendant, parent, ancestor) or an attribute (span.key, event.key, resource.key, .key)"
	valueWant = `expected a value after =: a "string", a number, true, false or nil`
)

// queryErr asserts err is a *QueryError with this field, column and text.
func queryErr(t *testing.T, in string, err error, field string, col int, msg string) {
	t.Helper()
	var qe *remote.QueryError
	if !errors.As(err, &qe) {
		t.Errorf("%s: got %v (%T), want a *remote.QueryError", in, err, err)
		return
	}
	if qe.Field != field || qe.Column != col || qe.Error() != msg {
		t.Errorf("%s:\n got field %q column %d: %s\nwant field %q column %d: %s", in, qe.Field, qe.Column, qe.Error(), field, col, msg)
	}
}

func TestTextErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("{} > ", 17) + "{}"
	for _, c := range []struct {
		in    string
		field string
		col   int
		msg   string
	}{
		{`{ name = "a" || name = "b" }`, "", 14, `column 14: || is not supported: all conditions of a query must hold; join them with &&`},
		{`{ name = "a" } || { name = "b" }`, "", 16, `column 16: || is not supported: spansets cannot be or-ed; run one query per alternative`},
		{`{ name = "a" } && { name = "b" }`, "", 16, `column 16: && between spansets is not supported; put the conditions in one { … }, or relate the spans with > >> < <<`},
		{`{ name = "a" } | count() > 1`, "", 16, `column 16: | (pipelines, aggregates) is not supported`},
		{`{ name = "a" } ~ { name = "b" }`, "", 16, `column 16: ~ (sibling) is not supported; use > or < to relate spans`},
		{`{ name = "a" } !> { name = "b" }`, "", 16, `column 16: ! (negated structural operators) is not supported`},
		{`{ name = "a" } }`, "", 16, `column 16: expected >, >>, <, << or end of query, got "}"`},
		{`({ name = "a" }`, "", 16, `column 16: expected >, >>, <, << or ) to close the ( at column 1, got end of query`},
		{`name = "a"`, "", 1, `column 1: expected { to start a query, got "name"`},
		{``, "", 1, `column 1: expected { to start a query, got end of query`},
		{"  \n ", "", 5, `column 5: expected { to start a query, got end of query`},
		{`{ name = "x" `, "", 14, `column 14: expected && or } after a condition, got end of query`},
		{`{ name = "x" kind = server }`, "", 14, `column 14: expected && or } after a condition, got "kind"`},
		{`{ child = { name = "a" } > { name = "b" } }`, "", 26, `column 26: expected && or } after a condition, got ">" (a pipeline inside { } goes in parentheses: child = ({…} > {…}))`},
		{`{ name = "x" && }`, "", 17, `column 17: ` + condWant + `, got "}"`},
		{`{ "name" = "x" }`, "", 3, `column 3: ` + condWant + `, got string "name"`},
		{`{ nmae = "x" }`, "", 3, `column 3: unknown intrinsic "nmae"; want one of name, name_prefix, name_regex, kind, status, correlation, service, instance, trace_id, event, child, descendant, parent, ancestor, or an attribute: span.nmae, event.nmae, resource.nmae or .nmae`},
		{`{ name != "x" }`, "", 8, `column 8: name takes = or =~, got "!="`},
		{`{ kind =~ "x" }`, "", 8, `column 8: kind takes =, got "=~"`},
		{`{ kind = 3 }`, "", 10, `column 10: kind takes a kind (` + kindList + `), got number 3`},
		{`{ status = span.x }`, "", 12, `column 12: status takes a status (unset ok error), got attribute span.x`},
		{`{ name = foo }`, "", 10, `column 10: name takes a "string", got "foo"`},
		{`{ correlation = "" }`, "", 17, `column 17: empty correlation; leave the condition out to match any span`},
		{`{ name = "a" && name = "b" }`, "", 17, `column 17: name is given twice`},
		{`{ name =~ "a" && name_regex = "b" }`, "", 18, `column 18: name_regex is given twice`},
		{`{ child = {} && child = {} }`, "", 17, `column 17: child is given twice`},
		{`{ child { } }`, "", 9, `column 9: child takes = and a query, got "{"`},
		{`{ child = name }`, "", 11, `column 11: expected { to start a query, got "name"`},
		{`{ name = "a" } > { parent = { name = "b" } }`, "", 16, `column 16: >: the query on its right already has parent = {…}; write one or the other`},
		{`{ name = "a" } << { descendant = {} }`, "", 16, `column 16: <<: the query on its right already has descendant = {…}; write one or the other`},
		{`{ span.x 3 }`, "", 10, `column 10: expected an operator after span.x: = != =~ !~ < <= > >= or contains, got number 3`},
		{`{ span.x = foo }`, "", 12, `column 12: ` + valueWant + `, got the word foo (write strings in quotes: "foo")`},
		{`{ span.x > .5 }`, "", 12, `column 12: expected a value after >: a "string", a number, true, false or nil, got attribute .5 (write 0.5)`},
		{`{ span.x = }`, "", 12, `column 12: ` + valueWant + `, got "}"`},
		{`{ span.x > nil }`, "", 10, `column 10: nil goes with = (the attribute is not set) or != (it is set), not >`},
		{`{ span.x contains nil }`, "", 10, `column 10: nil goes with = (the attribute is not set) or != (it is set), not contains`},
		{`{ span.x = "\q" }`, "", 13, `column 13: invalid escape \q in string`},
		{`{ span.x = "\x4" }`, "", 13, `column 13: invalid escape \x in string`},
		{`{ span.x = "abc }`, "", 12, `column 12: unterminated string`},
		{"{ span.x = \"a\nb\" }", "", 12, `column 12: unterminated string (a newline in a string must be written \n)`},
		{`{ span.x = 3s }`, "", 12, `column 12: invalid number "3s"; want an integer like 3 or -3, or a float like 2.5 or 1e-3`},
		{`{ span.x = 1.2.3 }`, "", 12, `column 12: invalid number "1.2.3"; want an integer like 3 or -3, or a float like 2.5 or 1e-3`},
		{`{ span.x = 1. }`, "", 12, `column 12: invalid number "1."; want an integer like 3 or -3, or a float like 2.5 or 1e-3`},
		{`{ span.x = - 1 }`, "", 12, `column 12: unexpected character '-'`},
		{`{ span.x = 99999999999999999999 }`, "", 12, `column 12: integer 99999999999999999999 is out of the range of int64`},
		{`{ span.x = 1e999 }`, "", 12, `column 12: number 1e999 is out of the range of float64`},
		{`{ span. = 1 }`, "", 3, `column 3: expected an attribute key after "span."`},
		{`{ . = 1 }`, "", 3, `column 3: expected an attribute key after "."`},
		{`{ span."" = 1 }`, "", 3, `column 3: expected an attribute key after "span.\"\""`},
		{`{ name = "a" & kind = server }`, "", 14, `column 14: expected && ("and"); a single & is not an operator`},
		// Columns count runes, not bytes: é is one.
		{`{ name = "é" && # }`, "", 17, `column 17: unexpected character '#'`},
		{"{ name = \"é\xff\" }", "", 12, `column 12: invalid UTF-8 in string`},
		{`{ name = "\xc3\xa9\xff" }`, "", 10, `column 10: string escapes make invalid UTF-8; write other characters as themselves or as \u escapes`},
		{"{ \xff }", "", 3, `column 3: unexpected character '�'`},

		// Checks Build makes, placed by the parser.
		{`{ name =~ "(" }`, "name_regex", 11, "name_regex: column 11: error parsing regexp: missing closing ): `(`"},
		{`{ name_regex = "(" }`, "name_regex", 16, "name_regex: column 16: error parsing regexp: missing closing ): `(`"},
		{`{ kind = bogus } > { name = "x" }`, "parent.kind", 10, `parent.kind: column 10: unknown kind "bogus"; want one of ` + kindList},
		{`{ status = fine }`, "status", 12, `status: column 12: unknown status "fine"; want one of unset ok error`},
		{`{ trace_id = "abc" }`, "trace_id", 14, `trace_id: column 14: want 32 hex digits, got 3 characters`},
		{`{ trace_id = "zz000000000000000000000000000000" }`, "trace_id", 14, `trace_id: column 14: "zz000000000000000000000000000000" is not hex`},
		{`{ trace_id = "00000000000000000000000000000000" }`, "trace_id", 14, `trace_id: column 14: all zeros is not a valid trace ID`},
		{`{ .a = 1 && .b =~ 3 }`, "attrs[1].value", 19, `attrs[1].value: column 19: op regex needs a regular expression as a string, got number 3`},
		{`{ .a < "x" }`, "attrs[0].value", 8, `attrs[0].value: column 8: op < needs a number, got string "x"`},
		{`{ .a >= true }`, "attrs[0].value", 9, `attrs[0].value: column 9: op >= needs a number, got boolean true`},
		{`{ .a !~ "[" }`, "attrs[0].value", 9, "attrs[0].value: column 9: error parsing regexp: missing closing ]: `[`"},
		{`{ name = "r" } >> { child = { .a =~ "(" } }`, "child.attrs[0].value", 37, "child.attrs[0].value: column 37: error parsing regexp: missing closing ): `(`"},
		{`{ child = ({ .a =~ "(" } > {}) }`, "child.parent.attrs[0].value", 20, "child.parent.attrs[0].value: column 20: error parsing regexp: missing closing ): `(`"},
		{`{ name =~ "` + strings.Repeat("a", 1025) + `" }`, "name_regex", 11, `name_regex: column 11: regular expression of 1025 bytes; at most 1024`},
		// Depth: 18 spansets chained nest 17 deep; the first is too deep.
		{deep, strings.TrimSuffix(strings.Repeat("parent.", 17), "."), 1, strings.TrimSuffix(strings.Repeat("parent.", 17), ".") + `: column 1: sub-queries nested more than 16 deep`},
		{strings.Repeat("{ child = ", 17) + "{}" + strings.Repeat(" }", 17), strings.TrimSuffix(strings.Repeat("child.", 17), "."), 171,
			strings.TrimSuffix(strings.Repeat("child.", 17), ".") + `: column 171: sub-queries nested more than 16 deep`},
		{strings.Repeat("{ child = ", 100) + "{}" + strings.Repeat(" }", 100), "", 643, `column 643: sub-queries nested more than 16 deep`},
		{strings.Repeat("(", 65) + "{}" + strings.Repeat(")", 65), "", 65, `column 65: more than 64 nested parentheses`},
		{"{ " + strings.Repeat(".a = 1 && ", 32) + ".b = 2 }", "attrs", 323, `attrs: column 323: 33 attrs; at most 32`},
		{"{ name = \"" + strings.Repeat("a", 64<<10) + "\" }", "", 65537, `column 65537: query text of 65549 bytes; at most 65536`},
		// The rune that crosses the limit: é's first byte is the 65536th.
		{strings.Repeat("a", 64<<10-1) + "é", "", 65536, `column 65536: query text of 65537 bytes; at most 65536`},
	} {
		_, err := remote.ParseQuery(c.in)
		queryErr(t, clipped(c.in), err, c.field, c.col, c.msg)
	}
}

func clipped(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// TestTooManyQueries: a query tree of 85 objects, 16 levels shallow, passes
// the depth limit but not the count; the 65th in Build's order (child,
// descendant, parent, ancestor, depth first) is the top's ancestor.
func TestTooManyQueries(t *testing.T) {
	t.Parallel()
	leaf := "{}"
	mid := "{ child = " + leaf + " && descendant = " + leaf + " && parent = " + leaf + " && ancestor = " + leaf + " }"
	top := "{ child = " + mid + " && descendant = " + mid + " && parent = " + mid + " && ancestor = " + mid + " }"
	root := "{ child = " + top + " && descendant = " + top + " && parent = " + top + " && ancestor = " + top + " }"
	_, err := remote.ParseQuery(root)
	col := utf8.RuneCountInString(root[:strings.LastIndex(root, "ancestor = "+top)+len("ancestor = ")]) + 1
	queryErr(t, "85 queries", err, "ancestor", col, "ancestor: column "+itoa(col)+": more than 64 queries in all")

	four := func(sub string) string {
		return `{"child": ` + sub + `, "descendant": ` + sub + `, "parent": ` + sub + `, "ancestor": ` + sub + `}`
	}
	var q remote.Query
	if err := json.Unmarshal([]byte(four(four(four("{}")))), &q); err != nil {
		t.Fatal(err)
	}
	_, err = q.Build()
	queryErr(t, "85 queries, JSON", err, "ancestor", 0, "ancestor: more than 64 queries in all")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestJSONErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"child": `, 17) + "{}" + strings.Repeat("}", 17)
	deepField := strings.TrimSuffix(strings.Repeat("child.", 17), ".")
	for _, c := range []struct {
		in    string
		field string
		col   int
		msg   string
	}{
		// Decoding.
		{`{"nmae": "x"}`, "nmae", 0, "nmae: unknown field; want one of " + fieldList},
		{`{"child": {"nmae": "x"}}`, "child.nmae", 0, "child.nmae: unknown field; want one of " + fieldList},
		{`{"name": "a", "name": "b"}`, "name", 0, "name: given twice"},
		{`{"name": 3}`, "name", 0, "name: want a string, got a number"},
		{`{"kind": ["server"]}`, "kind", 0, "kind: want a string, got an array"},
		{`{"name": ""}`, "name", 0, "name: empty; leave the field out to match any span"},
		{`{"attrs": {}}`, "attrs", 0, "attrs: want an array of attr conditions, got an object"},
		{`{"attrs": ["x"]}`, "attrs[0]", 0, `attrs[0]: want an attr condition: {"key", "op", "value", "scope"}, got a string`},
		{`{"attrs": [{"key": "a"}, {"value": 1}]}`, "attrs[1].key", 0, "attrs[1].key: required"},
		{`{"attrs": [{"key": ""}]}`, "attrs[0].key", 0, "attrs[0].key: required"},
		{`{"attrs": [{"key": "a", "key": "b"}]}`, "attrs[0].key", 0, "attrs[0].key: given twice"},
		{`{"attrs": [{"key": "a", "vaule": 1}]}`, "attrs[0].vaule", 0, "attrs[0].vaule: unknown field; want one of key, op, value, scope"},
		{`{"attrs": [{"key": "a", "value": [1]}]}`, "attrs[0].value", 0, "attrs[0].value: want a string, number or boolean, got an array"},
		{`{"attrs": [{"key": "a", "value": {"x": 1}}]}`, "attrs[0].value", 0, "attrs[0].value: want a string, number or boolean, got an object"},
		{`{"attrs": [{"key": "a", "value": 1e999}]}`, "attrs[0].value", 0, "attrs[0].value: number 1e999 is out of the range of float64"},
		{`{"attrs": [{"key": "a", "value": 12345678901234567890}]}`, "attrs[0].value", 0, "attrs[0].value: integer 12345678901234567890 is out of the range of int64"},
		{`{"attrs": [{"key": "a", "op": ""}]}`, "attrs[0].op", 0, `attrs[0].op: empty; leave the field out for "="`},
		{`{"attrs": [{"key": "a", "op": 5}]}`, "attrs[0].op", 0, "attrs[0].op: want a string, got a number"},
		{`{"attrs": [{"key": "a", "scope": ""}]}`, "attrs[0].scope", 0, `attrs[0].scope: empty; leave the field out for "any"`},
		{`{"child": 5}`, "child", 0, "child: want a query: an object or a text query string, got a number"},
		{`true`, "", 0, "want a query: an object or a text query string, got a boolean"},
		{`[]`, "", 0, "want a query: an object or a text query string, got an array"},
		{deep, deepField, 0, deepField + ": sub-queries nested more than 16 deep"},
		// The text form inside JSON: its column, under the JSON field.
		{`"{ name = }"`, "", 10, `column 10: name takes a "string", got "}"`},
		{`{"child": "{ name = }"}`, "child", 10, `child: column 10: name takes a "string", got "}"`},
		{`{"parent": {"child": "{ name =~ \"(\" }"}}`, "parent.child.name_regex", 11, "parent.child.name_regex: column 11: error parsing regexp: missing closing ): `(`"},
		// Build.
		{`{"attrs": [{"key": "a", "op": "~", "value": 1}]}`, "attrs[0].op", 0, `attrs[0].op: unknown operator "~"; want one of ` + opList},
		{`{"attrs": [{"key": "a", "value": 1}, {"key": "b", "op": "like", "value": 1}]}`, "attrs[1].op", 0, `attrs[1].op: unknown operator "like"; want one of ` + opList},
		{`{"attrs": [{"key": "a", "op": "exists", "value": 1}]}`, "attrs[0].value", 0, "attrs[0].value: op exists takes no value, got number 1"},
		{`{"attrs": [{"key": "a", "op": "!exists", "value": "x"}]}`, "attrs[0].value", 0, `attrs[0].value: op !exists takes no value, got string "x"`},
		{`{"attrs": [{"key": "a"}]}`, "attrs[0].value", 0, "attrs[0].value: required for op ="},
		{`{"attrs": [{"key": "a", "op": "contains", "value": null}]}`, "attrs[0].value", 0, "attrs[0].value: required for op contains"},
		{`{"attrs": [{"key": "a", "op": "<", "value": "3"}]}`, "attrs[0].value", 0, `attrs[0].value: op < needs a number, got string "3"`},
		{`{"attrs": [{"key": "a", "op": "regex", "value": true}]}`, "attrs[0].value", 0, "attrs[0].value: op regex needs a regular expression as a string, got boolean true"},
		{`{"attrs": [{"key": "a", "op": "regex", "value": "a**"}]}`, "attrs[0].value", 0, "attrs[0].value: error parsing regexp: invalid nested repetition operator: `**`"},
		{`{"attrs": [{"key": "a", "scope": "spans", "value": 1}]}`, "attrs[0].scope", 0, `attrs[0].scope: unknown scope "spans"; want one of span event resource any`},
		{`{"kind": "Server"}`, "kind", 0, `kind: unknown kind "Server"; want one of ` + kindList},
		{`{"status": "OK"}`, "status", 0, `status: unknown status "OK"; want one of unset ok error`},
		{`{"descendant": {"trace_id": "7a"}}`, "descendant.trace_id", 0, "descendant.trace_id: want 32 hex digits, got 2 characters"},
		{`{"name_regex": "` + strings.Repeat(".", 1025) + `"}`, "name_regex", 0, "name_regex: regular expression of 1025 bytes; at most 1024"},
		{`{"attrs": [` + strings.TrimSuffix(strings.Repeat(`{"key": "a", "value": 1},`, 33), ",") + `]}`, "attrs", 0, "attrs: 33 attrs; at most 32"},
	} {
		var q remote.Query
		err := json.Unmarshal([]byte(c.in), &q)
		if err == nil {
			_, err = q.Build()
		}
		queryErr(t, clipped(c.in), err, c.field, c.col, c.msg)
	}
}

// TestQueryErrorThroughARequest: a server decoding a request that holds a
// query gets the *QueryError itself, with a field relative to the query.
func TestQueryErrorThroughARequest(t *testing.T) {
	t.Parallel()
	var req struct {
		Query remote.Query `json:"query"`
		Limit int          `json:"limit"`
	}
	err := json.Unmarshal([]byte(`{"limit": 5, "query": {"child": {"kind": 3}}}`), &req)
	queryErr(t, "request", err, "child.kind", 0, "child.kind: want a string, got a number")
	if err := json.Unmarshal([]byte(`{"limit": 5, "query": "{ name = \"publish\" }"}`), &req); err != nil || req.Query.Name != "publish" || req.Limit != 5 {
		t.Errorf("got %+v, %v", req, err)
	}
}

// TestBuildErrorsOfGoQueries: what only a Go program can build.
func TestBuildErrorsOfGoQueries(t *testing.T) {
	t.Parallel()
	loop := remote.Query{Name: "a"}
	loop.Child = &loop
	deepField := strings.TrimSuffix(strings.Repeat("child.", 17), ".")
	for _, c := range []struct {
		q     remote.Query
		field string
		msg   string
	}{
		{remote.Query{Attrs: []remote.Attr{{Key: "a", Value: math.NaN()}}}, "attrs[0].value", "attrs[0].value: NaN: JSON and the text form carry only finite numbers"},
		{remote.Query{Attrs: []remote.Attr{{Key: "a", Op: "<", Value: math.Inf(-1)}}}, "attrs[0].value", "attrs[0].value: -Inf: JSON and the text form carry only finite numbers"},
		{remote.Query{Attrs: []remote.Attr{{Key: "a", Value: uint64(math.MaxUint64)}}}, "attrs[0].value", "attrs[0].value: 18446744073709551615 is out of the range of int64"},
		{remote.Query{Attrs: []remote.Attr{{Key: "a", Value: struct{}{}}}}, "attrs[0].value", "attrs[0].value: want a string, number or boolean, got struct {}"},
		{remote.Query{Attrs: []remote.Attr{{Key: "a", Value: []string{"x"}}}}, "attrs[0].value", "attrs[0].value: want a string, number or boolean, got []string"},
		{remote.Query{Parent: &remote.Query{Attrs: []remote.Attr{{Value: 1}}}}, "parent.attrs[0].key", "parent.attrs[0].key: required"},
		{loop, deepField, deepField + ": sub-queries nested more than 16 deep"},
	} {
		_, err := c.q.Build()
		queryErr(t, c.q.String()[:min(60, len(c.q.String()))], err, c.field, 0, c.msg)
	}
	if _, err := json.Marshal(remote.Query{Attrs: []remote.Attr{{Key: "a", Value: math.NaN()}}}); err == nil ||
		!strings.Contains(err.Error(), `remote: attr "a": value: NaN: JSON and the text form carry only finite numbers`) {
		t.Errorf("Marshal of NaN: %v", err)
	}
}
