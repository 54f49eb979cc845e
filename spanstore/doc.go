// Package spanstore holds received spans: the span model ([Span], [Value],
// [TraceID], ...), and [Store], a bounded store indexed by trace, name and
// correlation value, with event-driven waiting ([Store.Wait],
// [Store.Changed]), [Stats], and OTLP/JSON dumps.
//
// # Ingest
//
// [Store.IngestProto] stores an OTLP/protobuf trace request as it arrived on
// the wire, decoding it straight into the store's compact records (the sink
// in package otlpsink does this for every protobuf request); [Store.Ingest]
// stores pdata traces, which is how OTLP/JSON requests and dumps arrive.
// pdata's decoder is the reference: IngestProto stores exactly what Ingest of
// pdata's decoding would, and accepts exactly the requests pdata accepts, a
// differential fuzz test holds it to that. Where the two differ in cost is
// everything else: IngestProto builds no pdata tree and copies each string
// once, into the store.
//
// Hostile input is bounded: a request is only read, never retained, and costs
// time and memory in proportion to its size (the receiver caps that size);
// attribute values nested deeper than pdata's limit (100 messages in a chain
// of KeyValue, AnyValue, ArrayValue and KeyValueList) do not decode; strings
// are kept byte for byte, invalid UTF-8 included, as pdata keeps them.
//
// # Memory
//
// Records hold no pointers and their payload lives in slabs that eviction
// frees and ingest reuses, so a full store of a million spans (the default
// cap, [WithMaxSpans]) is a few large objects the garbage collector does not
// scan, about 800 bytes a span of the kind real workers send.
package spanstore
