package otlpsink

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/traceproof/traceproof/spanstore"
)

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

func (s *Sink) newHTTPHandler() http.Handler {
	mux := http.NewServeMux()
	for _, sig := range signals {
		mux.Handle(sig.path, s.ledgerHTTP(sig, s.httpExport(sig)))
	}
	for _, r := range s.cfg.handlers {
		mux.Handle(r.pattern, r.h)
	}
	mux.Handle("/", http.HandlerFunc(s.unknownPath))
	return s.cleanPaths(mux)
}

// httpError is a refusal with the status the OTLP/HTTP spec names for it.
type httpError struct {
	status int
	reason string // Stats().Refused key, or "" for a decode error
	msg    string
}

func (s *Sink) httpExport(sig signal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := spanstore.Origin{Sender: r.RemoteAddr, Transport: spanstore.TransportHTTP, Encoding: spanstore.EncodingProto}
		ctype := contentTypeJSON // for error bodies when the request's is unusable
		resp, herr := s.httpDecode(sig, r, &o, &ctype, w)
		if herr == errAnswered {
			return
		}
		if herr != nil {
			if herr.reason == "" {
				s.recv.decodeError(httpSite(r), herr.msg)
			} else {
				s.recv.refused(httpSite(r), herr.reason, herr.msg)
			}
			if herr.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", http.MethodPost)
			}
			writeHTTPStatus(w, ctype, herr.status, herr.msg)
			return
		}
		var body []byte
		var err error
		if ctype == contentTypeJSON {
			body, err = resp.MarshalJSON()
		} else {
			body, err = resp.MarshalProto()
		}
		if err != nil {
			writeHTTPStatus(w, ctype, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

func (s *Sink) httpDecode(sig signal, r *http.Request, o *spanstore.Origin, ctype *string, w http.ResponseWriter) (exportResponse, *httpError) {
	who := fmt.Sprintf("%s %s from %s", r.Method, r.URL.Path, o.Sender)
	// The content type is read first so that every error, 401 and 405
	// included, answers in the request's encoding, as OTLP/HTTP asks.
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	known := err == nil && (mt == contentTypeProto || mt == contentTypeJSON)
	if known && mt == contentTypeProto {
		*ctype = contentTypeProto
	} else if known {
		o.Encoding = spanstore.EncodingJSON
	}
	if r.Method != http.MethodPost {
		return nil, &httpError{http.StatusMethodNotAllowed, "method", who + ": only POST is allowed"}
	}
	if s.cfg.token != "" && !s.tokenOK(r.Header.Get("Authorization")) {
		return nil, &httpError{http.StatusUnauthorized, "unauthenticated", who + ": missing or wrong \"Authorization: Bearer <token>\" header"}
	}
	if !known {
		return nil, &httpError{http.StatusUnsupportedMediaType, "content type",
			fmt.Sprintf("%s: unsupported Content-Type %q; use %s or %s", who, r.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON)}
	}

	max := int64(s.cfg.maxMessageBytes)
	var body io.Reader = http.MaxBytesReader(w, r.Body, max)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		o.Compressed = true
		zr, err := gzip.NewReader(body)
		if err != nil {
			if tooLarge(err) {
				return nil, &httpError{http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("%s: body over %d bytes", who, max)}
			}
			return nil, &httpError{http.StatusBadRequest, "", fmt.Sprintf("%s: corrupt gzip body: %v", who, err)}
		}
		// Limit what the body inflates to as well: a small zip bomb must not
		// exhaust the test's memory.
		body = io.LimitReader(zr, max+1)
	default:
		return nil, &httpError{http.StatusUnsupportedMediaType, "content encoding", fmt.Sprintf("%s: unsupported Content-Encoding %q; use gzip or none", who, enc)}
	}
	buf := getBodyBuffer()
	defer putBodyBuffer(buf)
	if n := r.ContentLength; n > 0 && n <= max && !o.Compressed {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants room for its EOF read
	}
	_, err = buf.ReadFrom(body)
	data := buf.Bytes()
	if err != nil {
		if tooLarge(err) {
			return nil, &httpError{http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("%s: body over %d bytes", who, max)}
		}
		if o.Compressed {
			return nil, &httpError{http.StatusBadRequest, "", fmt.Sprintf("%s: corrupt gzip body: %v", who, err)}
		}
		return nil, &httpError{http.StatusBadRequest, "", fmt.Sprintf("%s: reading body: %v", who, err)}
	}
	if int64(len(data)) > max {
		return nil, &httpError{http.StatusRequestEntityTooLarge, "too large", fmt.Sprintf("%s: body inflates to over %d bytes", who, max)}
	}
	if len(data) == 0 && o.Encoding == spanstore.EncodingJSON {
		// jsoniter's message for this is unreadable; an empty protobuf body
		// is a valid empty request, an empty JSON body is not.
		return nil, &httpError{http.StatusBadRequest, "", fmt.Sprintf("%s: empty JSON body; want an OTLP/JSON export request", who)}
	}
	resp, err := s.export(r.Context(), sig, data, *o)
	var derr *decodeError
	if errors.As(err, &derr) {
		return nil, &httpError{http.StatusBadRequest, "", fmt.Sprintf("%s: cannot decode OTLP %s %s: %v", who, sig.name, o.Encoding, derr.err)}
	}
	if err != nil {
		return nil, errAnswered
	}
	return resp, nil
}

// Request bodies are read into pooled buffers: decoding is synchronous and
// keeps nothing of the body (the direct decoder and pdata copy what they
// keep), so a buffer is free again once the request is answered, and a busy
// receiver reads every body without allocating.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody bounds the buffers kept: a rare huge request does not pin
// its memory.
const maxPooledBody = 4 << 20

func getBodyBuffer() *bytes.Buffer { return bodyBuffers.Get().(*bytes.Buffer) }

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		b.Reset()
		bodyBuffers.Put(b)
	}
}

