package main

import (
	"sync/atomic"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

// api is serve's remote API (package remote) under /api/ on the sink's
// HTTP port, with the sink's token. Its stats add what the receiver refused
// to the store's counts; the sink exists only after the options that mount
// the API, so setSink hands it over (until then the store's own count).
type api struct {
	st   *spanstore.Store
	h    *remote.Handler
	sink atomic.Pointer[otlpsink.Sink]
}

func newAPI(st *spanstore.Store, token string) *api {
	a := &api{st: st}
	var opts []remote.HandlerOption
	if token != "" {
		opts = append(opts, remote.WithToken(token))
	}
	a.h = remote.NewHandler(st, a.stats, opts...)
	return a
}

func (a *api) stats() spanstore.Stats {
	if s := a.sink.Load(); s != nil {
		return s.Stats()
	}
	return a.st.Stats()
}

// option mounts the API on the sink's HTTP port: every path under /api/, so
// that a mistyped API path gets the API's own 404.
func (a *api) option() otlpsink.Option { return otlpsink.WithHandler("/api/", a.h) }

func (a *api) setSink(s *otlpsink.Sink) { a.sink.Store(s) }

// close ends the API's waiting requests, so that stopping the sink does not
// wait for their timeouts.
func (a *api) close() { a.h.Close() }
