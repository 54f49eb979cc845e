// Package assert proves from OpenTelemetry traces that a multi-instance
// system did what a test expected.
//
// Worker instances export spans over OTLP to an otlpsink.Sink the test owns.
// A Query describes spans; an assertion waits for the spans it describes,
// wakes the moment they arrive (never by polling), and when it fails says
// what was asked, what was found, which spans nearly matched and why not,
// and shows the task's spans as a tree with the instance of each.
//
// # Queries
//
// Queries are immutable builders that read like the sentence a tester would
// say:
//
//	assert.Spans().Named("publish_event").Attr("event_name", "payment.processed").Correlated(id)
//	// spans named "publish_event" with event_name = "payment.processed" in the trace of correlation "abc"
//
// They select by name (Named, NamePrefix, NameMatches), Kind, Status,
// attributes (Attr looks in span, span-event and resource attributes; AttrIn
// in one [AttrScope]) with a plain value, compared typed (3 equals 3.0, never
// "3"), or a Matcher (Exists, Contains, Matches, GreaterThan, AtLeast,
// LessThan, AtMost), span events (HasEvent), Service and Instance, the
// correlation value (Correlated), and structure within a trace (HasChild,
// HasDescendant, ChildOf, DescendantOf). Where takes any predicate, with
// words for messages.
//
// Correlated is how parallel tests share one sink: the store attaches a
// correlation value found on any span of a trace to the whole trace, so a
// query correlated with a test's task ID sees that task's spans and no one
// else's, through the store's index.
//
// # Assertions
//
// In a test, bind assertions to t and the sink:
//
//	tp := assert.On(t, sink)
//	tp.Eventually(q, 1)                     // at least one; returns them
//	tp.Exactly(q, 2)                        // two, and no third within the settle window
//	tp.Never(q, time.Second)                // none within a second
//	tp.OncePer(steps, "step_name")          // each step once across all instances
//	tp.InOrder(validated, paid, shipped)    // by start time, across instances
//	tp.ChildOf(publish, route)              // every publish is a child of a route
//	tp.Require().Eventually(q, 1)           // t.FailNow on failure
//
// Assertions report with t.Errorf and let the test go on; those of
// Require() stop it. Code that is not a test uses Check(sink), whose methods
// take a context and return a *Failure, whose Error() is the same report. On
// takes any [TB] (the part of testing.TB it uses), so other runners can
// stand behind it.
//
// # Sources
//
// Assertions read spans from a [Source]: an [otlpsink.Sink] or a
// [spanstore.Store] in process, a traceproof serve over HTTP
// ([github.com/traceproof/traceproof/remote]), or a Jaeger
// ([github.com/traceproof/traceproof/jaeger]). The interface is four methods
// (spans for a filter, a change notification, stats, correlation keys), so
// the same engine, and the same reports, run against all of them.
//
// # Domain events
//
// Package [github.com/traceproof/traceproof/assert/domainevent] knows the
// span shapes of domain-event publishing and proves a task published its
// events with one call, on these assertions.
//
// # Verdicts are judged once
//
// Exactly, OncePer and every [Rule] (domain-event publishing is one) wait,
// woken by arrivals, until what was asked for is complete or the timeout
// passes, then keep watching for the settle window, so that an extra or a
// duplicate still in flight is seen, and then judge once, from one snapshot
// of the spans: the snapshot the report prints. A verdict therefore never
// contradicts its own tree, and the same spans give the same text every run.
//
// The settle window ([DefaultSettle], 300ms, [WithSettle]) is paid by every
// passing Exactly, OncePer and Published. Tests that wait on spans from
// other processes are waiting, not computing: run them with t.Parallel() and
// a -parallel above go test's default (GOMAXPROCS), so that the windows
// overlap instead of adding up. The e2e suite sets -parallel 64 for itself.
//
// # Absence is proven over something
//
// Never, Exactly(q, 0) and a rule that expects nothing prove an absence. An
// absence over a correlation that had no span at all by the end of its
// window is no proof: a typo in the ID, a correlation that is not propagated
// and a worker that exports nothing all look like that. Such a check fails,
// saying so and listing the correlations that did arrive (with a "did you
// mean" when one is close). Without a correlation, it fails when the source
// received no span from anyone. [WithAllowEmpty] opts out for a test that
// really means "nothing at all". The other checks wait for at least one span
// and cannot pass on none.
//
// # Delivery under faults
//
// A sink with fault rules (otlpsink.WithFaults, serve --fault) refuses,
// delays or drops chosen export requests, and its ledger
// (otlpsink.Sink.Ledger) records every attempt and the answer it got.
// [Checker.Delivered] proves from the ledger that nothing was lost: every
// span refused was accepted later, or its refusal was permanent and is
// listed; duplicates (a retry of a request that was in fact stored) are
// reported, and fail with [NoDuplicates]. [Checker.RetriesHonoured] proves no
// retry came sooner than Retry-After or RetryInfo asked, and none after a
// permanent refusal or a partial success. Both wait on the ledger, never
// pass on an empty one, and name the sender, the attempts and their times
// (docs/faults.md has what real exporters did).
//
// # Failures
//
// A failing assertion prints a report like this one:
//
//	expected at least 1 span named "publish_event" with event_name = "payment.processed" in the trace of correlation "order-42" within 10s
//	found 0 after 10s
//	near misses (spans that met every condition but one):
//	  publish_event [worker-rust-1] span bddd36685d11686c started 09:45:56.240: misses [with event_name = "payment.processed"]; saw event_name = "payment.failed"
//	spans of correlation "order-42" (5 spans in 2 traces):
//	  trace a928835bb914e25150f33f8e0b391e5a (2 spans; worker-rust-2) last arrival 10.002s ago
//	  └─ route_event [worker-rust-2] 2.55ms  delivery_mode=Fast event_name=order.validated namespace=domain_events_rust
//	     · Routing domain event  delivery_mode=Fast event_name=order.validated task_uuid=task-order-42 correlation_id=order-42
//	     └─ publish [worker-rust-2] 1.7µs  event_name=order.validated event_id=ev-order.validated namespace=domain_events_rust
//	  trace d3392eae7e666a90512f658021a2497d (3 spans; worker-rust-1) last arrival 10.001s ago
//	  └─ route_event [worker-rust-1] 786.4µs  delivery_mode=Durable event_name=payment.failed namespace=domain_events_rust
//	     └─ publish_event [worker-rust-1] 593.6µs  event_name=payment.failed namespace=domain_events_rust correlation_id=order-42
//	        · Domain event published successfully
//	        └─ send_json_message [worker-rust-1] 611ns  queue=domain_events_rust_domain_events
//	instances (by last span received):
//	  worker-rust-2  tasker-core       4 spans  last seen 10.2s ago  <- quiet: nothing for 10.2s, longer than its usual gap (150ms), while others sent spans
//	  worker-rust-1  tasker-core       3 spans  last seen 1ms ago
//	sink: 7 spans stored, 7 accepted in 7 requests
//
// Near misses are grouped by the condition they missed, with counts and a
// few examples, and come from the asked correlation when it has spans. An
// instance is flagged quiet only when it has been silent for longer than its
// own export cadence, and at least two seconds. The report warns when the
// sink evicted spans, or requests failed to decode, were refused or went to
// a path the sink does not serve, since a missing span may simply have been
// lost; when the sink received nothing at all, it says so first, with the
// exporter settings a worker needs.
//
// # Environment
//
// TRACEPROOF_TIMEOUT_SCALE multiplies every wait (timeouts, settle windows,
// the windows of Never and NotPublished): set it on slow CI machines.
// TRACEPROOF_DUMP_DIR makes a failing assertion write the spans of its
// report there as OTLP/JSON (for `traceproof dump` and spanstore.LoadFile) and
// as a text tree, named after the test, and name the files in its message.
package assert
