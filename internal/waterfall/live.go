package waterfall

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// LivePatterns are the [http.ServeMux] patterns the live handler answers:
// the page at the root and its own small JSON and event-stream API under
// /ui/api/. Mount the handler on each (otlpsink.WithHandler(p, h)); other
// paths stay the sink's, so an exporter posting to a wrong path is still
// counted as such.
var LivePatterns = []string{"GET /{$}", "/ui/"}

// LiveOption configures [LiveHandler].
type LiveOption func(*Live)

// WithToken makes the live view require the sink's bearer token: in an
// "Authorization: Bearer T" header or, since a browser's page load and
// EventSource cannot send headers, as ?token=T (the page passes it on).
func WithToken(token string) LiveOption { return func(l *Live) { l.token = token } }

// LiveHandler returns the live view of a store: a page listing correlations
// newest first with a waterfall per correlation that grows as spans arrive,
// the senders with their last-seen times and the requests the sink refused.
// stats supplies the sink's counters (otlpsink.Sink.Stats adds refusals and
// unknown paths to the store's); nil means st.Stats.
//
// Its endpoints, under /ui/api/, are for the page, not a stable API:
//
//	GET correlations?offset=&limit=&q=    a page of correlation rows, newest first
//	GET spans?correlation=V | ?all=1      the spans of a correlation, or the latest
//	GET stats                             the sink's stats
//	GET stream?correlation=V|all=1&after=SEQ
//	                                      Server-Sent Events: "batch" (updated rows and
//	                                      the selection's new spans), "stats", "reset"
func LiveHandler(st *spanstore.Store, stats func() spanstore.Stats, opts ...LiveOption) *Live {
	if stats == nil {
		stats = st.Stats
	}
	l := &Live{st: st, stats: stats, statsEvery: time.Second, minGap: 100 * time.Millisecond, maxBatch: 2000, done: make(chan struct{})}
	for _, o := range opts {
		o(l)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", l.page)
	mux.HandleFunc("GET /ui/api/correlations", l.correlations)
	mux.HandleFunc("GET /ui/api/spans", l.spans)
	mux.HandleFunc("GET /ui/api/stats", l.statsJSON)
	mux.HandleFunc("GET /ui/api/stream", l.stream)
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such live view endpoint: "+r.Method+" "+r.URL.Path)
	})
	l.mux = mux
	return l
}

// Live is the live view's handler. Its event streams last as long as their
// pages stay open, which http.Server.Shutdown would wait for: Close ends
// them first.
type Live struct {
	st    *spanstore.Store
	stats func() spanstore.Stats
	token string
	mux   *http.ServeMux

	// statsEvery is how often a stream looks for changed stats: refusals
	// and unknown paths change without an ingest, and the sink has no
	// notification for them. minGap spaces a stream's batches, so a burst
	// of requests reaches the browser as a few batches. maxBatch caps the
	// spans read per batch.
	statsEvery time.Duration
	minGap     time.Duration
	maxBatch   int

	streams     atomic.Int64
	streamEnded func() // test hook
	done        chan struct{}
	closeOnce   sync.Once
}

// Close ends the event streams, now and from now on (a page's EventSource
// then retries, and finds the server gone). The page and the JSON
// endpoints keep answering.
func (l *Live) Close() { l.closeOnce.Do(func() { close(l.done) }) }

func (l *Live) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.token != "" && !l.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="traceproof"`)
		writeError(w, http.StatusUnauthorized, "this sink needs its token: open the page as /?token=T, or send \"Authorization: Bearer T\"")
		return
	}
	l.mux.ServeHTTP(w, r)
}

func (l *Live) authorized(r *http.Request) bool {
	got := r.URL.Query().Get("token")
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		got = strings.TrimPrefix(a, "Bearer ")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(l.token)) == 1
}

func (l *Live) page(w http.ResponseWriter, r *http.Request) {
	cfg, _ := json.Marshal(map[string]any{"api": "/ui/api", "token_required": l.token != ""})
	var b bytes.Buffer
	err := liveTemplate.Execute(&b, liveView{
		Style:  template.CSS(assetStyle),
		Script: template.JS(assetWaterfallJS + "\n" + assetLiveJS),
		Config: template.JS(cfg),
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

type liveView struct {
	Style  template.CSS
	Script template.JS
	Config template.JS
}

// corrRow is one line of the correlation list: the values that share the
// same traces (a task's correlation_id and task_uuid) are one row.
type corrRow struct {
	Values    []string  `json:"values"`
	Traces    int       `json:"traces"`
	Spans     int       `json:"spans"`
	Errors    int       `json:"errors"`
	Instances []string  `json:"instances"`
	Services  []string  `json:"services,omitempty"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
}

// rows groups summaries (newest first) by trace set, keeping the order.
func rows(sums []spanstore.CorrelationSummary) []corrRow {
	var out []corrRow
	index := map[string]int{}
	for _, s := range sums {
		ids := make([]string, len(s.TraceIDs))
		for i, id := range s.TraceIDs {
			ids[i] = id.String()
		}
		slices.Sort(ids)
		key := strings.Join(ids, ",")
		if i, ok := index[key]; ok {
			out[i].Values = append(out[i].Values, s.Value)
			slices.Sort(out[i].Values)
			continue
		}
		index[key] = len(out)
		out = append(out, corrRow{Values: []string{s.Value}, Traces: len(s.TraceIDs), Spans: s.Spans, Errors: s.Errors,
			Instances: s.Instances, Services: s.Services, First: s.FirstReceived.UTC(), Last: s.LastReceived.UTC()})
	}
	return out
}

