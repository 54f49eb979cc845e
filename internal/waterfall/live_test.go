package waterfall_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/spanstore"
)

type corrRow struct {
	Values    []string  `json:"values"`
	Traces    int       `json:"traces"`
	Spans     int       `json:"spans"`
	Errors    int       `json:"errors"`
	Instances []string  `json:"instances"`
	Last      time.Time `json:"last"`
}

type corrPage struct {
	Total  int       `json:"total"`
	Offset int       `json:"offset"`
	Rows   []corrRow `json:"rows"`
	Seq    uint64    `json:"seq"`
}

type spansAnswer struct {
	Total int               `json:"total"`
	Seq   uint64            `json:"seq"`
	Spans []json.RawMessage `json:"spans"`
}

func getJSON[T any](t *testing.T, srv *httptest.Server, path string, wantStatus int) T {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, wantStatus, resp.StatusCode, "GET %s: %s", path, body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var v T
	require.NoError(t, json.Unmarshal(body, &v), "%s", body)
	return v
}

func liveServer(t *testing.T, st *spanstore.Store, stats func() spanstore.Stats, opts ...waterfall.LiveOption) (*waterfall.Live, *httptest.Server) {
	t.Helper()
	h := waterfall.LiveHandler(st, stats, opts...)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func TestLiveCorrelations(t *testing.T) {
	st := loadFixture(failingTask("order-A1"), failingTask("order-B2"), failingTask("order-C3"))
	_, srv := liveServer(t, st, nil)

	page := getJSON[corrPage](t, srv, "/ui/api/correlations", 200)
	assert.Equal(t, 3, page.Total, "a task's correlation_id and task_uuid are one row")
	require.Len(t, page.Rows, 3)
	assert.Equal(t, []string{"order-C3", "task-order-C3"}, page.Rows[0].Values, "newest first")
	assert.Equal(t, []string{"order-A1", "task-order-A1"}, page.Rows[2].Values)
	assert.Equal(t, corrRow{Values: []string{"order-C3", "task-order-C3"}, Traces: 4, Spans: 9, Errors: 2,
		Instances: []string{"worker-rust-1", "worker-rust-2", "worker-rust-3"}, Last: page.Rows[0].Last}, page.Rows[0])
	assert.Equal(t, st.LastSeq(), page.Seq)

	page = getJSON[corrPage](t, srv, "/ui/api/correlations?offset=1&limit=1", 200)
	assert.Equal(t, 3, page.Total)
	require.Len(t, page.Rows, 1)
	assert.Equal(t, "order-B2", page.Rows[0].Values[0])
	page = getJSON[corrPage](t, srv, "/ui/api/correlations?offset=9", 200)
	assert.Empty(t, page.Rows)
	assert.NotNil(t, page.Rows)

	page = getJSON[corrPage](t, srv, "/ui/api/correlations?q=B2", 200)
	assert.Equal(t, 1, page.Total)
	assert.Equal(t, "order-B2", page.Rows[0].Values[0])

	for path, field := range map[string]string{
		"/ui/api/correlations?limit=0":    "limit",
		"/ui/api/correlations?limit=x":    "limit",
		"/ui/api/correlations?offset=-1":  "offset",
		"/ui/api/spans":                   "correlation",
		"/ui/api/spans?all=1&limit=0":     "limit",
		"/ui/api/stream?after=yesterday":  "after",
		"/ui/api/nope":                    "no such live view endpoint",
		"/ui/api/correlations?limit=9999": "limit",
	} {
		status := 400
		if field == "no such live view endpoint" {
			status = 404
		}
		e := getJSON[map[string]string](t, srv, path, status)
		assert.Contains(t, e["error"], field, path)
	}
}

func TestLiveSpans(t *testing.T) {
	st := loadFixture(failingTask("order-A1"), failingTask("order-B2"))
	_, srv := liveServer(t, st, nil)

	a := getJSON[spansAnswer](t, srv, "/ui/api/spans?correlation=task-order-A1", 200)
	assert.Equal(t, 9, a.Total)
	require.Len(t, a.Spans, 9)
	s, corrs, err := spanstore.DecodeSpanJSON(a.Spans[0])
	require.NoError(t, err)
	assert.Equal(t, "route_event", s.Name)
	assert.ElementsMatch(t, []string{"order-A1", "task-order-A1"}, corrs)
	assert.Equal(t, st.LastSeq(), a.Seq)

	a = getJSON[spansAnswer](t, srv, "/ui/api/spans?correlation=order-A1&limit=4", 200)
	assert.Equal(t, 9, a.Total, "total counts all")
	assert.Len(t, a.Spans, 4)

	a = getJSON[spansAnswer](t, srv, "/ui/api/spans?all=1&limit=5", 200)
	assert.Equal(t, 18, a.Total)
	require.Len(t, a.Spans, 5)
	last, _, err := spanstore.DecodeSpanJSON(a.Spans[4])
	require.NoError(t, err)
	assert.Equal(t, st.LastSeq(), last.Seq, "the latest spans")

	a = getJSON[spansAnswer](t, srv, "/ui/api/spans?correlation=nobody", 200)
	assert.Zero(t, a.Total)
	assert.NotNil(t, a.Spans)
}

func TestLiveStats(t *testing.T) {
	st := loadFixture(failingTask("order-A1"))
	stats := func() spanstore.Stats {
		s := st.Stats()
		s.Refused = map[string]uint64{"content type": 2}
		s.UnknownPaths = map[string]uint64{"/": 1}
		s.LastErrors = []string{"POST /v1/traces from 127.0.0.1:1: unsupported Content-Type"}
		return s
	}
	_, srv := liveServer(t, st, stats)
	type stj struct {
		Stored       int               `json:"stored"`
		Refused      map[string]uint64 `json:"refused"`
		UnknownPaths map[string]uint64 `json:"unknown_paths"`
		Senders      []struct {
			Sender   string    `json:"sender"`
			Spans    int       `json:"spans"`
			LastSeen time.Time `json:"last_seen"`
		} `json:"senders"`
		LastErrors []string `json:"last_errors"`
	}
	s := getJSON[stj](t, srv, "/ui/api/stats", 200)
	assert.Equal(t, 9, s.Stored)
	assert.Equal(t, map[string]uint64{"content type": 2}, s.Refused)
	assert.Equal(t, map[string]uint64{"/": 1}, s.UnknownPaths)
	require.Len(t, s.Senders, 3)
	assert.Equal(t, "10.4.0.13:39004", s.Senders[0].Sender, "the sender seen last comes first")
	assert.False(t, s.Senders[0].LastSeen.IsZero())
	assert.Len(t, s.LastErrors, 1)
}

func TestLiveToken(t *testing.T) {
	st := spanstore.New()
	_, srv := liveServer(t, st, nil, waterfall.WithToken("s3cret"))
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/", "", 401},
		{"/?token=wrong", "", 401},
		{"/ui/api/stats", "Bearer nope", 401},
		{"/?token=s3cret", "", 200},
		{"/ui/api/stats", "Bearer s3cret", 200},
		{"/ui/api/correlations?token=s3cret", "", 200},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%s %s: %s", tc.path, tc.auth, body)
		if tc.want == 401 {
			assert.Contains(t, string(body), "needs its token")
		}
	}
}

