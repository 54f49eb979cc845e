// Package fault makes an OTLP sink misbehave on purpose, and checks what
// the exporters did about it: that they retried what the OpenTelemetry
// specification says to retry, waited as long as they were asked, stopped
// where they were told to, and lost nothing.
//
// It has three parts, all free of any receiver: rules ([Rule]) and an
// [Injector] decide which request gets which [Answer]; a [Ledger] records every
// attempt and what it was answered; and [Lost], [Duplicates] and [Retries]
// read the ledger.
//
//	in, err := fault.NewInjector(start, rules...)
//	if a, ok := in.Decide(req); ok { ... give a instead of the real answer ... }
//	ledger.Add(fault.Attempt{Request: req, Spans: refs, Fault: a, Answer: given})
//	if r := fault.Lost(ledger.Attempts()); !r.OK() { t.Error(r) }
//
// # Rules
//
// A rule is selectors, "->", and an answer with its options, separated by
// white space (the form of `traceproof serve --fault RULE`, repeatable):
//
//	grpc traces first=3 -> unavailable
//	http every=2 -> 503 retry-after=2s
//	sender=127.0.0.1:* prob=0.3 seed=7 -> resource-exhausted retry=1s
//	correlation=order-A1 -> partial rejected=2 message="quota"
//	window=0s..5s -> delay=200ms
//	instance=worker-rust-* window=10s.. -> hold max=20s
//	first=1 -> drop
//	-> invalid-argument
//
// Selectors (all optional; every one given must hold):
//
//	grpc, http            the transport
//	traces, metrics, logs the signal
//	window=FROM..UNTIL    arrived at FROM or later and before UNTIL, both Go
//	                      durations from the injector's start; either may be
//	                      left out (window=5s.., window=..5s)
//	sender=PATTERN        the peer address ("127.0.0.1:*", "[::1]:*")
//	instance=PATTERN      one of the request's service.instance.id values
//	correlation=PATTERN   one of the request's correlation values
//	first=N               the first N requests that pass the selectors above
//	every=K               the K-th, 2K-th, ... of them
//	prob=P seed=S         each of them with probability P in (0,1], drawn
//	                      from a generator seeded with S (default 0): the
//	                      same seed picks the same positions in every run
//
// In a PATTERN '*' matches any run of characters; nothing else is special.
// first, every and prob count the requests that reach the rule and pass its
// other selectors; they combine with AND ("first=4 every=2" is the 2nd and
// 4th). Rules are checked in order and the first that selects a request
// answers it; the rules after it do not see it, so their counters do not
// move.
//
// Answers, and the options each takes:
//
//	unavailable, cancelled, deadline-exceeded, aborted, out-of-range,
//	data-loss, resource-exhausted, invalid-argument, unauthenticated, ...
//	                      a gRPC status (any code but ok, by its canonical
//	                      name in lower case with '-'); retry=D adds a
//	                      google.rpc.RetryInfo with delay D (only on a code
//	                      exporters retry, and on resource-exhausted, which
//	                      it makes retryable)
//	400 ... 599           an HTTP status with a google.rpc.Status body in
//	                      the request's encoding; retry-after=D sends
//	                      "Retry-After: <seconds>", retry-after-date=D an
//	                      HTTP-date D after the request, rounded up to a
//	                      whole second (D in whole seconds; only on 429,
//	                      502, 503, 504)
//	partial rejected=N    a partial success: the sink stores all but the
//	                      request's last N items and says it rejected N;
//	                      rejected=0 is OTLP's warning form and needs a
//	                      message
//	delay=D               wait D, then the real answer; the client's giving
//	                      up does not cut the wait short, so the sink stores
//	                      what the client may retry: see [Duplicates]
//	hold                  keep the request until the client gives up (its
//	                      timeout) or max=D passes (default 30s), store
//	                      nothing, then answer DeadlineExceeded or 504
//	drop                  close the connection without an answer
//
// message=TEXT replaces the default message (which names the rule) of a
// gRPC or HTTP refusal, a hold or a partial success. A value with spaces is
// a Go string literal: message="over quota". An answer that exists on one
// transport only (a gRPC code, an HTTP status) restricts its rule to that
// transport: "first=3 -> unavailable" counts and answers gRPC requests.
//
// [ParseRule] rejects, naming the rule and the offending word, unknown
// words and malformed values, and what cannot be: a transport or signal
// given twice, an HTTP status on a grpc rule ("fault rule \"grpc -> 429\":
// HTTP status 429 on a gRPC-only rule") or a gRPC code on an http rule, a
// retry delay on an answer exporters do not retry, retry= on an HTTP answer
// or retry-after= on a gRPC one, prob outside (0,1], first=0, a seed
// without prob, an empty window, options on the wrong answer. [Rule.String]
// writes a rule back in canonical form, which reads as the same rule. In Go,
// a rule is a literal:
//
//	fault.Rule{Transport: fault.TransportGRPC, First: 3, Answer: fault.GRPC(codes.Unavailable).WithRetry(time.Second)}
//
// # What exporters retry
//
// The OTLP specification (opentelemetry-proto, docs/specification.md) says
// which answers a client retries; [Answer.Retryable] follows it:
//
//	answer                                       retried   waits
//	unavailable, cancelled, deadline-exceeded,   yes       RetryInfo's delay if
//	  aborted, out-of-range, data-loss                     given, else backoff
//	resource-exhausted retry=D                   yes       D
//	resource-exhausted                           no
//	invalid-argument and every other gRPC code   no
//	429, 502, 503, 504                           yes       Retry-After if given
//	any other HTTP status (400, 413, 500, ...)   no
//	partial rejected=N                           no (MUST NOT, even the rejected items)
//	delay=D                                      as the real answer; a client that
//	                                             timed out first retries (a duplicate)
//	hold                                         yes       backoff (the client's timeout)
//	drop                                         yes       backoff ("SHOULD retry")
//
// # The ledger and what it proves
//
// The receiver adds an [Attempt] for every request, refused or not: when,
// from which sender and instances, over which transport, which spans (trace
// and span ID) and how many items, which fault it got and what it was
// answered in the end. Refused data is not stored, but the ledger remembers
// it. From a ledger's attempts:
//
//   - [Lost]: every span an attempt did not store was stored by another;
//     spans whose last refusal was permanent (or a partial success's
//     rejection) are listed apart, as not expected to be retried.
//   - [Duplicates]: no span was stored twice (a retry of a request the sink
//     had in fact stored).
//   - [Retries]: no retry (a later attempt with any of the same spans) came
//     sooner than a RetryInfo or Retry-After asked, and none came after a
//     permanent refusal or a partial success.
//
// Each returns a report with OK and a String that names the senders, the
// spans and the attempts with their times relative to the first attempt
// ("+0s ... refused Unavailable [injected]", "+1.203s ... accepted"). None
// passes on nothing: Lost needs a refused span that was recovered,
// Duplicates a stored span, Retries an answer that constrains a retry.
//
// # Integration
//
// What a receiver calls, per request, after decoding it and before storing
// anything:
//
//  1. Build a [Request] (arrival time, transport, signal, peer address,
//     service.instance.id values, correlation values) and call
//     [Injector.Decide]. A nil *Injector never injects.
//  2. If it answered, call [Answer.Pause] with the request's context and one
//     that ends when the sink closes (a [Delay] or [Hold] waits here; on an
//     error the sink is closing: store nothing).
//  3. [KindDrop]: over HTTP, call [Answer.WriteHTTP] (it hijacks and closes
//     the connection); over gRPC, close the request's transport (the
//     connection of its peer), or return [Answer.GRPCError] where that is not
//     possible.
//  4. [KindGRPC], [KindHTTP], [KindHold]: store nothing; return
//     [Answer.GRPCError] from the gRPC handler, or call [Answer.WriteHTTP]
//     with the request's content type.
//  5. [KindPartial]: rejected, msg := a.PartialSuccess(items); store all but
//     the last rejected items and answer success with partial_success
//     (rejected_spans, rejected_data_points or rejected_log_records) and
//     error_message msg.
//  6. [KindDelay] (after the pause), or no fault: answer as usual.
//  7. [Ledger.Add] an [Attempt]: the Request, the spans in request order,
//     the item count, Fault (the injected answer, or the zero Answer),
//     Answer (what was answered in the end: the fault's refusal or partial
//     success, or the real answer: the zero Answer for success, [Partial]
//     for the sink's own partial success, [GRPC] or [HTTP] for its own
//     refusals) and Rejected (the spans a partial success did not store).
//     Record the refusals that happen before decoding too; they carry no
//     spans.
//
// [Rules] is a flag.Value for the CLI's repeatable --fault.
package fault