const (
	defaultPage   = 50
	maxPage       = 500
	defaultSpans  = 5000
	maxSpansShown = 100_000
)

func (l *Live) correlations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, err1 := intParam(q, "offset", 0, 0, 1<<31)
	limit, err2 := intParam(q, "limit", defaultPage, 1, maxPage)
	if err := firstErr(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	seq := l.st.LastSeq()
	all := rows(l.st.Correlations())
	if f := strings.ToLower(strings.TrimSpace(q.Get("q"))); f != "" {
		all = slices.DeleteFunc(all, func(r corrRow) bool {
			return !slices.ContainsFunc(r.Values, func(v string) bool { return strings.Contains(strings.ToLower(v), f) })
		})
	}
	page := all[min(offset, len(all)):min(offset+limit, len(all))]
	writeJSON(w, map[string]any{"total": len(all), "offset": offset, "rows": nonNil(page), "seq": seq})
}

func (l *Live) spans(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", defaultSpans, 1, maxSpansShown)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The position is read first: a stream started from it repeats rather
	// than misses a span that arrives during the query.
	seq := l.st.LastSeq()
	var spans []spanstore.Span
	var total int
	switch corr := q.Get("correlation"); {
	case corr != "":
		spans = l.st.Correlated(corr)
		total = len(spans)
		if len(spans) > limit {
			spans = spans[:limit]
		}
	case q.Get("all") == "1":
		spans = l.st.SpansSince(seq-min(seq, uint64(limit)), 0)
		total = l.st.Len()
	default:
		writeError(w, http.StatusBadRequest, "want ?correlation=VALUE or ?all=1")
		return
	}
	b := []byte(`{"total":` + strconv.Itoa(total) + `,"seq":` + strconv.FormatUint(seq, 10) + `,"spans":`)
	b = l.appendSpans(b, spans, map[spanstore.TraceID][]string{})
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// appendSpans writes spans as a JSON array, each with its trace's
// correlations (cached in corrs).
func (l *Live) appendSpans(b []byte, spans []spanstore.Span, corrs map[spanstore.TraceID][]string) []byte {
	b = append(b, '[')
	for i, s := range spans {
		if i > 0 {
			b = append(b, ',')
		}
		c, ok := corrs[s.TraceID]
		if !ok {
			c = l.st.TraceCorrelations(s.TraceID)
			corrs[s.TraceID] = c
		}
		b = spanstore.AppendJSON(b, s, c)
	}
	return append(b, ']')
}

func (l *Live) statsJSON(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, toStatsJSON(l.stats()))
}

// statsJSON is spanstore.Stats for the page.
type statsJSON struct {
	Now          time.Time         `json:"now"`
	Stored       int               `json:"stored"`
	Spans        uint64            `json:"spans"`
	Requests     uint64            `json:"requests"`
	Rejected     uint64            `json:"rejected"`
	Evicted      uint64            `json:"evicted"`
	DecodeErrors uint64            `json:"decode_errors"`
	Refused      map[string]uint64 `json:"refused"`
	UnknownPaths map[string]uint64 `json:"unknown_paths"`
	MetricPoints uint64            `json:"metric_points"`
	LogRecords   uint64            `json:"log_records"`
	ByTransport  map[string]uint64 `json:"by_transport"`
	Senders      []senderJSON      `json:"senders"`
	Instances    []instanceJSON    `json:"instances"`
	LastErrors   []string          `json:"last_errors"`
}

type senderJSON struct {
	Sender   string    `json:"sender"`
	Requests uint64    `json:"requests"`
	Spans    uint64    `json:"spans"`
	LastSeen time.Time `json:"last_seen"`
}

type instanceJSON struct {
	Instance string    `json:"instance"`
	Service  string    `json:"service,omitempty"`
	Spans    uint64    `json:"spans"`
	LastSeen time.Time `json:"last_seen"`
}

func toStatsJSON(s spanstore.Stats) statsJSON {
	j := statsJSON{
		Now: time.Now().UTC(), Stored: s.Stored, Spans: s.Spans, Requests: s.Requests, Rejected: s.Rejected,
		Evicted: s.Evicted, DecodeErrors: s.DecodeErrors, Refused: nonNilMap(s.Refused), UnknownPaths: nonNilMap(s.UnknownPaths),
		MetricPoints: s.MetricPoints, LogRecords: s.LogRecords, ByTransport: nonNilMap(s.ByTransport),
		Senders: []senderJSON{}, Instances: []instanceJSON{}, LastErrors: nonNil(s.LastErrors),
	}
	// Newest first, as the page lists them.
	for _, x := range slices.Backward(s.Senders) {
		j.Senders = append(j.Senders, senderJSON{x.Sender, x.Requests, x.Spans, x.LastSeen.UTC()})
	}
	for _, x := range slices.Backward(s.Instances) {
		j.Instances = append(j.Instances, instanceJSON{x.Instance, x.Service, x.Spans, x.LastSeen.UTC()})
	}
	return j
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	return m
}

// intParam reads query parameter name, def when absent; its error names the
// parameter.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: want a number from %d to %d, got %q", name, lo, hi, s)
	}
	return n, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
