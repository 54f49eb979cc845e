package jaeger

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// Defaults for the zero fields of a [Config].
const (
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between
	// polls: it starts at the minimum, doubles after every poll that found
	// nothing new, and drops back to the minimum when one did.
	DefaultMinBackoff = 50 * time.Millisecond
	DefaultMaxBackoff = time.Second
	// DefaultSettle is the ingestion delay assumed for a Jaeger the source
	// did not start: the time from Jaeger accepting a span to a search
	// finding it (the collector's batch processor flushes every 200ms; an
	// Elasticsearch or OpenSearch index refreshes every second).
	DefaultSettle = time.Second
	// DefaultClockSkew widens every search window on both ends, for
	// hosts whose clocks disagree with the test's.
	DefaultClockSkew = 5 * time.Second
	// DefaultSearchDepth is the number of traces one search asks for
	// (query.num_traces). A search that returns as many is split in two
	// halves of its time window until each returns fewer.
	DefaultSearchDepth = 1000
	// DefaultTimeout bounds one HTTP request.
	DefaultTimeout = 30 * time.Second
)

// minSplit is the narrowest time window a full search is split into; a
// window this narrow that still holds SearchDepth traces makes the poll
// incomplete.
const minSplit = time.Millisecond

// maxRequestsPerSearch bounds the requests one service's search may make in
// one poll, splitting included.
const maxRequestsPerSearch = 256

// Config says which Jaeger to read and how.
type Config struct {
	// URL is the base URL of Jaeger's query service, where /api/v3 lives:
	// "http://127.0.0.1:16686", or "https://jaeger.staging.example/jaeger"
	// behind a path prefix. Required.
	URL string
	// Services are the service.name values to search. Required: a Jaeger
	// search needs a service. A trace is found when any of its spans comes
	// from one of them, and is then fetched whole, spans of other services
	// included.
	Services []string
	// CorrelationKeys are the attribute keys whose values correlate a trace
	// with a test's task, looked up in span, span-event and resource
	// attributes as the in-process sink does. Empty means
	// spanstore.DefaultCorrelationKeys().
	CorrelationKeys []string
	// Since is the start of the search window: spans that started earlier
	// (less ClockSkew) are never fetched. Zero means the time New was
	// called: a test sees what its own run produced.
	Since time.Time
	// ClockSkew widens the search window on both ends (DefaultClockSkew).
	ClockSkew time.Duration
	// SearchDepth is the number of traces one search request asks for
	// (DefaultSearchDepth). It must not exceed what the backend allows
	// (the memory store's max_traces).
	SearchDepth int
	// Settle is how long after Jaeger accepts a span a search finds it
	// (DefaultSettle). The source cannot see a span sooner, so an absence
	// check is only as strong as Settle plus one poll: see [Source.Delay].
	Settle time.Duration
	// MinBackoff and MaxBackoff bound the wait between polls
	// (DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// Client makes the requests; nil means a client with DefaultTimeout.
	// Set it for TLS, a proxy or an authenticating transport.
	Client *http.Client
	// Header is added to every request (e.g. Authorization for a Jaeger
	// behind an authenticating proxy).
	Header http.Header
}

// withDefaults validates c and fills its zero fields.
func (c Config) withDefaults(now time.Time) (Config, error) {
	if c.URL == "" {
		return c, errors.New("jaeger: Config.URL is required (the query service's base URL, e.g. http://127.0.0.1:16686)")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("jaeger: Config.URL %q is not an http(s) URL with a host", c.URL)
	}
	c.URL = strings.TrimSuffix(c.URL, "/")
	c.Services = slices.DeleteFunc(slices.Clone(c.Services), func(s string) bool { return s == "" })
	if len(c.Services) == 0 {
		return c, errors.New("jaeger: Config.Services is required: a Jaeger search needs a service name (the service.name of the spans to find)")
	}
	if len(c.CorrelationKeys) == 0 {
		c.CorrelationKeys = spanstore.DefaultCorrelationKeys()
	}
	c.CorrelationKeys = slices.Clone(c.CorrelationKeys)
	if c.Since.IsZero() {
		c.Since = now
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.SearchDepth <= 0 {
		c.SearchDepth = DefaultSearchDepth
	}
	if c.Settle <= 0 {
		c.Settle = DefaultSettle
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		return c, fmt.Errorf("jaeger: MaxBackoff %s is below MinBackoff %s", c.MaxBackoff, c.MinBackoff)
	}
	if c.ClockSkew < 0 {
		return c, fmt.Errorf("jaeger: ClockSkew %s is negative", c.ClockSkew)
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: DefaultTimeout}
	}
	return c, nil
}
