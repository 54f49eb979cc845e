package waterfall

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// stream pushes what changes to one page as Server-Sent Events:
//
//	event: batch  {"seq", "correlations": [rows touched], "spans": [the selection's new spans]}
//	event: stats  the sink's stats, when they changed
//	event: reset  the store was emptied
//
// It follows the store with Changed and SpansSince, so it wakes on ingest
// and never polls the store; only the sink's refusal counters, which have
// no notification, are compared every statsEvery. A batch's id is its seq,
// so a reconnecting EventSource resumes (Last-Event-ID) without a gap. It
// returns, freeing everything, as soon as the client goes away or Close is
// called.
func (l *Live) stream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel := selection{corr: q.Get("correlation"), all: q.Get("all") == "1"}
	after := l.st.LastSeq()
	from := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		from = id
	}
	if from != "" {
		n, err := strconv.ParseUint(from, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "after: want the seq of the last span seen, got "+strconv.Quote(from))
			return
		}
		after = n
	}

	select {
	case <-l.done:
		writeError(w, http.StatusServiceUnavailable, "the live view is shutting down")
		return
	default:
	}
	l.streams.Add(1)
	defer func() {
		l.streams.Add(-1)
		if l.streamEnded != nil {
			l.streamEnded()
		}
	}()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	ctx := r.Context()
	s := &streamState{l: l, w: w, sel: sel, sent: map[spanstore.TraceID]bool{}}
	if err := s.event("hello", []byte(`{"seq":`+strconv.FormatUint(after, 10)+`}`), ""); err != nil {
		return
	}
	s.sendStats(true)
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(l.statsEvery)
	defer tick.Stop()
	var lastPush time.Time
	stored := l.st.Len()
	for {
		changed := l.st.Changed(spanstore.Filter{})
		batch := l.st.SpansSince(after, l.maxBatch)
		if len(batch) > 0 {
			after = batch[len(batch)-1].Seq
			if s.sendBatch(batch, after) != nil {
				return
			}
			s.sendStats(false)
			if rc.Flush() != nil {
				return
			}
			lastPush = time.Now()
			stored = l.st.Len()
			if len(batch) == l.maxBatch {
				continue // more is waiting
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-changed:
			// Coalesce a burst: at most one batch per minGap.
			if d := l.minGap - time.Since(lastPush); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-l.done:
					t.Stop()
					return
				case <-t.C:
				}
			}
		case <-tick.C:
			n := l.st.Len()
			if n < stored && l.st.LastSeq() == after {
				// Emptied without an ingest: a reset.
				if s.event("reset", []byte(`{}`), "") != nil {
					return
				}
			}
			stored = n
			s.sendStats(false)
			if rc.Flush() != nil {
				return
			}
		}
	}
}

type selection struct {
	corr string
	all  bool
}

type streamState struct {
	l   *Live
	w   http.ResponseWriter
	sel selection
	// sent holds the selection's traces this stream sent in full. The
	// first batch that touches a trace sends all of it (the page dedupes),
	// so a trace that joined the correlation after the page loaded it is
	// complete too.
	sent      map[spanstore.TraceID]bool
	lastStats []byte
	err       error
}

// event writes one SSE event; data must be one line (JSON is).
func (s *streamState) event(name string, data []byte, id string) error {
	if s.err != nil {
		return s.err
	}
	var b bytes.Buffer
	b.Grow(len(data) + 64)
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	b.WriteString("event: " + name + "\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	_, s.err = s.w.Write(b.Bytes())
	return s.err
}

func (s *streamState) sendStats(force bool) {
	j := toStatsJSON(s.l.stats())
	// Compare without the clock, which changes every time.
	j.Now = time.Time{}
	cmp, _ := json.Marshal(j)
	if !force && bytes.Equal(cmp, s.lastStats) {
		return
	}
	s.lastStats = cmp
	j.Now = time.Now().UTC()
	b, _ := json.Marshal(j)
	_ = s.event("stats", b, "")
}

// sendBatch tells the page which correlation rows changed and sends the
// spans of its selection: for a trace that just joined the selected
// correlation, all its spans (its children may have come before the span
// that carries the ID), else the new ones.
func (s *streamState) sendBatch(batch []spanstore.Span, seq uint64) error {
	corrs := map[spanstore.TraceID][]string{}
	touched := map[string]bool{}
	var order []string
	for _, sp := range batch {
		if _, ok := corrs[sp.TraceID]; ok {
			continue
		}
		c := s.l.st.TraceCorrelations(sp.TraceID)
		corrs[sp.TraceID] = c
		for _, v := range c {
			if !touched[v] {
				touched[v] = true
				order = append(order, v)
			}
		}
	}
	var sums []spanstore.CorrelationSummary
	for _, v := range order {
		if sum, ok := s.l.st.Correlation(v); ok {
			sums = append(sums, sum)
		}
	}
	var spans []spanstore.Span
	switch {
	case s.sel.all:
		spans = batch
	case s.sel.corr != "":
		fresh := map[spanstore.TraceID]bool{}
		for _, sp := range batch {
			if !containsStr(corrs[sp.TraceID], s.sel.corr) {
				continue
			}
			if !s.sent[sp.TraceID] {
				s.sent[sp.TraceID] = true
				fresh[sp.TraceID] = true
				spans = append(spans, s.l.st.Trace(sp.TraceID)...)
				continue
			}
			if !fresh[sp.TraceID] {
				spans = append(spans, sp)
			}
		}
	}
	b := []byte(`{"seq":` + strconv.FormatUint(seq, 10) + `,"correlations":`)
	rb, _ := json.Marshal(nonNil(rows(sums)))
	b = append(b, rb...)
	b = append(b, `,"spans":`...)
	b = s.l.appendSpans(b, spans, corrs)
	b = append(b, '}')
	return s.event("batch", b, strconv.FormatUint(seq, 10))
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
