package remote_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/traceproof/traceproof/remote"
)

// queryCase is one query in both forms, the spans it selects from the
// fixture, and a near variant, in both forms too, that selects none.
type queryCase struct {
	name           string
	text, json     string
	want           []string
	missText, miss string // miss is the JSON form of missText
}

func queryCases(f *fixture) []queryCase {
	paidTrace, otherTrace := f.traces["A1.paid"], "5eed0000000000000000000000000fff"
	return []queryCase{
		{"name", `{ name = "publish_event" }`, `{"name": "publish_event"}`,
			[]string{"A1.paid.publish_event", "B2.failed.publish_event", "B2.sent.publish_event"},
			`{ name = "publish_evnt" }`, `{"name": "publish_evnt"}`},
		{"name_prefix", `{ name_prefix = "publish" }`, `{"name_prefix": "publish"}`,
			[]string{"A1.paid.publish_event", "A1.validated.publish", "B2.failed.publish_event", "B2.sent.publish", "B2.sent.publish_event"},
			`{ name_prefix = "publisher" }`, `{"name_prefix": "publisher"}`},
		{"name_regex", `{ name =~ "^(send|create)_" }`, `{"name_regex": "^(send|create)_"}`,
			[]string{"A1.paid.send", "B2.failed.send", "B2.sent.send", "orch.create_task"},
			`{ name =~ "^send_$" }`, `{"name_regex": "^send_$"}`},
		{"name_regex spelled as its field", `{ name_regex = "^create_" }`, `{"name_regex": "^create_"}`,
			[]string{"orch.create_task"},
			`{ name_regex = "^create$" }`, `{"name_regex": "^create$"}`},
		{"kind", `{ kind = server }`, `{"kind": "server"}`,
			[]string{"B2.failed.route", "orch.create_task"},
			`{ kind = consumer }`, `{"kind": "consumer"}`},
		{"kind quoted", `{ kind = "client" && instance = "worker-rust-1" }`, `{"kind": "client", "instance": "worker-rust-1"}`,
			[]string{"A1.paid.send"},
			`{ kind = "client" && instance = "orch-1" }`, `{"kind": "client", "instance": "orch-1"}`},
		{"status error", `{ status = error }`, `{"status": "error"}`,
			[]string{"B2.failed.publish_event"},
			`{ status = error && instance = "worker-rust-1" }`, `{"status": "error", "instance": "worker-rust-1"}`},
		{"status ok", `{ status = ok }`, `{"status": "ok"}`,
			[]string{"A1.paid.publish_event", "B2.sent.publish_event"},
			`{ status = unset && name = "publish_event" }`, `{"status": "unset", "name": "publish_event"}`},
		{"correlation reaches the whole trace", `{ correlation = "order-A1" }`, `{"correlation": "order-A1"}`,
			[]string{"A1.paid.publish_event", "A1.paid.route", "A1.paid.send", "A1.validated.publish", "A1.validated.route"},
			`{ correlation = "order-A9" }`, `{"correlation": "order-A9"}`},
		{"correlation through the parent only", `{ name = "publish" && correlation = "order-A1" }`, `{"name": "publish", "correlation": "order-A1"}`,
			[]string{"A1.validated.publish"},
			`{ name = "publish" && correlation = "order-A2" }`, `{"name": "publish", "correlation": "order-A2"}`},
		{"service", `{ service = "orchestration" }`, `{"service": "orchestration"}`,
			[]string{"orch.create_task"},
			`{ service = "orchestrator" }`, `{"service": "orchestrator"}`},
		{"instance", `{ instance = "worker-rust-2" && name = "send_json_message" }`, `{"instance": "worker-rust-2", "name": "send_json_message"}`,
			[]string{"B2.failed.send", "B2.sent.send"},
			`{ instance = "worker-rust-3" }`, `{"instance": "worker-rust-3"}`},
		{"trace_id", fmt.Sprintf(`{ trace_id = %q }`, paidTrace), fmt.Sprintf(`{"trace_id": %q}`, paidTrace),
			[]string{"A1.paid.publish_event", "A1.paid.route", "A1.paid.send"},
			fmt.Sprintf(`{ trace_id = %q }`, otherTrace), fmt.Sprintf(`{"trace_id": %q}`, otherTrace)},
		{"event", `{ event = "Domain event published successfully" }`, `{"event": "Domain event published successfully"}`,
			[]string{"A1.paid.publish_event", "B2.sent.publish_event"},
			`{ event = "Domain event published" }`, `{"event": "Domain event published"}`},

		{"= span attribute", `{ span.event_name = "payment.processed" }`,
			`{"attrs": [{"key": "event_name", "op": "=", "value": "payment.processed", "scope": "span"}]}`,
			[]string{"A1.paid.publish_event", "A1.paid.route"},
			`{ span.event_name = "payment.processd" }`, `{"attrs": [{"key": "event_name", "value": "payment.processd", "scope": "span"}]}`},
		{"= span-event attribute", `{ event.correlation_id = "order-A1" }`,
			`{"attrs": [{"key": "correlation_id", "value": "order-A1", "scope": "event"}]}`,
			[]string{"A1.paid.publish_event", "A1.paid.route", "A1.validated.route"},
			`{ span.correlation_id = "order-A1" && name = "route_event" }`,
			`{"name": "route_event", "attrs": [{"key": "correlation_id", "value": "order-A1", "scope": "span"}]}`},
		{"= resource attribute, typed", `{ resource.worker.slot = 2 }`,
			`{"attrs": [{"key": "worker.slot", "value": 2, "scope": "resource"}]}`,
			[]string{"B2.failed.publish_event", "B2.failed.route", "B2.failed.send", "B2.sent.publish", "B2.sent.publish_event", "B2.sent.route", "B2.sent.send"},
			`{ resource.worker.slot = "2" }`, `{"attrs": [{"key": "worker.slot", "value": "2", "scope": "resource"}]}`},
		{"= any scope", `{ .task_uuid = "task-A1" }`, `{"attrs": [{"key": "task_uuid", "value": "task-A1"}]}`,
			[]string{"A1.paid.publish_event", "A1.paid.route", "A1.validated.publish", "A1.validated.route"},
			`{ .task_uuid = "task-A2" }`, `{"attrs": [{"key": "task_uuid", "value": "task-A2", "scope": "any"}]}`},
		{"= int", `{ .attempt = 3 }`, `{"attrs": [{"key": "attempt", "value": 3}]}`,
			[]string{"B2.failed.publish_event"},
			`{ .attempt = "3" }`, `{"attrs": [{"key": "attempt", "value": "3"}]}`},
		{"= float equals an int", `{ .attempt = 2.0 }`, `{"attrs": [{"key": "attempt", "value": 2.0}]}`,
			[]string{"B2.sent.publish_event"},
			`{ .attempt = 2.5 }`, `{"attrs": [{"key": "attempt", "value": 2.5}]}`},
		{"= bool", `{ .retried = true }`, `{"attrs": [{"key": "retried", "value": true}]}`,
			[]string{"B2.failed.publish_event", "B2.sent.publish_event"},
			`{ .retried = "true" }`, `{"attrs": [{"key": "retried", "value": "true"}]}`},
		{"= quoted key", `{ span."task name" = "create task" }`, `{"attrs": [{"key": "task name", "value": "create task", "scope": "span"}]}`,
			[]string{"orch.create_task"},
			`{ span."task name" = "create-task" }`, `{"attrs": [{"key": "task name", "value": "create-task", "scope": "span"}]}`},
		{"!=", `{ span.delivery_mode != "Durable" }`, `{"attrs": [{"key": "delivery_mode", "op": "!=", "value": "Durable", "scope": "span"}]}`,
			[]string{"A1.validated.route", "B2.sent.route"},
			`{ span.namespace != "domain_events_rust" }`, `{"attrs": [{"key": "namespace", "op": "!=", "value": "domain_events_rust", "scope": "span"}]}`},
		{"exists (!= nil)", `{ span.correlation_id != nil }`, `{"attrs": [{"key": "correlation_id", "op": "exists", "scope": "span"}]}`,
			[]string{"A1.paid.publish_event", "B2.failed.publish_event", "B2.sent.publish_event"},
			`{ span.task_uuid != nil }`, `{"attrs": [{"key": "task_uuid", "op": "exists", "scope": "span"}]}`},
		{"!exists (= nil)", `{ .correlation_id = nil }`, `{"attrs": [{"key": "correlation_id", "op": "!exists"}]}`,
			[]string{"A1.paid.send", "A1.validated.publish", "B2.failed.send", "B2.sent.publish", "B2.sent.send", "orch.create_task"},
			`{ name = "route_event" && .correlation_id = nil }`, `{"name": "route_event", "attrs": [{"key": "correlation_id", "op": "!exists"}]}`},
		{"contains a substring", `{ span.queue contains "rust_domain" }`, `{"attrs": [{"key": "queue", "op": "contains", "value": "rust_domain", "scope": "span"}]}`,
			[]string{"A1.paid.send", "B2.failed.send", "B2.sent.send"},
			`{ span.queue contains "py_domain" }`, `{"attrs": [{"key": "queue", "op": "contains", "value": "py_domain", "scope": "span"}]}`},
		{"contains an element", `{ .tags contains "v1" }`, `{"attrs": [{"key": "tags", "op": "contains", "value": "v1"}]}`,
			[]string{"orch.create_task"},
			`{ .tags contains "v2" }`, `{"attrs": [{"key": "tags", "op": "contains", "value": "v2"}]}`},
		{"regex", `{ .event_name =~ "^payment\\." }`, `{"attrs": [{"key": "event_name", "op": "regex", "value": "^payment\\."}]}`,
			[]string{"A1.paid.publish_event", "A1.paid.route", "B2.failed.publish_event", "B2.failed.route"},
			`{ .event_name =~ "^payments\\." }`, `{"attrs": [{"key": "event_name", "op": "regex", "value": "^payments\\."}]}`},
		{"!regex", `{ span.event_name !~ "^payment\\." }`, `{"attrs": [{"key": "event_name", "op": "!regex", "value": "^payment\\.", "scope": "span"}]}`,
			[]string{"A1.validated.publish", "A1.validated.route", "B2.sent.publish", "B2.sent.publish_event", "B2.sent.route"},
			`{ span.event_name !~ "\\." }`, `{"attrs": [{"key": "event_name", "op": "!regex", "value": "\\.", "scope": "span"}]}`},
		{"<", `{ span.payload_bytes < 1024 }`, `{"attrs": [{"key": "payload_bytes", "op": "<", "value": 1024, "scope": "span"}]}`,
			[]string{"A1.paid.send"},
			`{ span.payload_bytes < 512 }`, `{"attrs": [{"key": "payload_bytes", "op": "<", "value": 512, "scope": "span"}]}`},
		{"<=", `{ span.payload_bytes <= 1024 }`, `{"attrs": [{"key": "payload_bytes", "op": "<=", "value": 1024, "scope": "span"}]}`,
			[]string{"A1.paid.send", "B2.sent.send"},
			`{ span.payload_bytes <= 511 }`, `{"attrs": [{"key": "payload_bytes", "op": "<=", "value": 511, "scope": "span"}]}`},
		{">", `{ span.payload_bytes > 1024 }`, `{"attrs": [{"key": "payload_bytes", "op": ">", "value": 1024, "scope": "span"}]}`,
			[]string{"B2.failed.send"},
			`{ span.payload_bytes > 2048 }`, `{"attrs": [{"key": "payload_bytes", "op": ">", "value": 2048, "scope": "span"}]}`},
		{">=", `{ span.payload_bytes >= 1024 }`, `{"attrs": [{"key": "payload_bytes", "op": ">=", "value": 1024, "scope": "span"}]}`,
			[]string{"B2.failed.send", "B2.sent.send"},
			`{ span.payload_bytes >= 2049 }`, `{"attrs": [{"key": "payload_bytes", "op": ">=", "value": 2049, "scope": "span"}]}`},
		{"> float", `{ span.sample_rate > 0.2 }`, `{"attrs": [{"key": "sample_rate", "op": ">", "value": 0.2, "scope": "span"}]}`,
			[]string{"A1.paid.route"},
			`{ span.sample_rate > 0.25 }`, `{"attrs": [{"key": "sample_rate", "op": ">", "value": 0.25, "scope": "span"}]}`},
		{"> int against a float, exponent", `{ .http.status_code >= 2e2 }`, `{"attrs": [{"key": "http.status_code", "op": ">=", "value": 2e2}]}`,
			[]string{"orch.create_task"},
			`{ .event_name >= 0 }`, `{"attrs": [{"key": "event_name", "op": ">=", "value": 0}]}`}, // a string is not a number

		{"child", `{ name = "route_event" && child = { name = "publish" } }`, `{"name": "route_event", "child": {"name": "publish"}}`,
			[]string{"A1.validated.route", "B2.sent.route"},
			`{ name = "route_event" && child = { name = "send_json_message" } }`, `{"name": "route_event", "child": {"name": "send_json_message"}}`},
		{"descendant", `{ name = "route_event" && descendant = { name = "send_json_message" } }`, `{"name": "route_event", "descendant": {"name": "send_json_message"}}`,
			[]string{"A1.paid.route", "B2.failed.route", "B2.sent.route"},
			`{ descendant = { name = "create_task" } }`, `{"descendant": {"name": "create_task"}}`},
		{"parent (>)", `{ name = "route_event" && correlation = "order-A1" } > { name = "publish" }`,
			`{"name": "publish", "parent": {"name": "route_event", "correlation": "order-A1"}}`,
			[]string{"A1.validated.publish"},
			`{ name = "publish_event" } > { name = "publish" }`, `{"name": "publish", "parent": {"name": "publish_event"}}`},
		{"parent in braces", `{ name = "send_json_message" && parent = { status = error } }`,
			`{"name": "send_json_message", "parent": {"status": "error"}}`,
			[]string{"B2.failed.send"},
			`{ name = "send_json_message" && parent = { status = unset } }`, `{"name": "send_json_message", "parent": {"status": "unset"}}`},
		{"ancestor (>>)", `{ name = "route_event" && span.delivery_mode = "Durable" } >> { name = "send_json_message" }`,
			`{"name": "send_json_message", "ancestor": {"name": "route_event", "attrs": [{"key": "delivery_mode", "value": "Durable", "scope": "span"}]}}`,
			[]string{"A1.paid.send", "B2.failed.send"},
			`{ name = "publish" } >> { name = "send_json_message" }`, `{"name": "send_json_message", "ancestor": {"name": "publish"}}`},
		{"ancestor in braces", `{ ancestor = { span.delivery_mode = "Fast" } }`,
			`{"ancestor": {"attrs": [{"key": "delivery_mode", "value": "Fast", "scope": "span"}]}}`,
			[]string{"A1.validated.publish"},
			`{ ancestor = { kind = client } }`, `{"ancestor": {"kind": "client"}}`},
		{"parent of (<)", `{ name = "send_json_message" } < { name = "publish_event" }`,
			`{"name": "publish_event", "child": {"name": "send_json_message"}}`,
			[]string{"A1.paid.publish_event", "B2.failed.publish_event", "B2.sent.publish_event"},
			`{ name = "publish" } < { name = "publish_event" }`, `{"name": "publish_event", "child": {"name": "publish"}}`},
		{"ancestor of (<<)", `{ name = "send_json_message" && span.payload_bytes > 1024 } << { name = "route_event" }`,
			`{"name": "route_event", "descendant": {"name": "send_json_message", "attrs": [{"key": "payload_bytes", "op": ">", "value": 1024, "scope": "span"}]}}`,
			[]string{"B2.failed.route"},
			`{ name = "send_json_message" && span.payload_bytes > 4096 } << { name = "route_event" }`,
			`{"name": "route_event", "descendant": {"name": "send_json_message", "attrs": [{"key": "payload_bytes", "op": ">", "value": 4096, "scope": "span"}]}}`},
		{"a chain", `{ name = "route_event" } > { name = "publish_event" } > { name = "send_json_message" && instance = "worker-rust-1" }`,
			`{"name": "send_json_message", "instance": "worker-rust-1", "parent": {"name": "publish_event", "parent": {"name": "route_event"}}}`,
			[]string{"A1.paid.send"},
			`{ name = "route_event" } > { name = "publish_event" } > { name = "send_json_message" && instance = "worker-rust-3" }`,
			`{"name": "send_json_message", "instance": "worker-rust-3", "parent": {"name": "publish_event", "parent": {"name": "route_event"}}}`},
		{"a pipeline as a sub-query", `{ name = "route_event" && child = ({ span.delivery_mode = "Broadcast" } > { name = "publish" }) }`,
			`{"name": "route_event", "child": {"name": "publish", "parent": {"attrs": [{"key": "delivery_mode", "value": "Broadcast", "scope": "span"}]}}}`,
			[]string{"B2.sent.route"},
			`{ instance = "worker-rust-2" && child = ({ span.delivery_mode = "Fast" } > { name = "publish" }) }`,
			`{"instance": "worker-rust-2", "child": {"name": "publish", "parent": {"attrs": [{"key": "delivery_mode", "value": "Fast", "scope": "span"}]}}}`},
		{"text form inside JSON", `{ name = "route_event" && correlation = "order-A1" } > { name = "publish" }`,
			`{"name": "publish", "parent": "{ name = \"route_event\" && correlation = \"order-A1\" }"}`,
			[]string{"A1.validated.publish"},
			`{ name = "route_event" && correlation = "order-B2" } > { name = "publish" && instance = "worker-rust-1" }`,
			`"{ name = \"route_event\" && correlation = \"order-B2\" } > { name = \"publish\" && instance = \"worker-rust-1\" }"`},
		{"all together", `{ name = "route_event" && span.delivery_mode = "Durable" } > { name_prefix = "publish" && name =~ "_event$" && kind = producer && status = ok && correlation = "order-A1" && service = "tasker-core" && instance = "worker-rust-1" && span.attempt <= 1 && event.queue_name contains "rust" && event = "Publishing domain event" && child = { name = "send_json_message" } && descendant = { span.payload_bytes > 100 } }`,
			`{"name_prefix": "publish", "name_regex": "_event$", "kind": "producer", "status": "ok", "correlation": "order-A1", "service": "tasker-core", "instance": "worker-rust-1",
			  "attrs": [{"key": "attempt", "op": "<=", "value": 1, "scope": "span"}, {"key": "queue_name", "op": "contains", "value": "rust", "scope": "event"}],
			  "event": "Publishing domain event", "child": {"name": "send_json_message"}, "descendant": {"attrs": [{"key": "payload_bytes", "op": ">", "value": 100, "scope": "span"}]},
			  "parent": {"name": "route_event", "attrs": [{"key": "delivery_mode", "value": "Durable", "scope": "span"}]}}`,
			[]string{"A1.paid.publish_event"},
			`{ name = "route_event" && span.delivery_mode = "Durable" } > { name_prefix = "publish" && correlation = "order-A1" && descendant = { span.payload_bytes > 1000 } }`,
			`{"name_prefix": "publish", "correlation": "order-A1", "descendant": {"attrs": [{"key": "payload_bytes", "op": ">", "value": 1000, "scope": "span"}]}, "parent": {"name": "route_event", "attrs": [{"key": "delivery_mode", "value": "Durable", "scope": "span"}]}}`},
	}
}

