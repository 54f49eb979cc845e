package remote

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/traceproof/traceproof/spanstore"
)

// Handler serves the remote API (DESIGN.md, "Remote API") under /api/v1/
// over a span store, so that tests in any language, shell scripts and Go
// tests in other processes ([Dial]) can query spans and run traceproof's
// checks where the spans are. `traceproof serve` mounts it on its HTTP port
// beside OTLP:
//
//	st := spanstore.New()
//	api := remote.NewHandler(st, nil, remote.WithToken(token))
//	sink, err := otlpsink.New(otlpsink.WithStore(st), otlpsink.WithToken(token), otlpsink.WithHandler("/api/", api))
//
// Every waiting request (wait, check, changes, stream) is woken by the
// store when a span arrives, never by polling, and ends as soon as its
// client goes away. A Handler is safe for concurrent use.
type Handler struct {
	st    *spanstore.Store
	stats func() spanstore.Stats
	token string

	mux *http.ServeMux
	// slots bounds the requests that wait at once.
	slots chan struct{}

	// shutdown ends every waiting request when Close is called.
	shutdown context.Context
	stop     context.CancelCauseFunc
}

// maxWaiting bounds the requests that block at once (wait, check, changes,
// stream); more get 503. It is far above what a test suite holds (one
// Source keeps about one per correlation it waits on).
const maxWaiting = 10_000

// HandlerOption configures a [Handler].
type HandlerOption interface{ apply(*Handler) }

type handlerOption func(*Handler)

func (f handlerOption) apply(h *Handler) { f(h) }

// WithToken makes the API require "Authorization: Bearer <token>" (401
// otherwise), as the sink does for OTLP with the same token. The stream
// also accepts it as ?token=, since browsers' EventSource cannot send
// headers.
func WithToken(token string) HandlerOption {
	return handlerOption(func(h *Handler) { h.token = token })
}

// errShutdown is the cause of a request context the Handler's Close ended.
var errShutdown = errors.New("traceproof serve is shutting down")

// NewHandler serves the API over st. stats reports what the receiver in
// front of st took in and refused (otlpsink's Sink.Stats), for /stats and
// the failure reports; nil means st.Stats.
func NewHandler(st *spanstore.Store, stats func() spanstore.Stats, opts ...HandlerOption) *Handler {
	if stats == nil {
		stats = st.Stats
	}
	h := &Handler{st: st, stats: stats, slots: make(chan struct{}, maxWaiting)}
	for _, o := range opts {
		o.apply(h)
	}
	h.shutdown, h.stop = context.WithCancelCause(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/spans", h.spans)
	mux.HandleFunc("POST /api/v1/wait", h.waiting(h.wait))
	mux.HandleFunc("POST /api/v1/check", h.waiting(h.check))
	mux.HandleFunc("POST /api/v1/changes", h.waiting(h.changes))
	mux.HandleFunc("GET /api/v1/stream", h.waiting(h.stream))
	mux.HandleFunc("GET /api/v1/stats", h.statsHandler)
	mux.HandleFunc("POST /api/v1/reset", h.reset)
	mux.HandleFunc("/", notFound)
	h.mux = mux
	return h
}

// endpoints are the API's routes, for 404 and 405 answers.
const endpoints = "POST /api/v1/spans, POST /api/v1/wait, POST /api/v1/check, POST /api/v1/changes, GET /api/v1/stream, GET /api/v1/stats, POST /api/v1/reset"

// ServeHTTP checks the token, then routes. A wrong method gets 405 with
// Allow, an unknown path 404, both as JSON naming the endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.token != "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="traceproof"`)
		writeError(w, http.StatusUnauthorized, &apiError{Msg: "missing or wrong bearer token: send Authorization: Bearer <the --token of traceproof serve>"})
		return
	}
	_, pattern := h.mux.Handler(r)
	if pattern == "/" {
		if allow := h.allowed(r); allow != "" {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, &apiError{Msg: r.Method + " " + r.URL.Path + ": use " + allow})
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// allowed returns the methods a known path takes, "" for an unknown path.
func (h *Handler) allowed(r *http.Request) string {
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := h.mux.Handler(probe); p != "/" {
			return m
		}
	}
	return ""
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, &apiError{Msg: "no such endpoint " + r.URL.Path + "; the API has " + endpoints})
}

func (h *Handler) authorized(r *http.Request) bool {
	want := []byte("Bearer " + h.token)
	if got := r.Header.Get("Authorization"); got != "" {
		return subtle.ConstantTimeCompare([]byte(got), want) == 1
	}
	if r.URL.Path == "/api/v1/stream" {
		if t := r.URL.Query().Get("token"); t != "" {
			return subtle.ConstantTimeCompare([]byte(t), []byte(h.token)) == 1
		}
	}
	return false
}

// Close ends every request that waits (wait, check, changes, stream) at
// once, with 503 where an answer is still due, so that a server can shut
// down without holding its clients for their whole timeouts. Requests that
// come after it are refused with 503. Close is idempotent.
func (h *Handler) Close() { h.stop(errShutdown) }

// waiting wraps a handler that blocks: it takes a slot (503 when all are
// taken or the Handler is closed) and gives the handler a context that ends
// when the client goes away or Close is called.
func (h *Handler) waiting(f func(ctx context.Context, w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.shutdown.Err() != nil {
			writeError(w, http.StatusServiceUnavailable, &apiError{Msg: errShutdown.Error()})
			return
		}
		select {
		case h.slots <- struct{}{}:
			defer func() { <-h.slots }()
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, &apiError{Msg: "too many waiting requests (at most 10000 at once)"})
			return
		}
		ctx, cancel := context.WithCancelCause(r.Context())
		defer cancel(nil)
		stop := context.AfterFunc(h.shutdown, func() { cancel(errShutdown) })
		defer stop()
		f(ctx, w, r)
	}
}

// ended answers a request whose wait was cut short: 503 when the server
// shuts down; nothing when the client went away (no one would read it).
// It reports whether the request ended so.
func ended(ctx context.Context, w http.ResponseWriter) bool {
	if ctx.Err() == nil {
		return false
	}
	if errors.Is(context.Cause(ctx), errShutdown) {
		writeError(w, http.StatusServiceUnavailable, &apiError{Msg: errShutdown.Error()})
	}
	return true
}

// source is the store and the receiver's stats as an assert.Source, what
// the server runs its checks on.
type source struct {
	st    *spanstore.Store
	stats func() spanstore.Stats
}

func (s source) Spans(f spanstore.Filter) []spanstore.Span  { return s.st.Spans(f) }
func (s source) Changed(f spanstore.Filter) <-chan struct{} { return s.st.Changed(f) }
func (s source) Stats() spanstore.Stats                     { return s.stats() }
func (s source) CorrelationKeys() []string                  { return s.st.CorrelationKeys() }

func (h *Handler) src() source { return source{h.st, h.stats} }

func (h *Handler) statsHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toStatsJSON(h.stats(), h.st.CorrelationKeys()))
}

// reset empties the store. Spans arriving at the same time may land on
// either side of it.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	h.st.Reset()
	w.WriteHeader(http.StatusNoContent)
}
