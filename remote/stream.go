package remote

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// keepalive is how often an idle stream sends an SSE comment, so that
// proxies keep it open and a client that went away is noticed.
const keepalive = 15 * time.Second

// stream answers GET /api/v1/stream?q=TEXTQUERY[&replay=true][&token=T]
// with Server-Sent Events, one per span the query selects:
//
//	: traceproof stream of spans named "publish_event" in the trace of correlation "order-A1"
//
//	data: {"trace_id":"…","span_id":"…","name":"publish_event",…}
//
// Each matching span is sent once, when it first matches: for most queries
// that is when it arrives; a span that matches only through its trace (a
// correlation it reaches through its parent, a parent or child condition)
// is sent when the span that completes the match arrives. Without replay,
// spans that matched before the stream connected are not sent. q is the
// text form (an empty or absent q selects every span). The stream is woken
// by the store on ingest, never by polling; it ends when the client goes
// away or the server shuts down.
func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	for k := range params {
		if k != "q" && k != "replay" && k != "token" {
			writeQueryError(w, &QueryError{Field: k, Msg: "unknown parameter; the stream takes q, replay and token"})
			return
		}
	}
	var q Query
	if text := params.Get("q"); text != "" {
		var err *QueryError
		if q, err = parseQuery(text); err != nil {
			writeQueryError(w, err.under("q"))
			return
		}
	}
	replay := false
	switch v := params.Get("replay"); v {
	case "", "false", "0":
	case "true", "1":
		replay = true
	default:
		writeQueryError(w, &QueryError{Field: "replay", Msg: strconv.Quote(v) + ": want true or false"})
		return
	}
	aq, err := q.Build()
	if err != nil {
		writeQueryError(w, err.(*QueryError).under("q"))
		return
	}

	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	w.WriteHeader(http.StatusOK)
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	src := h.src()
	filter, byTrace := watchFilter(&q)
	// Spans matched by a query of the span alone are final when they
	// arrive, so a cursor over arrival order (Seq) says what was sent. A
	// span that matches through its trace may match later, and out of
	// arrival order: those are remembered one by one.
	var cursor uint64
	sent := map[uint64]struct{}{}
	var buf []byte
	// look appends the spans that match now and were not sent, and marks
	// them sent.
	look := func(emit bool) {
		var spans []spanstore.Span
		if byTrace {
			spans = aq.Find(src)
		} else {
			after := cursor
			spans = aq.Where("", func(s spanstore.Span) bool { return s.Seq > after }).Find(src)
		}
		sw := newSpanWriter(h.st) // per look: a trace's correlations may grow
		for _, s := range spans {
			if byTrace {
				if _, ok := sent[s.Seq]; ok {
					continue
				}
				sent[s.Seq] = struct{}{}
			}
			cursor = max(cursor, s.Seq)
			if emit {
				buf = append(buf, "data: "...)
				buf = sw.append(buf, s)
				buf = append(buf, "\n\n"...)
			}
		}
	}
	// The first watch and look come before the opening comment, so a span
	// that arrives once a client has read it is always sent.
	changed := h.st.Changed(filter)
	if replay || byTrace {
		look(replay)
	} else {
		cursor = h.st.Stats().Spans // the Seq of the newest span taken in
	}
	buf = append([]byte(": traceproof stream of "+oneLine(aq.String())+"\n\n"), buf...)
	tick := time.NewTicker(keepalive)
	defer tick.Stop()
	for {
		if len(buf) > 0 && !send(buf) {
			return
		}
		buf = buf[:0]
	wait:
		for {
			select {
			case <-changed:
				break wait
			case <-tick.C:
				if !send([]byte(": keepalive\n\n")) {
					return
				}
			case <-ctx.Done():
				return
			}
		}
		changed = h.st.Changed(filter) // before the look, so nothing in between is missed
		look(true)
	}
}

// watchFilter is the store watch under which every span that could start
// matching q arrives, as assert picks it: the correlation q implies (its
// own, or a related span's), else q's trace, else, for a structure
// condition, every arrival, else q's name. byTrace says whether a span's
// match can depend on other spans of its trace.
func watchFilter(q *Query) (f spanstore.Filter, byTrace bool) {
	structural := q.Child != nil || q.Descendant != nil || q.Parent != nil || q.Ancestor != nil
	byTrace = structural || q.Correlation != ""
	if c := impliedCorrelation(q); c != "" {
		return spanstore.Filter{Correlation: c}, byTrace
	}
	if q.TraceID != "" {
		id, _ := parseTraceID(q.TraceID) // Build checked it
		return spanstore.Filter{TraceID: id}, byTrace
	}
	if structural {
		return spanstore.Filter{}, byTrace
	}
	return spanstore.Filter{Name: q.Name}, byTrace
}

// impliedCorrelation is q's correlation, or a sub-query's: related spans
// share a trace, and the store correlates whole traces.
func impliedCorrelation(q *Query) string {
	if q == nil {
		return ""
	}
	if q.Correlation != "" {
		return q.Correlation
	}
	for _, sub := range []*Query{q.Child, q.Descendant, q.Parent, q.Ancestor} {
		if c := impliedCorrelation(sub); c != "" {
			return c
		}
	}
	return ""
}

// oneLine keeps an SSE comment on one line.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}