// TestQueryForms checks each case's text and JSON forms decode to the same
// Query, print back as themselves, and select exactly the spans they should
// from the fixture, the near variant none.
func TestQueryForms(t *testing.T) {
	t.Parallel()
	f := newFixture()
	for _, c := range queryCases(f) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if len(c.want) == 0 || len(c.want) == len(f.all()) {
				t.Fatalf("a case must select some spans and leave some out; it selects %d of %d", len(c.want), len(f.all()))
			}
			check(t, f, c.text, c.json, c.want)
			check(t, f, c.missText, c.miss, nil)
		})
	}
}

// check decodes both forms, compares them, and runs the query.
func check(t *testing.T, f *fixture, text, js string, want []string) {
	t.Helper()
	fromText, err := remote.ParseQuery(text)
	if err != nil {
		t.Fatalf("ParseQuery(%s): %v", text, err)
	}
	var fromJSON remote.Query
	if err := json.Unmarshal([]byte(js), &fromJSON); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", js, err)
	}
	if !reflect.DeepEqual(fromText, fromJSON) {
		t.Fatalf("the forms differ:\ntext %s\n  -> %#v\njson %s\n  -> %#v", text, fromText, js, fromJSON)
	}
	s := fromText.String()
	again, err := remote.ParseQuery(s)
	if err != nil || !reflect.DeepEqual(again, fromText) {
		t.Errorf("ParseQuery(%s) = %#v, %v; want %#v", s, again, err, fromText)
	}
	if again.String() != s {
		t.Errorf("String() is not canonical: %s, then %s", s, again)
	}
	aq, err := fromJSON.Build()
	if err != nil {
		t.Fatalf("Build(%s): %v", js, err)
	}
	var got []string
	for _, s := range aq.Find(f.store) {
		got = append(got, f.label(s))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s\n(assert: %s)\n got %q\nwant %q", text, aq, got, want)
	}
}