func TestLivePage(t *testing.T) {
	_, srv := liveServer(t, spanstore.New(), nil)
	resp, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(body), `<script type="application/json" id="tp-config">{"api":"/ui/api","token_required":false}</script>`)
	assert.Contains(t, string(body), "connect-src 'self'")
	assert.NotRegexp(t, `<script[^>]+src=`, string(body))
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ name, id, data string }

// openStream connects to the stream and returns its events as they come;
// cancel disconnects.
func openStream(t *testing.T, srv *httptest.Server, query string) (<-chan sseEvent, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/ui/api/stream?"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan sseEvent, 64)
	go func() {
		defer resp.Body.Close()
		defer close(events)
		r := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				events <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(cancel)
	return events, cancel
}

// next returns the next event named name, skipping others, within a
// deadline.
func next(t *testing.T, events <-chan sseEvent, name string) sseEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "the stream ended before a %q event", name)
			if ev.name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within 10s", name)
		}
	}
}

type batch struct {
	Seq          uint64            `json:"seq"`
	Correlations []corrRow         `json:"correlations"`
	Spans        []json.RawMessage `json:"spans"`
}

func spanNames(t *testing.T, raws []json.RawMessage) []string {
	var out []string
	for _, r := range raws {
		s, _, err := spanstore.DecodeSpanJSON(r)
		require.NoError(t, err)
		out = append(out, s.Name)
	}
	return out
}

