package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// The api_v3 HTTP endpoints and parameters this source uses. Jaeger v1.76.0
// names them as below; later releases add camelCase names and keep these as
// deprecated aliases. query.num_traces is v1.76.0's name for the search
// depth, query.search_depth a later one's: both are sent, with one value.
const (
	pathTraces   = "/api/v3/traces"
	pathServices = "/api/v3/services"

	paramService     = "query.service_name"
	paramTimeMin     = "query.start_time_min"
	paramTimeMax     = "query.start_time_max"
	paramNumTraces   = "query.num_traces"
	paramSearchDepth = "query.search_depth"
	paramQueryRaw    = "query.raw_traces"
	paramRaw         = "raw_traces"
)

const urlHint = " (is Config.URL the base URL of Jaeger's query service, where /api/v3 lives?)"

// maxBody bounds one response; a larger one is an error, never a truncated
// answer.
const maxBody = 1 << 30

// gatewayError is the body of an api_v3 error response.
type gatewayError struct {
	Error *struct {
		HTTPCode int    `json:"httpCode"`
		Message  string `json:"message"`
	} `json:"error"`
}

// errNotFound is Jaeger's "No traces found": a 404 with its own error body,
// which the source reads as an empty answer. A 404 without that body (a
// wrong URL) stays an error.
var errNotFound = errors.New("not found")

// get fetches path with query q and returns the body of a 200 answer.
func (s *Source) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := s.cfg.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range s.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", u, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: answer over %d bytes; narrow the search (Since, SearchDepth)", u, maxBody)
	}
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "html") {
			// Jaeger's UI answers unknown paths with its index page.
			return nil, fmt.Errorf("GET %s: answered %s, not JSON%s", u, ct, urlHint)
		}
		return body, nil
	}
	var ge gatewayError
	if json.Unmarshal(bytes.TrimSpace(body), &ge) == nil && ge.Error != nil {
		if resp.StatusCode == http.StatusNotFound && ge.Error.HTTPCode == http.StatusNotFound {
			return nil, errNotFound
		}
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, ge.Error.Message)
	}
	hint := ""
	if resp.StatusCode == http.StatusNotFound {
		hint = urlHint
	}
	return nil, fmt.Errorf("GET %s: %s%s: %s", u, resp.Status, hint, snippet(body))
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// decodeTraces reads an api_v3 trace answer, {"result": TracesData}, with
// pdata's OTLP/JSON decoder.
func decodeTraces(body []byte) (ptrace.Traces, error) {
	var wrapper struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &wrapper); err != nil {
		return ptrace.Traces{}, fmt.Errorf("decoding the answer: %w", err)
	}
	if len(wrapper.Result) == 0 {
		return ptrace.Traces{}, fmt.Errorf("decoding the answer: no \"result\" field in %s", snippet(body))
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(wrapper.Result)
	if err != nil {
		return ptrace.Traces{}, fmt.Errorf("decoding the answer's OTLP/JSON: %w", err)
	}
	return td, nil
}

// find searches one service's traces with a span that started in w, and
// returns them whole, as stored (raw: no clock-skew or other adjustment by
// the query service).
func (s *Source) find(ctx context.Context, service string, w window) (ptrace.Traces, error) {
	depth := strconv.Itoa(s.cfg.SearchDepth)
	q := url.Values{
		paramService:     {service},
		paramTimeMin:     {w.lo.UTC().Format(time.RFC3339Nano)},
		paramTimeMax:     {w.hi.UTC().Format(time.RFC3339Nano)},
		paramNumTraces:   {depth},
		paramSearchDepth: {depth},
		paramQueryRaw:    {"true"},
	}
	body, err := s.get(ctx, pathTraces, q)
	if errors.Is(err, errNotFound) {
		return ptrace.NewTraces(), nil
	}
	if err != nil {
		return ptrace.Traces{}, err
	}
	td, err := decodeTraces(body)
	if err != nil {
		return td, fmt.Errorf("searching service %q from %s: %w", service, w, err)
	}
	return td, nil
}

// getTrace fetches one trace whole; found is false while Jaeger has none of
// its spans.
func (s *Source) getTrace(ctx context.Context, id spanstore.TraceID) (td ptrace.Traces, found bool, err error) {
	body, err := s.get(ctx, pathTraces+"/"+id.String(), url.Values{paramRaw: {"true"}})
	if errors.Is(err, errNotFound) {
		return ptrace.NewTraces(), false, nil
	}
	if err != nil {
		return td, false, err
	}
	td, err = decodeTraces(body)
	if err != nil {
		return td, false, fmt.Errorf("trace %s: %w", id, err)
	}
	return td, true, nil
}

// services lists the service names Jaeger has seen.
func (s *Source) services(ctx context.Context) ([]string, error) {
	body, err := s.get(ctx, pathServices, nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Services []string `json:"services"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("GET %s: decoding the answer: %w", pathServices, err)
	}
	return r.Services, nil
}

// countTraces counts the distinct trace IDs in td.
func countTraces(td ptrace.Traces) int {
	seen := map[[16]byte]struct{}{}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				seen[spans.At(k).TraceID()] = struct{}{}
			}
		}
	}
	return len(seen)
}
