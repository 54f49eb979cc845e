// Package domainevent proves that a task published its domain events, from
// the spans its workers export, whichever instance ran each step.
//
// It knows the span shapes of domain-event publishing (DESIGN.md): a
// route_event root per event, with publish_event (durable, confirmed by its
// "Domain event published successfully" span event) and publish (fast)
// children. It runs on the assertions of package assert:
//
//	tp := assert.On(t, sink)
//	events := domainevent.On(tp)
//	events.Published(corr,
//		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"),
//		domainevent.Fast("inventory.updated"), domainevent.Fast("notification.sent"))
//	events.NotPublished(corr, "payment.failed", time.Second)
//
// [Assertions.Published] means exactly those events, each once, with the
// delivery mode route_event recorded; [Assertions.Includes] allows others.
// Code that is not a test uses [Check] on an [assert.Checker], whose methods
// return an *assert.Failure.
//
// # The verdict
//
// Published waits until every expected event is in (or its timeout), then
// watches for the settle window, and judges once, from the spans its report
// prints (see package assert, "Verdicts are judged once"). Each expected
// event gets one status:
//
//	✓ payment.processed (Durable): published on worker-rust-2 at 10:00:00.100
//	✗ payment.processed (Durable): arrived after the deadline: published on ..., received 120ms after the wait ended
//	✗ payment.processed (Durable): routed on worker-rust-2 at ..., but its publish_event recorded no "Domain event published successfully" (...)
//	✗ order.shipped (Fast): not routed (no route_event with event_name "order.shipped")
//
// and strict checks name events published twice (with the instances and
// times), routed with the wrong mode, or not expected at all, with a hint
// when an unexpected name is close to a missing one ("was it meant to be
// "order.shipped"?").
//
// NotPublished is an absence: like [assert.Checker.Never], it fails over a
// correlation that had no span at all, since that proves nothing.
//
// # Other systems
//
// [WithNames] renames the spans and attributes for a system whose names
// differ from DESIGN.md's ([DefaultNames]). The correlation ID is found
// through the source's correlation keys; the reference system's are
// [CorrelationKeys].
package domainevent
