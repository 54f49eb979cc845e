// Package jaeger runs traceproof's assertions against the spans a Jaeger
// holds, through its api_v3 HTTP query API, for a staging system whose
// traces already go to a tracing backend rather than to a sink the test
// owns.
//
// A [Source] is an assert.Source: wherever a test passes an otlpsink.Sink,
// it can pass a Source, and every assertion and domain-event helper runs
// unchanged, on the same engine:
//
//	src, err := jaeger.New(jaeger.Config{URL: "http://jaeger-query.staging:16686", Services: []string{"tasker-core"}})
//	...
//	defer src.Close()
//	tp := assert.On(t, src)
//	domainevent.On(tp).Published(corr, domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"))
//
// # How it reads Jaeger
//
// Each poll searches every configured service (GET /api/v3/traces with
// query.service_name and query.start_time_min/max in RFC 3339 with
// nanoseconds) over the whole window from Config.Since to now, widened by
// Config.ClockSkew, and loads every trace it finds, whole and raw (no
// adjustment by the query service), into an in-memory spanstore.Store the
// source owns, adding each span once. Traces asked for by ID (a query's
// InTrace) are fetched with GET /api/v3/traces/{trace_id}. The store's own
// index then correlates: a correlation value in any span, span-event or
// resource attribute of a trace correlates the whole trace, as in the
// sink, whatever Jaeger's search indexes. The source never relies on a
// server-side attribute search (v1.76.0's HTTP API has none).
//
// # Waiting on an eventually consistent store
//
// Jaeger has no push. The source polls with one goroutine, shared by every
// waiter, while any channel from Changed is open: the wait between polls
// starts at 50ms, doubles after each poll that found nothing new up to 1s,
// and drops back when one did. Close stops it.
//
// A span becomes searchable some time after Jaeger accepts it (batching,
// index refresh): Config.Settle. Together with the poll interval this is
// [Source.Delay], how long after reaching Jaeger a span may still be
// invisible to the source. Absence checks (Never, NotPublished, and the
// settle windows of Exactly and Published) can only be as strong as that:
// use windows longer than Delay. Assertions over a Source widen their settle
// window to [Source.Settle] by themselves, and an absence or a settled
// verdict over a Source whose polls failed ([Source.Err]) fails as not
// proven. The failure report names the delay on its sender line.
//
// # Complete answers, or an error
//
// A search returns at most Config.SearchDepth traces. One that returns that
// many is split into the halves of its time window, recursively, until
// every part returns fewer, so counting checks see every trace. When a
// window too narrow to split (a millisecond) still returns SearchDepth
// traces, or a request fails or an answer does not decode, the poll is
// counted as incomplete or failed in [Source.Health], and the message goes
// into Stats().LastErrors, which a failure report prints; [Source.Err]
// reports it for a test to fail on, since an absence check might otherwise
// pass on less than Jaeger held. Nothing turns an error into "0 spans".
//
// docs/staging.md covers pointing the e2e suite at a staging Jaeger, which
// attributes stay searchable, and the TraceQL each check corresponds to.
package jaeger
