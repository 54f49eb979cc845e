package jaeger_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/jaeger"
	"github.com/traceproof/traceproof/spanstore"
)

// source reads the test's Jaeger, searching services; Since is the test's
// start, as in a real suite.
func source(t *testing.T, cfg jaeger.Config) *jaeger.Source {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = jaegerURL
	}
	src, err := jaeger.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// healthy fails t when any poll of src failed or was incomplete: a check
// that passed then might have passed on less than Jaeger held.
func healthy(t *testing.T, src *jaeger.Source) {
	t.Helper()
	if err := src.Err(); err != nil {
		t.Error(err)
	}
}

func TestDomainEventsPublishedThroughJaeger(t *testing.T) {
	t.Parallel()
	src := source(t, jaeger.Config{Services: []string{"svc-domain"}})
	tp := assert.On(t, src)
	w := worker(t, "svc-domain", "worker-rust-1")
	// Emitted while the assertions already wait: they see the spans
	// through polls, not because they were there first.
	go func() {
		emit(w, "order-A", domainevent.Fast("order.validated"))
		emit(w, "order-A", domainevent.Durable("payment.processed"))
		emit(w, "order-B", domainevent.Durable("payment.failed")) // another task
	}()

	got := domainevent.On(tp).Published("order-A", domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"))
	if len(got) != 2 {
		t.Fatalf("published %d events, want 2", len(got))
	}
	// publish carries no correlation ID: it is found through its trace,
	// whose route_event holds the ID in a span event only.
	tp.Exactly(assert.Spans().Named("publish").Correlated("order-A"), 1)
	tp.Exactly(assert.Spans().Named("send_json_message").Correlated("order-A").ChildOf(assert.Spans().Named("publish_event")), 1)
	domainevent.On(tp).Published("order-B", domainevent.Durable("payment.failed"))
	domainevent.On(tp).NotPublished("order-A", "payment.failed", src.Delay())
	healthy(t, src)
}

func TestNeverOverACorrelationWithSpans(t *testing.T) {
	t.Parallel()
	src := source(t, jaeger.Config{Services: []string{"svc-never"}})
	tp := assert.On(t, src)
	emit(worker(t, "svc-never", "w1"), "order-N", domainevent.Fast("order.validated"))

	// The absence below is proven over a correlation that has spans.
	tp.Require().Exactly(assert.Spans().Correlated("order-N"), 2)
	tp.Never(assert.Spans().Correlated("order-N").Named("publish_event"), src.Delay())

	// And Never fails on a span that is there, saying how far an absence
	// through Jaeger is proven.
	err := assert.Check(src).Never(context.Background(), assert.Spans().Correlated("order-N").Named("publish"), src.Delay())
	if err == nil {
		t.Fatal("Never passed over a span Jaeger holds")
	}
	for _, want := range []string{"found 1", "polled; a span shows here up to " + src.Delay().String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("report lacks %q:\n%s", want, err)
		}
	}
	healthy(t, src)
}

// Jaeger answers a search with at most SearchDepth traces; a poll that got
// that many splits the window until every part holds fewer, so a count is
// of every trace, never of the first page.
func TestPagingFetchesEveryTracePastTheSearchDepth(t *testing.T) {
	t.Parallel()
	const n, depth = 25, 4
	src := source(t, jaeger.Config{Services: []string{"svc-paging"}, SearchDepth: depth})
	tr := worker(t, "svc-paging", "w1")
	now := time.Now()
	for i := range n {
		// Distinct start times, 20ms apart, each span its own trace.
		_, sp := tr.Start(context.Background(), "step", trace.WithTimestamp(now.Add(time.Duration(i)*20*time.Millisecond)),
			trace.WithAttributes(attribute.String("correlation_id", "paged"), attribute.Int("i", i)))
		sp.End(trace.WithTimestamp(now.Add(time.Duration(i)*20*time.Millisecond + time.Millisecond)))
	}
	spans := assert.On(t, src).Exactly(assert.Spans().Named("step").Correlated("paged"), n)
	seen := map[int64]bool{}
	for _, s := range spans {
		v, _ := s.Attributes.Get("i")
		seen[v.Int()] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct spans, want %d", len(seen), n)
	}
	h := src.Health()
	if h.Requests <= h.Polls {
		t.Errorf("%d requests in %d polls: the searches were never split", h.Requests, h.Polls)
	}
	healthy(t, src)
}