// TestStringIsCanonical: String writes a query one way, whichever way it
// was written.
func TestStringIsCanonical(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{}`, `{}`},
		{`{ }`, `{}`},
		{"{name=\"a\"&&\n\tkind=\"client\"}", `{ name = "a" && kind = client }`},
		{`{ instance = "w" && name = "a" }`, `{ name = "a" && instance = "w" }`},
		{`{ name_regex = "^a" }`, `{ name =~ "^a" }`},
		{`{ .n >= 2e2 && .m < -0.5 && .o = 1E-7 && .p = 3.0 && .q = -0 }`, `{ .n >= 200.0 && .m < -0.5 && .o = 1e-07 && .p = 3.0 && .q = 0 }`},
		{`{ .s = "é\u00e9\x41\101" && ."a b" = "\x00" && .k-1/x:y@z = "" }`, `{ .s = "ééAA" && ."a b" = "\x00" && .k-1/x:y@z = "" }`},
		{`{ span.a = 1 && event.b = 2 && resource.c = 3 && .d = 4 }`, `{ span.a = 1 && event.b = 2 && resource.c = 3 && .d = 4 }`},
		{`{ .a contains "x" && .b != nil && .c = nil && .d =~ "x" && .e !~ "y" && .f != false }`, `{ .a contains "x" && .b != nil && .c = nil && .d =~ "x" && .e !~ "y" && .f != false }`},
		{`{ parent = { name = "a" } && name = "b" }`, `{ name = "a" } > { name = "b" }`},
		{`{ ancestor = { name = "a" } }`, `{ name = "a" } >> {}`},
		{`{ parent = { name = "a" } && ancestor = { name = "r" } }`, `{ name = "a" } > { ancestor = { name = "r" } }`},
		{`{ name = "c" } < { name = "p" }`, `{ name = "p" && child = { name = "c" } }`},
		{`{ name = "d" } << { name = "a" }`, `{ name = "a" && descendant = { name = "d" } }`},
		{`({ name = "a" } > { name = "b" }) > { name = "c" }`, `{ name = "a" } > { name = "b" } > { name = "c" }`},
		{`{ name = "a" } >> { name = "b" } > { name = "c" }`, `{ name = "a" } >> { name = "b" } > { name = "c" }`},
		{`{ child = ({ name = "a" } >> { name = "b" }) }`, `{ child = ({ name = "a" } >> { name = "b" }) }`},
		{`{ child = (({ name = "b" })) }`, `{ child = { name = "b" } }`},
	} {
		q, err := remote.ParseQuery(c.in)
		if err != nil {
			t.Errorf("ParseQuery(%s): %v", c.in, err)
			continue
		}
		if got := q.String(); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	// A query built by hand prints as written, even one Build rejects.
	bad := remote.Query{Kind: "Server", Attrs: []remote.Attr{{Key: "k", Op: "~", Value: 1}, {Key: "", Scope: "spam", Value: "x"}}}
	if got, want := bad.String(), `{ kind = "Server" && .k ~ 1 && spam."" = "x" }`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	loop := remote.Query{Name: "a"}
	loop.Child = &loop
	if got := loop.String(); !strings.HasPrefix(got, `{ name = "a" && child = { name = "a" && child = `) || !strings.Contains(got, "{ … }") {
		t.Errorf("a cyclic query prints as %s", got)
	}
}

func TestEmptyQuerySelectsEverySpan(t *testing.T) {
	t.Parallel()
	f := newFixture()
	check(t, f, `{}`, `{}`, f.all())
	check(t, f, `{}`, `null`, f.all())
	check(t, f, `{}`, `"{ }"`, f.all())
}

func TestValuesKeepTheirType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text, json string
		want       any
	}{
		{`"x"`, `"x"`, "x"},
		{`"a\"b\\c\n\t\u00e9"`, `"a\"b\\c\n\t\u00e9"`, "a\"b\\c\n\té"},
		{`"\xc3\xa9\303\251"`, `"\u00e9é"`, "éé"}, // escapes may spell UTF-8
		{`3`, `3`, int64(3)},
		{`-3`, `-3`, int64(-3)},
		{`3.0`, `3.0`, 3.0},
		{`-2.5e-3`, `-2.5e-3`, -2.5e-3},
		{`1E3`, `1E3`, 1000.0},
		{`9223372036854775807`, `9223372036854775807`, int64(9223372036854775807)},
		{`true`, `true`, true},
		{`false`, `false`, false},
	} {
		q, err := remote.ParseQuery(`{ .k = ` + c.text + ` }`)
		if err != nil {
			t.Fatalf("%s: %v", c.text, err)
		}
		var j remote.Query
		if err := json.Unmarshal([]byte(`{"attrs": [{"key": "k", "value": `+c.json+`}]}`), &j); err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		for form, got := range map[string]any{"text": q.Attrs[0].Value, "json": j.Attrs[0].Value} {
			if got != c.want {
				t.Errorf("%s form of %s: got %#v (%T), want %#v (%T)", form, c.text, got, got, c.want, c.want)
			}
		}
	}
}

// TestMarshalJSONRoundTrips: what a client sends is what the server reads,
// a float staying a float.
func TestMarshalJSONRoundTrips(t *testing.T) {
	t.Parallel()
	f := newFixture()
	for _, c := range queryCases(f) {
		q, err := remote.ParseQuery(c.text)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		var back remote.Query
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, q) {
			t.Errorf("%s\n-> %s\n-> %#v, %v", c.text, b, back, err)
		}
	}
	b, err := json.Marshal(remote.Query{Attrs: []remote.Attr{{Key: "r", Op: ">", Value: 1.0}, {Key: "n", Value: 7}, {Key: "e", Op: "exists"}}})
	if want := `{"attrs":[{"key":"r","op":"\u003e","value":1.0},{"key":"n","value":7},{"key":"e","op":"exists"}]}`; err != nil || string(b) != want {
		t.Errorf("got %s, %v\nwant %s", b, err, want)
	}
}

// TestGoValues: a Go program may use any integer or float type; Build
// and String take them as int64 and float64.
func TestGoValues(t *testing.T) {
	t.Parallel()
	f := newFixture()
	for _, v := range []any{2, int8(2), int16(2), int32(2), int64(2), uint(2), uint8(2), uint16(2), uint32(2), uint64(2), float32(2), 2.0} {
		q := remote.Query{Name: "publish_event", Attrs: []remote.Attr{{Key: "attempt", Value: v}}}
		aq, err := q.Build()
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if got := aq.Find(f.store); len(got) != 1 || f.label(got[0]) != "B2.sent.publish_event" {
			t.Errorf("%T: found %d spans", v, len(got))
		}
		if _, err := remote.ParseQuery(q.String()); err != nil {
			t.Errorf("%T: %s: %v", v, q, err)
		}
	}
}