// unknownPath answers a request to a path no signal is served on with 404
// and the fix, and counts it by path: an exporter configured with the base
// URL where it needs the full one (Go's otlptracehttp.WithEndpointURL, or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT without /v1/traces) posts here, and
// without this its spans would vanish without a trace.
func (s *Sink) unknownPath(w http.ResponseWriter, r *http.Request) {
	ctype := contentTypeJSON
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == contentTypeProto {
		ctype = contentTypeProto
	}
	msg := fmt.Sprintf("%s %s from %s: not an OTLP path; %s", r.Method, r.URL.Path, r.RemoteAddr, pathHint)
	s.recv.unknownPath(httpSite(r), msg)
	writeHTTPStatus(w, ctype, http.StatusNotFound, msg)
}

// pathHint says where OTLP/HTTP exporters must post, for messages about
// requests that went elsewhere.
const pathHint = "OTLP/HTTP exporters post to /v1/traces, /v1/metrics and /v1/logs: OTEL_EXPORTER_OTLP_ENDPOINT takes the base URL " +
	"(the SDK appends the path), while OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and Go's otlptracehttp.WithEndpointURL take the full URL " +
	"(otlpsink's Sink.TracesURL)"

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// writeHTTPStatus answers with a google.rpc.Status body in the request's
// encoding, as OTLP/HTTP asks of error responses.
func writeHTTPStatus(w http.ResponseWriter, ctype string, code int, msg string) {
	st := &spb.Status{Code: int32(grpcCodeFor(code)), Message: "traceproof sink: " + strings.ToValidUTF8(msg, "\uFFFD")} // a path may not be UTF-8; protobuf strings must be
	var body []byte
	if ctype == contentTypeProto {
		body, _ = proto.Marshal(st)
	} else {
		body, _ = protojson.Marshal(st)
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func grpcCodeFor(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType, http.StatusNotFound:
		return codes.Unimplemented
	}
	return codes.Internal
}