// Traces that Jaeger cannot tell apart by start time cannot be paged
// through: the source says its answer is incomplete instead of passing a
// count on part of it.
func TestAnIncompleteSearchIsReportedNotPassedOff(t *testing.T) {
	t.Parallel()
	const depth = 2
	src := source(t, jaeger.Config{Services: []string{"svc-capped"}, SearchDepth: depth})
	tr := worker(t, "svc-capped", "w1")
	start := time.Now()
	for range 5 {
		_, sp := tr.Start(context.Background(), "same-instant", trace.WithTimestamp(start),
			trace.WithAttributes(attribute.String("correlation_id", "capped")))
		sp.End(trace.WithTimestamp(start.Add(time.Millisecond)))
	}
	_, err := assert.Check(src, assert.WithTimeout(2*time.Second)).Exactly(context.Background(), assert.Spans().Correlated("capped"), 5)
	if err == nil {
		t.Fatal("Exactly found all 5 traces through a search capped at 2")
	}
	if !strings.Contains(err.Error(), "incomplete: service \"svc-capped\" has at least 2 traces") {
		t.Errorf("the report does not say the search was incomplete:\n%s", err)
	}
	if h := src.Health(); h.Incomplete == 0 {
		t.Errorf("health = %+v, want incomplete polls", h)
	}
	if err := src.Err(); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("Err() = %v, want the incomplete search", err)
	}
}

// An extra span that reaches Jaeger after the expected one, within the
// settle window, fails Exactly: the window covers Jaeger's ingestion delay
// and the poll interval.
func TestSettleWindowCatchesAnExtraStillInFlight(t *testing.T) {
	t.Parallel()
	// Settle is the ingestion delay the source assumes. 1s covers this
	// Jaeger's 200ms batching on a quiet machine; 3s leaves room for a
	// loaded CI machine without changing what is proven.
	src := source(t, jaeger.Config{Services: []string{"svc-settle"}, Settle: 3 * time.Second})
	tr := worker(t, "svc-settle", "w1")
	step := func() {
		_, sp := tr.Start(context.Background(), "charge", trace.WithAttributes(attribute.String("correlation_id", "settle")))
		sp.End()
	}
	q := assert.Spans().Named("charge").Correlated("settle")
	step()
	assert.On(t, src).Require().Eventually(q, 1)
	step() // the duplicate, exported once the first is visible
	_, err := assert.Check(src).Exactly(context.Background(), q, 1)
	if err == nil || !strings.Contains(err.Error(), "1 too many") {
		t.Errorf("Exactly = %v, want a failure for the extra", err)
	}
	healthy(t, src)
}

func TestATraceAskedForByIDIsFetchedWhateverItsService(t *testing.T) {
	t.Parallel()
	src := source(t, jaeger.Config{Services: []string{"svc-searched"}})
	sc := emit(worker(t, "svc-elsewhere", "w1"), "order-T", domainevent.Durable("payment.processed"))
	id := spanstore.TraceID(sc.TraceID())
	spans := assert.On(t, src).Exactly(assert.Spans().InTrace(id), 3)
	for _, s := range spans {
		if s.Service() != "svc-elsewhere" {
			t.Errorf("span %s of service %q", s.Name, s.Service())
		}
	}
	healthy(t, src)
}

func TestHTTPErrorsAreSurfacedNeverZeroSpans(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, c := range []struct{ name, url, want string }{
		{"nothing listening", closed, "connection refused"},
		{"not the query service's base URL", jaegerURL + "/api/v3", "is Config.URL the base URL of Jaeger's query service"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := source(t, jaeger.Config{URL: c.url, Services: []string{"svc-domain"}})
			_, err := assert.Check(src, assert.WithTimeout(300*time.Millisecond)).Eventually(context.Background(), assert.Spans().Correlated("x"), 1)
			if err == nil {
				t.Fatal("Eventually passed")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("report lacks %q:\n%s", c.want, err)
			}
			if h := src.Health(); h.Failed == 0 {
				t.Errorf("health = %+v, want failed polls", h)
			}
			if src.Err() == nil {
				t.Error("Err() = nil after failed polls")
			}
		})
	}
}

func TestAServiceJaegerDoesNotKnowIsNamed(t *testing.T) {
	t.Parallel()
	src := source(t, jaeger.Config{Services: []string{"no-such-service"}})
	if spans := src.Spans(spanstore.Filter{}); len(spans) != 0 {
		t.Fatalf("%d spans of a service nobody exports", len(spans))
	}
	errs := strings.Join(src.Stats().LastErrors, "\n")
	if !strings.Contains(errs, `note: Jaeger has no span of service "no-such-service" at all`) {
		t.Errorf("LastErrors = %q", errs)
	}
	healthy(t, src) // a note, not a failed poll
}

func TestConfigIsValidated(t *testing.T) {
	for _, c := range []struct {
		cfg  jaeger.Config
		want string
	}{
		{jaeger.Config{Services: []string{"a"}}, "Config.URL is required"},
		{jaeger.Config{URL: "127.0.0.1:16686", Services: []string{"a"}}, "not an http(s) URL"},
		{jaeger.Config{URL: "http://127.0.0.1:16686"}, "Config.Services is required"},
		{jaeger.Config{URL: "http://127.0.0.1:16686", Services: []string{"a"}, MinBackoff: time.Second, MaxBackoff: time.Millisecond}, "below MinBackoff"},
	} {
		_, err := jaeger.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}
