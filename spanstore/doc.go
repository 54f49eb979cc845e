// Package spanstore is traceproof's span model and the store that holds
// received spans: compact, bounded, indexed by trace, name and correlation
// value, with event-driven waiting, dumps and loading.
//
// A [Span] is a plain value with everything OTLP carried plus what only the
// receiver knows ([Origin], arrival time, arrival order); a [Value] is a
// typed attribute value (OTLP's AnyValue). Spans are built on demand from the
// store's pointer-free records, so changing one changes nothing stored.
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
// # Correlation
//
// A span is correlated with a value when one of the store's correlation keys
// ([DefaultCorrelationKeys], or [WithCorrelationKeys]) holds it in the span's
// attributes, its events' attributes or its resource. The value then belongs
// to the span's whole trace: a child that carries the ID only through its
// parent is found too, whichever of the two arrives first, and stays found
// while any span of the trace is stored.
//
// # Waiting
//
// [Store.Wait], [Store.Watch] and [Store.Changed] wake on ingest, never by
// polling; an ingest costs the same however many spans are stored and wakes
// only the waiters whose filter it could satisfy.
//
// # Memory and loss
//
// Records hold no pointers and their payload lives in slabs that eviction
// frees and ingest reuses, as the oldest spans are evicted past the cap
// ([WithMaxSpans], default [DefaultMaxSpans]): a full store of a million
// spans is a few large objects the garbage collector does not scan, about
// 800 bytes a span of the kind real workers send. Evictions and spans
// rejected for invalid IDs are counted in [Stats], so nothing disappears
// silently.
//
// # Dumps
//
// [WriteOTLPJSON] writes spans as OTLP/JSON lines (the Collector's file
// exporter format) and [Store.LoadOTLPJSON] / [LoadFile] read such files
// back; zero times stay zero. What a dump does not carry: dropped attribute,
// event and link counts, link flags and the scope's schema URL, which the
// store does not keep.
package spanstore
