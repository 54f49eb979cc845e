// Package otlpsink is an in-process OpenTelemetry receiver for tests: it
// accepts OTLP traces (and metrics and logs, which it counts) over gRPC and
// HTTP from every instance of the system under test, and stores the spans in
// a [spanstore.Store] the test owns.
//
// One call starts it, on loopback with free ports, closed by t.Cleanup:
//
//	sink := otlpsink.Start(t)
//	cmd.Env = append(os.Environ(), sink.ExporterEnv(otlpsink.ProtocolGRPC, "worker-rust-1")...)
//	tp := assert.On(t, sink) // a Sink is an assert.Source as it is
//
// A worker in another process needs the OTEL_* variables [Sink.ExporterEnv]
// returns (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, OTEL_TRACES_EXPORTER and a
// short OTEL_BSP_SCHEDULE_DELAY); a Go SDK exporter in the test's process
// takes [Sink.GRPCAddr] (otlptracegrpc.WithEndpoint plus WithInsecure) or
// [Sink.TracesURL] (otlptracehttp.WithEndpointURL, which, unlike the
// environment variable, does not append /v1/traces itself).
//
// # What it counts
//
// [Sink.Stats] adds to the store's counts what the receiver turned away
// before a span could be stored, so that a failing assertion can tell a
// missing span from a lost one: bodies that do not decode (gRPC
// InvalidArgument, HTTP 400), unknown content types (415), other methods
// (405), oversized bodies, also after gzip inflation (ResourceExhausted,
// 413), a missing bearer token with [WithToken] (Unauthenticated, 401), and
// requests to paths it does not serve (404 with the fix, counted per path:
// an exporter given the base URL where it needs the full one posts to "/").
// Each refusal keeps its message; the sink keeps serving with everything it
// held.
//
// # Decoding
//
// OTLP/protobuf trace requests (gRPC, and HTTP with application/x-protobuf)
// decode straight into the store ([spanstore.Store.IngestProtoReceipt]): no
// pdata tree is built, and the ledger's record of the request comes from the
// store's receipt. pdata is the reference that decoder is proven against
// (differential fuzzing: same spans stored, same requests accepted and
// refused) and still decodes OTLP/JSON, metrics and logs, and the trace
// requests of a sink with [WithFaults] rules or [WithOnTraces] hooks, which
// need the decoded request before anything is stored.
//
// # Options
//
// [WithStore] gives the sink a store configured with its span cap,
// correlation keys or ingest hook ([spanstore.New]); [WithHandler] mounts
// other routes on the HTTP port, which is how traceproof serve adds its API
// and live view.
//
// [WithOnRefused] reports every refusal as it happens (traceproof serve
// prints a line for each); a gRPC method no signal is served on gets
// Unimplemented with the methods that are.
package otlpsink
