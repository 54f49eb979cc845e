package remote

import (
	"context"
	"net/http"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// changes answers POST /api/v1/changes, the network form of
// spanstore.Store.Changed that a [Source] watches through:
//
//	{"correlation": "order-A1"}  or {"trace_id": "…"} or {"name": "publish_event"} or {}, and "timeout": "30s"
//	→ {"watching":true}\n  at once, then, when a span arrives that could change what the filter selects,
//	  {"changed":true}\n   or, at the timeout, {"changed":false}\n
//
// as newline-delimited JSON (application/x-ndjson). The first line is
// written once the store watches, so a client that reads it and then
// queries misses nothing that arrives in between. The fields are a
// spanstore.Filter's index fields (at most one is used, the narrowest:
// correlation, then trace_id, then name, as the store picks).
func (h *Handler) changes(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(w, r)
	if !ok {
		return
	}
	var filter spanstore.Filter
	var err *QueryError
	filter.Correlation, err = f.str("correlation")
	if err == nil {
		var id string
		if id, err = f.str("trace_id"); err == nil && id != "" {
			var msg string
			if filter.TraceID, msg = parseTraceID(id); msg != "" {
				err = &QueryError{Field: "trace_id", Msg: msg}
			}
		}
	}
	if err == nil {
		filter.Name, err = f.str("name")
	}
	timeout := changesTimeout
	if err == nil {
		timeout, err = f.duration("timeout", changesTimeout)
	}
	if err == nil {
		err = f.unused("POST /api/v1/changes", known("correlation", "trace_id", "name", "timeout"))
	}
	if err != nil {
		writeQueryError(w, err)
		return
	}
	ch := h.st.Changed(filter)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{\"watching\":true}\n"))
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	answer := "{\"changed\":true}\n"
	select {
	case <-ch:
	case <-timer.C:
		answer = "{\"changed\":false}\n"
	case <-ctx.Done():
		// The client went away, or the server shuts down: then tell it
		// something may have changed, so that it looks (and learns).
		if r.Context().Err() != nil {
			return
		}
	}
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, _ = w.Write([]byte(answer))
	_ = rc.Flush()
}

// writeTimeout bounds one write of a long-lived answer, so a client that
// stopped reading cannot hold its request forever.
const writeTimeout = 30 * time.Second