func TestLiveStream(t *testing.T) {
	st := loadFixture(failingTask("order-A1"))
	ended := make(chan struct{}, 4)
	h, srv := liveServer(t, st, nil)
	waterfall.TuneLive(h, time.Hour, 0, func() { ended <- struct{}{} })

	events, disconnect := openStream(t, srv, "correlation="+url.QueryEscape("order-L1"))
	hello := next(t, events, "hello")
	assert.JSONEq(t, `{"seq":9}`, hello.data, "from now on, by default")
	next(t, events, "stats")
	assert.EqualValues(t, 1, waterfall.ActiveStreams(h))

	// The child arrives before the span that carries the correlation ID:
	// the batch with the root brings the whole trace.
	task := failingTask("order-L1")
	order := task[0].traces() // route_event + publish, one request
	st.Ingest(routeChildFirst(t, task[1]), spanstore.Origin{Sender: "10.4.0.12:51870"})
	b1 := next(t, events, "batch")
	var b batch
	require.NoError(t, json.Unmarshal([]byte(b1.data), &b))
	assert.Empty(t, b.Correlations, "a child alone correlates with nothing yet")
	assert.Empty(t, b.Spans)
	assert.Equal(t, "10", b1.id, "the id is the seq, for Last-Event-ID")

	st.Ingest(task[1].traces(), spanstore.Origin{Sender: "10.4.0.12:51870"}) // the whole payment trace
	b = batch{}
	require.NoError(t, json.Unmarshal([]byte(next(t, events, "batch").data), &b))
	require.Len(t, b.Correlations, 1)
	assert.Equal(t, []string{"order-L1", "task-order-L1"}, b.Correlations[0].Values)
	assert.ElementsMatch(t, []string{"send_json_message", "route_event", "publish_event", "send_json_message"}, spanNames(t, b.Spans),
		"the early child came with its trace (the page dedupes the repeat)")

	st.Ingest(order, spanstore.Origin{Sender: "10.4.0.11:43122"})
	b = batch{}
	require.NoError(t, json.Unmarshal([]byte(next(t, events, "batch").data), &b))
	assert.Equal(t, []string{"route_event", "publish"}, spanNames(t, b.Spans))
	assert.Equal(t, 6, b.Correlations[0].Spans)

	// Another task's spans update the list but send no spans.
	st.Ingest(failingTask("order-M2")[0].traces(), spanstore.Origin{Sender: "x"})
	b = batch{}
	require.NoError(t, json.Unmarshal([]byte(next(t, events, "batch").data), &b))
	assert.Equal(t, "order-M2", b.Correlations[0].Values[0])
	assert.Empty(t, b.Spans)

	disconnect()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream's handler did not return after the client went away")
	}
	assert.Zero(t, waterfall.ActiveStreams(h))
}

// routeChildFirst is one span of tr, a child, sent on its own.
func routeChildFirst(t *testing.T, tr fxTrace) ptrace.Traces {
	t.Helper()
	child := tr
	child.spans = tr.spans[len(tr.spans)-1:]
	require.NotEmpty(t, child.spans[0].parent)
	return child.traces()
}

func TestLiveStreamResumeAndAll(t *testing.T) {
	st := loadFixture(failingTask("order-A1"))
	h, srv := liveServer(t, st, nil)
	waterfall.TuneLive(h, time.Hour, 0, nil)

	// after=N replays what came after N: here the last 2 spans.
	events, _ := openStream(t, srv, "all=1&after=7")
	var b batch
	require.NoError(t, json.Unmarshal([]byte(next(t, events, "batch").data), &b))
	assert.Equal(t, []string{"route_event", "publish"}, spanNames(t, b.Spans))
	assert.EqualValues(t, 9, b.Seq)

	// A reconnecting EventSource sends Last-Event-ID, which wins.
	req, _ := http.NewRequest("GET", srv.URL+"/ui/api/stream?all=1&after=0", nil)
	req.Header.Set("Last-Event-ID", "8")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "data: {\"seq\":9,") {
			assert.Contains(t, line, `"name":"publish"`)
			assert.NotContains(t, line, `"name":"route_event"`)
			break
		}
	}
}

func TestLiveStreamStatsAndReset(t *testing.T) {
	st := loadFixture(failingTask("order-A1"))
	var refused atomic.Uint64
	stats := func() spanstore.Stats {
		s := st.Stats()
		s.Refused = map[string]uint64{}
		if n := refused.Load(); n > 0 {
			s.Refused["too large"] = n
		}
		return s
	}
	h, srv := liveServer(t, st, stats)
	waterfall.TuneLive(h, 5*time.Millisecond, 0, nil)
	events, _ := openStream(t, srv, "")
	first := next(t, events, "stats")
	assert.Contains(t, first.data, `"refused":{}`)

	// A refusal reaches no store hook: the stream notices it on its stats
	// check and pushes it.
	refused.Store(1)
	for {
		if ev := next(t, events, "stats"); strings.Contains(ev.data, `"refused":{"too large":1}`) {
			break
		}
	}
	st.Reset()
	next(t, events, "reset")
}

// TestLiveCloseEndsStreams: Close ends open streams, so that the server's
// Shutdown does not wait for pages that stay open.
func TestLiveCloseEndsStreams(t *testing.T) {
	st := spanstore.New()
	h, srv := liveServer(t, st, nil)
	ended := make(chan struct{}, 2)
	waterfall.TuneLive(h, time.Hour, 0, func() { ended <- struct{}{} })
	events, _ := openStream(t, srv, "")
	next(t, events, "hello")
	h.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the stream")
	}
	for range events { // drained, then closed: the response ended
	}
	assert.Zero(t, waterfall.ActiveStreams(h))
	e := getJSON[map[string]string](t, srv, "/ui/api/stream", http.StatusServiceUnavailable)
	assert.Contains(t, e["error"], "shutting down")
	h.Close() // twice is fine
	getJSON[corrPage](t, srv, "/ui/api/correlations", 200)
}
