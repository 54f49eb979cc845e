package fault

import (
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
)

// Kind is what an [Answer] does to a request.
type Kind uint8

const (
	// KindOK is the real answer, a full success: the zero [Answer]. It is
	// what a [Ledger] records when no fault refused a request; it is not a
	// fault a [Rule] can give.
	KindOK Kind = iota
	// KindGRPC refuses with a gRPC status code ([GRPC]).
	KindGRPC
	// KindHTTP refuses with an HTTP error status ([HTTP]).
	KindHTTP
	// KindPartial is a partial success ([Partial]): the sink stores all but
	// the last N items and says it rejected N.
	KindPartial
	// KindDelay waits, then gives the real answer ([Delay]).
	KindDelay
	// KindHold keeps the request until the client gives up, then refuses
	// with DeadlineExceeded or 504 ([Hold]).
	KindHold
	// KindDrop closes the connection without an answer ([Drop]).
	KindDrop
)

var kindNames = [...]string{"ok", "grpc", "http", "partial", "delay", "hold", "drop"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// DefaultHoldMax bounds a [Hold] given no maximum: a client with no timeout
// must not keep a handler forever.
const DefaultHoldMax = 30 * time.Second

// Answer is what the sink does with a request a [Rule] selects, or, in a
// [Ledger], what it did. Build one with [GRPC], [HTTP], [Partial], [Delay],
// [Hold] or [Drop], and refine it with [Answer.WithRetry],
// [Answer.WithRetryDate] and [Answer.WithMessage]; the zero Answer is the
// real full success. Answers are comparable values.
type Answer struct {
	kind     Kind
	code     codes.Code    // KindGRPC
	status   int           // KindHTTP
	retry    time.Duration // RetryInfo (gRPC) or Retry-After (HTTP)
	date     bool          // Retry-After as an HTTP-date
	retryAt  time.Time     // the HTTP-date, fixed by Injector.Decide
	rejected int           // KindPartial
	wait     time.Duration // KindDelay: the delay; KindHold: the maximum
	message  string
	rule     string // "rule 2 (grpc -> unavailable)", set by Injector.Decide
}

// GRPC refuses with a gRPC status code. Spec-following exporters retry
// Cancelled, DeadlineExceeded, Aborted, OutOfRange, Unavailable and DataLoss,
// and ResourceExhausted only when it carries RetryInfo ([Answer.WithRetry]).
func GRPC(code codes.Code) Answer { return Answer{kind: KindGRPC, code: code} }

// HTTP refuses with an HTTP status from 400 to 599. Spec-following exporters
// retry 429, 502, 503 and 504.
func HTTP(status int) Answer { return Answer{kind: KindHTTP, status: status} }

// Partial is a partial success: the sink stores all but the last rejected
// items of the request and reports rejected in the response's
// partial_success, with message (a default when ""). rejected may be 0 only
// with a message: OTLP's warning form. An exporter must not retry it.
func Partial(rejected int, message string) Answer {
	return Answer{kind: KindPartial, rejected: rejected, message: message}
}

// Delay waits d, then lets the sink give its real answer. The client giving
// up does not cut the wait short, so a delay longer than the client's
// timeout stores spans the client believes lost: its retry then stores them
// twice, which [Duplicates] reports.
func Delay(d time.Duration) Answer { return Answer{kind: KindDelay, wait: d} }

// Hold keeps the request until the client gives up (its context ends) or
// max passes (0: [DefaultHoldMax]), stores nothing, and refuses with gRPC
// DeadlineExceeded or HTTP 504: the client's own timeout, made to happen.
func Hold(max time.Duration) Answer { return Answer{kind: KindHold, wait: max} }

// Drop closes the connection without an answer; exporters retry.
func Drop() Answer { return Answer{kind: KindDrop} }

// WithRetry asks the exporter to wait d before retrying: a
// google.rpc.RetryInfo detail on a gRPC answer (retry= in a rule's text), a
// Retry-After header in whole seconds on an HTTP answer (retry-after=).
func (a Answer) WithRetry(d time.Duration) Answer {
	a.retry, a.date = d, false
	return a
}

// WithRetryDate is [Answer.WithRetry] for an HTTP answer with Retry-After as
// an HTTP-date: d after the request, rounded up to a whole second
// (retry-after-date= in a rule's text).
func (a Answer) WithRetryDate(d time.Duration) Answer {
	a.retry, a.date = d, true
	return a
}

// WithMessage sets the message of the refusal's status, or of the partial
// success, in place of one that names the fault rule.
func (a Answer) WithMessage(msg string) Answer {
	a.message = msg
	return a
}

// Kind says what the answer does.
func (a Answer) Kind() Kind { return a.kind }

// Code is the gRPC code of a [KindGRPC] answer.
func (a Answer) Code() codes.Code { return a.code }

// Status is the HTTP status of a [KindHTTP] answer.
func (a Answer) Status() int { return a.status }

// RetryDelay is the wait the answer asks for before a retry (RetryInfo or
// Retry-After), 0 when it asks for none.
func (a Answer) RetryDelay() time.Duration { return a.retry }

// Refuses reports whether the sink stores nothing of the request: a gRPC or
// HTTP refusal, a hold or a drop.
func (a Answer) Refuses() bool {
	switch a.kind {
	case KindGRPC, KindHTTP, KindHold, KindDrop:
		return true
	}
	return false
}

// Retryable reports whether an exporter following the OTLP specification
// retries the request after this answer. Only refusals are retryable; an
// exporter must not retry a success or a partial success.
func (a Answer) Retryable() bool {
	switch a.kind {
	case KindGRPC:
		return retryableCode(a.code) || a.code == codes.ResourceExhausted && a.retry > 0
	case KindHTTP:
		return retryableStatus(a.status)
	case KindHold, KindDrop:
		return true
	}
	return false
}

// retryableCode is the OTLP/gRPC table's "Yes" column; ResourceExhausted is
// retryable only with RetryInfo.
func retryableCode(c codes.Code) bool {
	switch c {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// retryableStatus is OTLP/HTTP's "Retryable Response Codes" table.
func retryableStatus(s int) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transport is the transport the answer exists on, "" for both.
func (a Answer) transport() Transport {
	switch a.kind {
	case KindGRPC:
		return TransportGRPC
	case KindHTTP:
		return TransportHTTP
	}
	return ""
}

// holdMax is a hold's bound with the default applied.
func (a Answer) holdMax() time.Duration {
	if a.wait <= 0 {
		return DefaultHoldMax
	}
	return a.wait
}

// retryNotBefore is the earliest time a spec-following exporter may retry
// after this answer to a request that arrived at t, and whether the answer
// asks for a wait at all.
func (a Answer) retryNotBefore(t time.Time) (time.Time, bool) {
	if a.retry <= 0 {
		return time.Time{}, false
	}
	if a.date {
		if !a.retryAt.IsZero() {
			return a.retryAt, true
		}
		return retryDate(t, a.retry), true
	}
	return t.Add(a.retry), true
}

// retryDate is t+d rounded up to a whole second, the resolution of an
// HTTP-date, so that the wait it implies is never shorter than d.
func retryDate(t time.Time, d time.Duration) time.Time {
	at := t.Add(d)
	if tr := at.Truncate(time.Second); !tr.Equal(at) {
		at = tr.Add(time.Second)
	}
	return at.UTC()
}

// String is the answer in a rule's text syntax ("unavailable retry=1s",
// "503 retry-after=2s", "partial rejected=2 message=quota"); the zero
// Answer is "ok".
func (a Answer) String() string {
	var b []byte
	switch a.kind {
	case KindOK:
		return "ok"
	case KindGRPC:
		b = append(b, codeWord(a.code)...)
		if a.retry != 0 {
			b = append(b, " retry="+a.retry.String()...)
		}
	case KindHTTP:
		b = fmt.Appendf(b, "%d", a.status)
		if a.retry != 0 {
			key := " retry-after="
			if a.date {
				key = " retry-after-date="
			}
			b = append(b, key+a.retry.String()...)
		}
	case KindPartial:
		b = fmt.Appendf(b, "partial rejected=%d", a.rejected)
	case KindDelay:
		b = append(b, "delay="+a.wait.String()...)
	case KindHold:
		b = append(b, "hold"...)
		if a.wait != 0 {
			b = append(b, " max="+a.wait.String()...)
		}
	case KindDrop:
		b = append(b, "drop"...)
	default:
		return a.kind.String()
	}
	if a.message != "" {
		b = append(b, " message="+quoteValue(a.message)...)
	}
	return string(b)
}

// codeNames are the gRPC codes as a rule writes them: the canonical names,
// lower case, words joined by '-' ("CANCELLED" keeps gRPC's spelling).
var codeNames = map[codes.Code]string{
	codes.OK:                 "ok",
	codes.Canceled:           "cancelled",
	codes.Unknown:            "unknown",
	codes.InvalidArgument:    "invalid-argument",
	codes.DeadlineExceeded:   "deadline-exceeded",
	codes.NotFound:           "not-found",
	codes.AlreadyExists:      "already-exists",
	codes.PermissionDenied:   "permission-denied",
	codes.ResourceExhausted:  "resource-exhausted",
	codes.FailedPrecondition: "failed-precondition",
	codes.Aborted:            "aborted",
	codes.OutOfRange:         "out-of-range",
	codes.Unimplemented:      "unimplemented",
	codes.Internal:           "internal",
	codes.Unavailable:        "unavailable",
	codes.DataLoss:           "data-loss",
	codes.Unauthenticated:    "unauthenticated",
}

var codesByName = func() map[string]codes.Code {
	m := make(map[string]codes.Code, len(codeNames))
	for c, n := range codeNames {
		m[n] = c
	}
	return m
}()

func codeWord(c codes.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code(%d)", uint32(c))
}
