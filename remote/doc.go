// Package remote is the remote API of `traceproof serve` (DESIGN.md,
// "Remote API"): the queries a client sends over HTTP and how they become
// the assert.Query the server evaluates, so a remote query means exactly
// what the same query means in Go; the [Handler] that serves the API; and
// [Source], which makes a serve elsewhere an assert.Source.
//
// # The API
//
// [Handler] serves, under /api/v1/ on serve's HTTP port (docs/remote.md has
// every field):
//
//	POST /api/v1/spans    {"query", "limit", "after"} → {"spans", "total"}
//	POST /api/v1/wait     {"query", "count", "timeout", "limit"} → {"ok", "found", "spans", "report"}
//	POST /api/v1/check    {"check": "eventually|exactly|never|once_per|in_order|published|includes|not_published", ...} → {"ok", "report"}
//	POST /api/v1/changes  {"correlation"|"trace_id"|"name", "timeout"} → {"watching":true}\n then {"changed":…}\n
//	GET  /api/v1/stream?q=TEXT[&replay=true][&token=T] → Server-Sent Events, one span each
//	GET  /api/v1/stats    → the sink's stats and its correlation keys
//	POST /api/v1/reset    → 204, the store emptied
//
// wait and check run assert's own checks on the server, woken by the store
// on ingest, and answer with the report a Go test prints. Durations are
// taken as given (the server's TRACEPROOF_TIMEOUT_SCALE does not stretch
// them; clients scale their own), at most [MaxTimeout]. A bad request gets
// 400 {"error", "field", "column"}, with field a JSON path into the request
// ("query.attrs[0].op") and column 1-based in the text query.
//
// # Go tests against a serve elsewhere
//
// [Dial] (or [Connect] in a test) returns a [Source]: assert.On, assert.Check
// and the domain-event checks run on it unchanged, their waits woken over the
// network through /changes, failed requests shown in the reports.
//
// # Queries
//
// A [Query] describes spans; every condition given must hold, and the
// empty query selects every span. It comes in two forms that decode to the
// same Query: a JSON object, and a text form in the manner of Grafana's
// TraceQL. Wherever a query may stand, in a request or as a sub-query, a
// JSON string holding the text form will do. [Query.UnmarshalJSON] reads
// both, [ParseQuery] reads the text, [Query.String] writes it, and
// [Query.Build] checks a Query and turns it into an assert.Query.
//
// # The JSON form
//
//	{"name": "publish_event", "correlation": "order-A1",
//	 "attrs": [{"key": "event_name", "op": "=", "value": "payment.processed", "scope": "span"}],
//	 "parent": {"name": "route_event"}}
//
// The fields are those of [Query]: name, name_prefix, name_regex, kind
// (internal server client producer consumer unspecified), status (unset ok
// error), correlation, service, instance, trace_id (32 hex digits), attrs,
// event (a span event's name), and the sub-queries child, descendant,
// parent and ancestor. An attr is {"key", "op", "value", "scope"}: op one
// of = != exists !exists contains regex !regex < <= > >= (default =), value
// a JSON string, number or boolean, scope span, event, resource or any
// (default), as [Attr] explains. A JSON integer is an int64 and any other
// number a float64; numbers compare by value (3 = 3.0), never with strings
// ("3" is not 3).
//
// Decoding is strict, since a condition lost on the way widens a query
// unnoticed: an unknown field, a field given twice, a value of the wrong
// type, and "" (rather than leaving the field out) are errors.
//
// # The text form
//
// A query is one or more spansets, { conditions joined by && }, related by
// structural operators:
//
//	{ name = "publish_event" && span.event_name = "payment.processed" }
//	{ name = "route_event" && correlation = "order-A1" } > { name = "publish" }
//	{ name = "route_event" && span.delivery_mode = "Durable" } >> { name = "send_json_message" }
//	{ name = "publish" && span.correlation_id = nil && event.task_uuid != nil }
//
// Intrinsics are the JSON fields: name, name_prefix, kind, status,
// correlation, service, instance, trace_id and event take = and a value;
// name =~ "regex" is name_regex. Kind and status values may be bare words
// (kind = server, status = error). Attributes are span.key, event.key (the
// span's events), resource.key and .key (any of the three); a key holding
// other characters than letters, digits and _ . - / : @ is quoted:
// span."http route". Their operators are = != =~ (regex) !~ (not regex)
// < <= > >= and contains; `!= nil` means the attribute is set (exists),
// `= nil` that it is not (!exists). Values are "double-quoted strings" with
// Go's escapes (valid UTF-8), integers (3, -3), floats (2.5, 1e-3, 3.0,
// which stays a float), true and false.
//
// Structure follows TraceQL: the result of a structural operator is spans
// of its RIGHT side.
//
//	{A} > {B}    spans matching B whose parent matches A   (B with parent = A)
//	{A} >> {B}   spans matching B with an ancestor matching A
//	{A} < {B}    spans matching B with a direct child matching A
//	{A} << {B}   spans matching B with a descendant matching A
//
// Operators associate to the left, so {A} > {B} > {C} is the Cs whose
// parent is a B whose parent is an A; parentheses group. Inside braces,
// child = {…}, descendant = {…}, parent = {…} and ancestor = {…} relate the
// span the same way, and a pipeline there goes in parentheses:
//
//	{ name = "route_event" && child = ({ status = error } > { name = "send_json_message" }) }
//
// Not supported, each with an error saying so: || (a query's conditions
// all hold; run one query per alternative), && between spansets, pipelines
// and aggregates (| count()), the sibling operator ~, negated structural
// operators, durations, and intrinsics beyond those above.
//
// [Query.String] writes the canonical text form: fields in the order of
// [Query], a Parent or Ancestor as a pipeline, floats with a fraction.
// ParseQuery reads it back as the same Query.
//
// # Errors
//
// Every bad query, in either form, gives a *[QueryError] naming the field
// as a JSON path ("attrs[1].op", "child.kind") and, for the text form, the
// column (1-based, in runes from the start of the text) of the token at
// fault, saying what was expected:
//
//	attrs[1].op: unknown operator "~"; want one of = != exists !exists contains regex !regex < <= > >=
//	column 14: || is not supported: all conditions of a query must hold; join them with &&
//	parent.kind: column 10: unknown kind "bogus"; want one of internal server client producer consumer unspecified
//
// A text query inside JSON reports its column within that string and its
// fields under the JSON field that held it: "child.name_regex: column 11:
// ...".
//
// # Limits
//
// A query from the network costs bounded work: at most 16 levels of
// sub-queries, 64 query objects in all, 32 attrs in each, 1 KiB per
// regular expression, and 64 KiB of text. Structural conditions are
// evaluated by assert, which tries the related spans of each candidate;
// deeply nested descendant conditions over large traces cost accordingly.
package remote
