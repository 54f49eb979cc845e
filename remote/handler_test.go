package remote_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/spanstore"
)

func TestSpansAnswersTheQueryInArrivalOrder(t *testing.T) {
	s := startServer(t, "")
	asserttest.ReferenceWorkflow(s.st, "order-A1")
	asserttest.ReferenceWorkflow(s.st, "order-B2")

	// The JSON form and the text form ask the same.
	for _, body := range []string{
		`{"query": {"name": "publish", "correlation": "order-A1"}}`,
		`{"query": "{ name = \"publish\" && correlation = \"order-A1\" }"}`,
	} {
		m := s.do("POST", "/api/v1/spans", body).json(t)
		if got := spanNames(t, m); !slices.Equal(got, []string{"publish", "publish", "publish"}) {
			t.Errorf("%s: spans %v, want the 3 fast publishes of order-A1", body, got)
		}
		if m["total"] != 3.0 {
			t.Errorf("%s: total %v, want 3", body, m["total"])
		}
		// publish carries the correlation only through its trace: the span
		// says which correlations its trace has.
		for _, sp := range m["spans"].([]any) {
			corrs := sp.(map[string]any)["correlations"].([]any)
			if !slices.Contains(corrs, any("order-A1")) {
				t.Errorf("span %v: correlations %v lack order-A1", sp.(map[string]any)["span_id"], corrs)
			}
		}
	}

	// limit caps the spans, not total; after pages on.
	a := s.do("POST", "/api/v1/spans", `{"query": {"correlation": "order-A1"}, "limit": 4}`)
	m := a.json(t)
	if a.status != http.StatusOK || len(m["spans"].([]any)) != 4 || m["total"] != 9.0 {
		t.Fatalf("limit 4: %d %d spans, total %v; want 4 of 9:\n%s", a.status, len(m["spans"].([]any)), m["total"], a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	spans := m["spans"].([]any)
	last := spans[3].(map[string]any)["seq"].(float64)
	m2 := s.do("POST", "/api/v1/spans", fmt.Sprintf(`{"query": {"correlation": "order-A1"}, "after": %d}`, int(last))).json(t)
	if n := len(m2["spans"].([]any)); n != 5 || m2["total"] != 5.0 {
		t.Errorf("after %v: %d spans, total %v; want the other 5", last, n, m2["total"])
	}
	for i, sp := range append(spans, m2["spans"].([]any)...) {
		if i > 0 && sp.(map[string]any)["seq"].(float64) <= spans[0].(map[string]any)["seq"].(float64) && i != 0 {
			t.Errorf("span %d is out of arrival order", i)
		}
	}

	// An empty body is the empty query: every span.
	if m := s.do("POST", "/api/v1/spans", "").json(t); m["total"] != float64(s.st.Len()) {
		t.Errorf("empty body: total %v, want all %d", m["total"], s.st.Len())
	}
}

// Every span field of DESIGN.md arrives, typed; a root's parent_span_id is "".
func TestSpansJSONForm(t *testing.T) {
	s := startServer(t, "")
	asserttest.Durable(s.st, "worker-rust-2", "order-A1", "payment.processed", 0, true)
	m := s.do("POST", "/api/v1/spans", `{"query": {"name": "route_event"}}`).json(t)
	sp := m["spans"].([]any)[0].(map[string]any)
	for _, k := range []string{"trace_id", "span_id", "parent_span_id", "name", "kind", "start", "end", "status",
		"attributes", "events", "resource", "scope", "service", "instance", "sender", "received", "correlations"} {
		if _, ok := sp[k]; !ok {
			t.Errorf("span JSON lacks %q: %v", k, sp)
		}
	}
	if sp["parent_span_id"] != "" || sp["instance"] != "worker-rust-2" || sp["service"] != "tasker-core" {
		t.Errorf("parent_span_id %q, instance %v, service %v", sp["parent_span_id"], sp["instance"], sp["service"])
	}
	if _, err := time.Parse(time.RFC3339Nano, sp["start"].(string)); err != nil {
		t.Errorf("start %q: %v", sp["start"], err)
	}
	if got := sp["attributes"].(map[string]any)["delivery_mode"]; got != "Durable" {
		t.Errorf("delivery_mode %v", got)
	}
}

func TestBadRequestsSayWhatAndWhere(t *testing.T) {
	s := startServer(t, "")
	for _, c := range []struct {
		path, body string
		field      string
		column     int
		msg        string
	}{
		{"/api/v1/spans", `{"query": {"attrs": [{"key": "event_name", "op": "~", "value": "x"}]}}`, "query.attrs[0].op", 0, `unknown operator "~"`},
		{"/api/v1/spans", `{"query": "{ name = \"a\" || name = \"b\" }"}`, "query", 14, "|| is not supported"},
		{"/api/v1/spans", `{"query": {"child": "{ kind = sever }"}}`, "query.child.kind", 10, `unknown kind "sever"`},
		{"/api/v1/spans", `{"query": {"name_regex": "(("}}`, "query.name_regex", 0, "missing closing )"},
		{"/api/v1/spans", `{"query": {"name_regex": "` + strings.Repeat("a", 1025) + `"}}`, "query.name_regex", 0, "at most 1024"},
		{"/api/v1/spans", `{"qeury": {}}`, "qeury", 0, "not a field of POST /api/v1/spans; it takes query, limit and after"},
		{"/api/v1/spans", `{"limit": 0}`, "limit", 0, "out of range; want 1 to 10000"},
		{"/api/v1/spans", `{"limit": "ten"}`, "limit", 0, "want an integer, got a string"},
		{"/api/v1/spans", `{"limit": 2.5}`, "limit", 0, "want an integer, got 2.5"},
		{"/api/v1/spans", `{"limit": 1, "limit": 2}`, "limit", 0, "given twice"},
		{"/api/v1/spans", `[1]`, "", 0, "must be a JSON object"},
		{"/api/v1/spans", `{"query": `, "", 0, "invalid JSON"},
		{"/api/v1/wait", `{"count": 0}`, "count", 0, "want 1 to 10000"},
		{"/api/v1/wait", `{"count": 100000}`, "count", 0, "want 1 to 10000"},
		{"/api/v1/wait", `{"timeout": "10m"}`, "timeout", 0, "longer than the server allows (5m0s)"},
		{"/api/v1/wait", `{"timeout": "10"}`, "timeout", 0, `"10" is not a duration`},
		{"/api/v1/wait", `{"timeout": "-1s"}`, "timeout", 0, "want a positive duration"},
		{"/api/v1/check", `{}`, "check", 0, "required: one of eventually"},
		{"/api/v1/check", `{"check": "publishd"}`, "check", 0, `unknown check "publishd"`},
		{"/api/v1/check", `{"check": "exactly", "query": {}}`, "count", 0, "required by check exactly"},
		{"/api/v1/check", `{"check": "never", "query": {}}`, "window", 0, "required by check never"},
		{"/api/v1/check", `{"check": "eventually", "window": "1s"}`, "window", 0, "not a field of check eventually; it takes check, query, count and timeout"},
		{"/api/v1/check", `{"check": "once_per", "query": {}}`, "key", 0, "required by check once_per"},
		{"/api/v1/check", `{"check": "in_order", "queries": [{}]}`, "queries", 0, "an order needs at least 2"},
		{"/api/v1/check", `{"check": "in_order", "queries": [{}, "{ kind = x }"]}`, "queries[1].kind", 10, `unknown kind "x"`},
		{"/api/v1/check", `{"check": "published", "events": []}`, "correlation", 0, "required by check published"},
		{"/api/v1/check", `{"check": "published", "correlation": "c"}`, "events", 0, "required by check published"},
		{"/api/v1/check", `{"check": "published", "correlation": "c", "events": [{"name": "a", "delivery": "slow"}]}`, "events[0].delivery", 0, `unknown delivery "slow"`},
		{"/api/v1/check", `{"check": "published", "correlation": "c", "events": ["a", {"name": "a"}]}`, "events[1].name", 0, `"a" is listed twice`},
		{"/api/v1/check", `{"check": "published", "correlation": "c", "events": [{"delivery": "fast"}]}`, "events[0].name", 0, "required"},
		{"/api/v1/check", `{"check": "not_published", "correlation": "c", "events": [{"name": "a", "delivery": "fast"}], "window": "1s"}`, "events[0].delivery", 0, "names only"},
		{"/api/v1/check", `{"check": "not_published", "correlation": "c", "events": [], "window": "1s"}`, "events", 0, "at least one event"},
		{"/api/v1/changes", `{"trace_id": "xyz"}`, "trace_id", 0, "want 32 hex digits"},
	} {
		a := s.do("POST", c.path, c.body)
		if a.status != http.StatusBadRequest {
			t.Errorf("%s %s: status %d, want 400:\n%s", c.path, c.body, a.status, a.body)
			continue
		}
		m := a.json(t)
		msg, _ := m["error"].(string)
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%s %s: error %q, want it to say %q", c.path, c.body, msg, c.msg)
		}
		if f, _ := m["field"].(string); f != c.field {
			t.Errorf("%s %s: field %q, want %q (%s)", c.path, c.body, f, c.field, msg)
		}
		if col, _ := m["column"].(float64); int(col) != c.column {
			t.Errorf("%s %s: column %v, want %d (%s)", c.path, c.body, m["column"], c.column, msg)
		}
		if c.field != "" && !strings.HasPrefix(msg, c.field+": ") {
			t.Errorf("%s %s: error %q does not start with the field", c.path, c.body, msg)
		}
	}

	// The stream's query is a URL parameter, named as such.
	a := s.do("GET", "/api/v1/stream?q="+urlQuery(`{ name = "a" && kind = bogus }`), "")
	m := a.json(t)
	if a.status != http.StatusBadRequest || m["field"] != "q.kind" || m["column"] != 24.0 {
		t.Errorf("stream with a bad q: %d %s", a.status, a.body)
	}
	if a := s.do("GET", "/api/v1/stream?query=x", ""); a.status != http.StatusBadRequest || a.json(t)["field"] != "query" {
		t.Errorf("stream with an unknown parameter: %d %s", a.status, a.body)
	}

	// Bad bodies, methods and paths.
	if a := s.doWith(t.Context(), "POST", "/api/v1/spans", `{}`, "application/x-www-form-urlencoded", ""); a.status != http.StatusUnsupportedMediaType ||
		!strings.Contains(a.json(t)["error"].(string), "send application/json") {
		t.Errorf("form body: %d %s", a.status, a.body)
	}
	if a := s.do("POST", "/api/v1/spans", `{"query": "`+strings.Repeat(" ", 1<<20)+`"}`); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d %s", a.status, a.body)
	}
	if a := s.do("GET", "/api/v1/wait", ""); a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "POST" {
		t.Errorf("GET /wait: %d Allow %q %s", a.status, a.header.Get("Allow"), a.body)
	}
	if a := s.do("POST", "/api/v1/stats", ""); a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "GET" {
		t.Errorf("POST /stats: %d Allow %q %s", a.status, a.header.Get("Allow"), a.body)
	}
	if a := s.do("GET", "/api/v1/spanz", ""); a.status != http.StatusNotFound || !strings.Contains(a.json(t)["error"].(string), "POST /api/v1/spans") {
		t.Errorf("unknown path: %d %s", a.status, a.body)
	}

	// None of it hurt the sink: it still serves, and counted nothing as refused.
	asserttest.Fast(s.st, "worker-rust-1", "order-A1", "order.validated", 0)
	if m := s.do("POST", "/api/v1/spans", `{"query": {"correlation": "order-A1"}}`).json(t); m["total"] != 2.0 {
		t.Errorf("after the bad requests: %v", m)
	}
	if st := s.sink.Stats(); st.RefusedTotal() != 0 || st.DecodeErrors != 0 {
		t.Errorf("the API's bad requests leaked into the sink's counts: %+v", st.Refused)
	}
}

