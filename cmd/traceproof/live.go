package main

import (
	"sync/atomic"

	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// liveView is serve's live view (internal/waterfall) on the sink's HTTP
// port: the page at "/", its JSON and event stream under /ui/. It shows the
// sink's stats, which add what the receiver refused to the store's counts;
// those exist only once the sink does, after the options that mount the
// view, so setSink hands the sink over (until then the store's own count).
type liveView struct {
	st   *spanstore.Store
	h    *waterfall.Live
	sink atomic.Pointer[otlpsink.Sink]
}

// newLiveView serves st's live view; with a token, the page and its API
// want it too (as ?token=T or a bearer header), like OTLP requests.
func newLiveView(st *spanstore.Store, token string) *liveView {
	v := &liveView{st: st}
	var opts []waterfall.LiveOption
	if token != "" {
		opts = append(opts, waterfall.WithToken(token))
	}
	v.h = waterfall.LiveHandler(st, v.stats, opts...)
	return v
}

func (v *liveView) stats() spanstore.Stats {
	if s := v.sink.Load(); s != nil {
		return s.Stats()
	}
	return v.st.Stats()
}

// options mounts the view on the sink's HTTP port. Only its own paths: a
// request to another path stays the sink's (and is counted as unknown).
func (v *liveView) options() []otlpsink.Option {
	var opts []otlpsink.Option
	for _, p := range waterfall.LivePatterns {
		opts = append(opts, otlpsink.WithHandler(p, v.h))
	}
	return opts
}

// setSink gives the view the sink it runs in, for its stats.
func (v *liveView) setSink(s *otlpsink.Sink) { v.sink.Store(s) }

// close ends the pages' event streams; call it before closing the sink,
// whose shutdown would otherwise wait for open pages.
func (v *liveView) close() { v.h.Close() }
