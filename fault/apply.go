package fault

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// This file holds what a receiver calls to give an answer; the package
// documentation's "Integration" section says in which order.

// Pause blocks as the answer asks before the receiver answers, and returns
// at once for every other kind:
//
//   - a [Delay] waits its whole duration: the client giving up (req ending)
//     does not cut it short, since the point is a real answer the client no
//     longer hears;
//   - a [Hold] waits until req ends (the client gave up) or its maximum
//     passes.
//
// Either returns early with sink's error when sink ends (the receiver is
// shutting down); the receiver should then store nothing.
func (a Answer) Pause(req, sink context.Context) error {
	var d time.Duration
	var gaveUp <-chan struct{}
	switch a.kind {
	case KindDelay:
		d = a.wait
	case KindHold:
		d, gaveUp = a.holdMax(), req.Done()
	default:
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-gaveUp:
	case <-sink.Done():
		return sink.Err()
	}
	return nil
}

// GRPCError is the error a gRPC handler returns for the answer: its status
// code, with a google.rpc.RetryInfo detail when it asks for a retry delay;
// DeadlineExceeded for a [Hold]. It is nil for answers that are not
// refusals (the receiver gives its real answer). A [Drop] should close the
// connection instead; its error, Unavailable, is for a receiver that cannot.
func (a Answer) GRPCError() error {
	switch a.kind {
	case KindGRPC:
		st := status.New(a.code, a.message0(""))
		if a.retry > 0 {
			if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(a.retry)}); err == nil {
				st = d
			}
		}
		return st.Err()
	case KindHold:
		return status.Error(codes.DeadlineExceeded, a.message0("held the request until the client gave up"))
	case KindDrop:
		return status.Error(codes.Unavailable, a.message0("the connection should have been dropped"))
	case KindHTTP:
		return status.Errorf(codes.Internal, "traceproof sink: fault answer HTTP %d cannot be given over gRPC", a.status)
	}
	return nil
}

// WriteHTTP writes the answer of an HTTP handler that refuses: the status
// (504 for a [Hold]), a Retry-After header when the answer asks for one, and
// a google.rpc.Status body in the request's encoding, contentType
// (application/x-protobuf gives protobuf, anything else JSON). A [Drop]
// hijacks the connection and closes it with no answer, or, where the
// connection cannot be hijacked (HTTP/2), aborts the handler with
// panic(http.ErrAbortHandler), which net/http turns into a reset stream. For
// answers that are not refusals it writes nothing.
func (a Answer) WriteHTTP(w http.ResponseWriter, contentType string) {
	var code int
	var msg string
	switch a.kind {
	case KindHTTP:
		code, msg = a.status, a.message0("")
	case KindHold:
		code, msg = http.StatusGatewayTimeout, a.message0("held the request until the client gave up")
	case KindGRPC:
		code, msg = http.StatusInternalServerError, fmt.Sprintf("traceproof sink: fault answer %s cannot be given over HTTP", codeWord(a.code))
	case KindDrop:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
		panic(http.ErrAbortHandler)
	default:
		return
	}
	if a.kind == KindHTTP && a.retry > 0 {
		if a.date {
			at := a.retryAt
			if at.IsZero() {
				at = retryDate(time.Now(), a.retry)
			}
			w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(a.retry/time.Second), 10))
		}
	}
	st := &spb.Status{Code: int32(grpcCodeForHTTP(code)), Message: msg}
	ctype := "application/json"
	var body []byte
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/x-protobuf" {
		ctype = mt
		body, _ = proto.Marshal(st)
	} else {
		body, _ = protojson.Marshal(st)
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// PartialSuccess is what the receiver does with a request of items spans
// (data points, log records) given a [Partial] answer: store all but the
// last rejected of them, and answer a partial_success with rejected and
// message. rejected is never more than items. Other answers give 0, "".
func (a Answer) PartialSuccess(items int) (rejected int, message string) {
	if a.kind != KindPartial {
		return 0, ""
	}
	rejected = min(max(a.rejected, 0), max(items, 0))
	if a.message != "" {
		return rejected, a.message
	}
	return rejected, a.message0(fmt.Sprintf("rejected %d of %d", rejected, items))
}

// message0 is the answer's message, or a default that says what happened
// and which rule did it.
func (a Answer) message0(what string) string {
	if a.message != "" {
		return a.message
	}
	by := fmt.Sprintf("(%s)", a)
	if a.rule != "" {
		by = "by " + a.rule
	}
	if what != "" {
		what += "; "
	}
	return fmt.Sprintf("traceproof sink: %sfault injected %s", what, by)
}

// grpcCodeForHTTP fills google.rpc.Status.code, which OTLP/HTTP clients do
// not act on but may log.
func grpcCodeForHTTP(s int) codes.Code {
	switch s {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusInternalServerError:
		return codes.Internal
	}
	return codes.Unknown
}