func TestTokenIsRequired(t *testing.T) {
	s := startServer(t, "s3cret")
	asserttest.Fast(s.st, "worker-rust-1", "order-A1", "order.validated", 0)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/spans", `{}`}, {"POST", "/api/v1/wait", `{"timeout": "1ms"}`}, {"POST", "/api/v1/check", `{}`},
		{"GET", "/api/v1/stats", ""}, {"POST", "/api/v1/reset", ""}, {"GET", "/api/v1/stream", ""}, {"POST", "/api/v1/changes", `{}`},
		{"GET", "/api/v1/nowhere", ""},
	} {
		for _, tok := range []string{"", "wrong", "s3cret2"} {
			a := s.doWith(t.Context(), c.method, c.path, c.body, "application/json", tok)
			if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with token %q: %d %s", c.method, c.path, tok, a.status, a.body)
			}
		}
	}
	if s.st.Len() != 2 {
		t.Fatalf("an unauthorized reset emptied the store: %d spans", s.st.Len())
	}
	if a := s.do("GET", "/api/v1/stats", ""); a.status != http.StatusOK {
		t.Errorf("with the token: %d %s", a.status, a.body)
	}
	// ?token= is for the stream only (EventSource cannot send headers).
	if a := s.doWith(t.Context(), "GET", "/api/v1/stats?token=s3cret", "", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("stats with ?token=: %d", a.status)
	}
	if a := s.doWith(t.Context(), "GET", "/api/v1/stream?token=wrong", "", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("stream with a wrong ?token=: %d", a.status)
	}
}

