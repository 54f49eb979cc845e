// Package traceproof proves, from OpenTelemetry traces, that a multi-instance
// system did what a test expected. This package holds no code: it is the
// map of the module.
//
//   - [github.com/traceproof/traceproof/otlpsink] receives OTLP (gRPC and
//     HTTP) from every instance of the system under test, one call in a test.
//   - [github.com/traceproof/traceproof/spanstore] is the span model and
//     the indexed, bounded store the sink fills, with event-driven waiting.
//   - [github.com/traceproof/traceproof/assert] holds queries and the
//     assertions over any span source; [github.com/traceproof/traceproof/assert/domainevent]
//     knows the shapes of domain-event publishing.
//   - [github.com/traceproof/traceproof/remote] serves and reads the same
//     proof over HTTP, for suites in other languages and sinks elsewhere;
//     [github.com/traceproof/traceproof/jaeger] reads it from a Jaeger.
//   - [github.com/traceproof/traceproof/fault] injects faults into exporters
//     and keeps the ledger that proves what was delivered.
//   - [github.com/traceproof/traceproof/spantext] renders spans as text.
//
// The end-to-end suite and its reference system are a module of their own
// (e2e/), so that their dependencies never reach a module importing the
// library.
package traceproof
