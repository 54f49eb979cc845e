package remote_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

// A query in the text form, and the same query as JSON: both decode to
// one Query, which Build turns into the assert.Query a Go test would write.
func ExampleParseQuery() {
	q, err := remote.ParseQuery(`{ name = "route_event" && correlation = "order-A1" } > { name = "publish" }`)
	if err != nil {
		fmt.Println(err)
		return
	}
	js, _ := json.Marshal(q)
	fmt.Println(string(js))

	var fromJSON remote.Query
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fromJSON)

	aq, err := fromJSON.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aq)
	// Output:
	// {"name":"publish","parent":{"name":"route_event","correlation":"order-A1"}}
	// { name = "route_event" && correlation = "order-A1" } > { name = "publish" }
	// spans named "publish" whose parent is (a span named "route_event" in the trace of correlation "order-A1")
}

// Errors name the field and, in the text form, the column.
func ExampleQueryError() {
	_, err := remote.ParseQuery(`{ name = "publish_event" || name = "publish" }`)
	fmt.Println(err)

	var q remote.Query
	err = json.Unmarshal([]byte(`{"name": "publish_event", "attrs": [{"key": "event_name", "op": "~", "value": "payment"}]}`), &q)
	if err == nil {
		_, err = q.Build()
	}
	fmt.Println(err)

	err = json.Unmarshal([]byte(`{"child": "{ kind = sever }"}`), &q)
	if err == nil {
		_, err = q.Build()
	}
	if qe, ok := err.(*remote.QueryError); ok {
		fmt.Printf("field %s, column %d: %s\n", qe.Field, qe.Column, qe.Msg)
	}
	// Output:
	// column 26: || is not supported: all conditions of a query must hold; join them with &&
	// attrs[0].op: unknown operator "~"; want one of = != exists !exists contains regex !regex < <= > >=
	// field child.kind, column 10: unknown kind "sever"; want one of internal server client producer consumer unspecified
}

// Build's assert.Query runs against any span source: here a store holding
// two tasks' domain-event spans (fixture_test.go), of which the query picks
// the confirmed durable publish of order-A1.
func ExampleQuery_Build() {
	store := newFixture()
	q := remote.Query{
		Name:        "publish_event",
		Correlation: "order-A1",
		Event:       "Domain event published successfully",
		Attrs:       []remote.Attr{{Key: "event_name", Value: "payment.processed", Scope: "span"}},
	}
	aq, err := q.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range aq.Find(store.store) {
		fmt.Println(s.Name, s.Instance(), s.Attributes.Str("event_name"))
	}
	fmt.Println(q)
	// Output:
	// publish_event worker-rust-1 payment.processed
	// { name = "publish_event" && correlation = "order-A1" && span.event_name = "payment.processed" && event = "Domain event published successfully" }
}

// A Go test in another process than traceproof serve proves a task's
// domain events through the remote API, with the assertions it would run
// in process. (Here the serve is a sink in this process, its store fed
// directly; in a suite it is `traceproof serve` and Dial gets its URL.)
func ExampleDial() {
	st := spanstore.New()
	api := remote.NewHandler(st, nil)
	defer api.Close()
	sink, err := otlpsink.New(otlpsink.WithStore(st), otlpsink.WithHandler("/api/", api))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sink.Close()
	asserttest.ReferenceWorkflow(st, "order-A1") // what the workers exported

	src, err := remote.Dial(sink.HTTPURL(), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	proofs, err := domainevent.Check(assert.Check(src)).Published(context.Background(), "order-A1",
		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"),
		domainevent.Fast("inventory.updated"), domainevent.Fast("notification.sent"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range proofs {
		fmt.Println(p.Name, p.Mode, "on", p.Instance)
	}
	fmt.Println("request errors:", src.Err())
	// Output:
	// order.validated Fast on worker-rust-1
	// payment.processed Durable on worker-rust-2
	// inventory.updated Fast on worker-rust-1
	// notification.sent Fast on worker-rust-2
	// request errors: <nil>
}
