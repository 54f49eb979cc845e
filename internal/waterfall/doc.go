// Package waterfall draws spans as a waterfall in a browser: every trace of a
// task on one shared timeline, rows coloured by the instance that emitted
// them, span events as marks on the bars, errors in red, and a detail panel
// per span. It has two faces:
//
//   - [WritePage] writes one self-contained HTML file for a failing
//     assertion or a dump: the report on top, the spans it names
//     highlighted. It opens from disk, without network or build step.
//   - [LiveHandler] serves the live view of traceproof serve: correlations
//     newest first, a waterfall that grows as spans arrive (pushed over
//     Server-Sent Events), the senders and the requests the sink refused.
//
// Both use the span JSON of the remote API ([spanstore.AppendJSON]), and
// plain JavaScript and CSS embedded in the binary.
package waterfall