func TestStatsAndReset(t *testing.T) {
	s := startServer(t, "")
	asserttest.ReferenceWorkflow(s.st, "order-A1")
	m := s.do("GET", "/api/v1/stats", "").json(t)
	if m["stored"] != 9.0 || m["spans"] != 9.0 {
		t.Errorf("stats %v", m)
	}
	if keys := m["correlation_keys"].([]any); !slices.Equal(keys, []any{"correlation_id", "task_uuid"}) {
		t.Errorf("correlation_keys %v", keys)
	}
	in := m["instances"].([]any)[0].(map[string]any)
	if _, err := time.ParseDuration(in["max_gap"].(string)); err != nil || in["service"] != "tasker-core" {
		t.Errorf("instance %v", in)
	}
	if a := s.do("POST", "/api/v1/reset", ""); a.status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", a.status, a.body)
	}
	if s.st.Len() != 0 {
		t.Fatalf("reset left %d spans", s.st.Len())
	}
	if m := s.do("POST", "/api/v1/spans", `{"query": {"correlation": "order-A1"}}`).json(t); m["total"] != 0.0 {
		t.Errorf("after reset: %v", m)
	}
	// The counters are the receiver's history and stay.
	if m := s.do("GET", "/api/v1/stats", "").json(t); m["stored"] != 0.0 || m["spans"] != 9.0 {
		t.Errorf("stats after reset: %v", m)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "\"", "%22", "=", "%3D", "{", "%7B", "}", "%7D", "|", "%7C", ">", "%3E").Replace(s)
}

var _ = spanstore.Span{}
