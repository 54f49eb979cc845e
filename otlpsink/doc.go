// Package otlpsink is an in-process OpenTelemetry receiver for tests: it
// accepts OTLP traces (and metrics and logs, which it counts) over gRPC and
// HTTP from every instance of the system under test, and keeps the spans in an
// indexed store the test owns.
//
// One call starts it, on loopback with free ports, closed by t.Cleanup:
//
//	sink := otlpsink.Start(t)
//	cmd.Env = append(os.Environ(), sink.ExporterEnv(otlpsink.ProtocolGRPC, "worker-rust-1")...)
//	spans, err := sink.Store().Wait(ctx, otlpsink.Filter{Correlation: correlationID, Name: "publish_event"}, 1)
//
// # Correlation
//
// A span is correlated with a value when one of the correlation keys
// (DefaultCorrelationKeys, or WithCorrelationKeys) holds it in the span's
// attributes, its events' attributes or its resource. The value then belongs
// to the span's whole trace: a child that carries the ID only through its
// parent is found too, whichever of the two arrives first.
//
// # Waiting
//
// Wait and Watch wake on ingest, never by polling; an ingest costs the same
// however many spans are stored and wakes only the waiters whose filter it
// could satisfy.
//
// # Memory
//
// The store keeps spans in a compact form (see record.go) and caps their
// number (WithMaxSpans); past the cap the oldest are evicted and counted in
// Stats, so nothing disappears silently.
//
// # Bad input
//
// Bodies that do not decode get gRPC InvalidArgument or HTTP 400; unknown
// content types 415; other methods 405; oversized bodies (also after gzip
// inflation) ResourceExhausted or 413; a missing bearer token (WithToken)
// Unauthenticated or 401; a path (or gRPC method) no signal is served on, 404
// (or Unimplemented) with the paths that are. Each is counted in Stats with
// its message, reported as it happens to WithOnRefused (traceproof serve
// prints a line for each), and the sink keeps serving with everything it
// held.
package otlpsink
