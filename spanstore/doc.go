// Package spanstore is traceproof's span model and the store that holds
// received spans: compact, bounded, indexed by trace, name and correlation
// value, with event-driven waiting, dumps and loading.
//
// A [Span] is a plain value with everything OTLP carried plus what only the
// receiver knows ([Origin], arrival time, arrival order); a [Value] is a
// typed attribute value (OTLP's AnyValue). Spans are built on demand from the
// store's pointer-free records, so changing one changes nothing stored.
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
// Records hold no pointers; their payload lives in slabs released as the
// oldest spans are evicted past the cap ([WithMaxSpans], default
// [DefaultMaxSpans]). Evictions and spans rejected for invalid IDs are
// counted in [Stats], so nothing disappears silently.
//
// # Dumps
//
// [WriteOTLPJSON] writes spans as OTLP/JSON lines (the Collector's file
// exporter format) and [Store.LoadOTLPJSON] / [LoadFile] read such files
// back; zero times stay zero. What a dump does not carry: dropped attribute,
// event and link counts, link flags and the scope's schema URL, which the
// store does not keep.
package spanstore
