package remote_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

type checkAnswer struct {
	OK     bool   `json:"ok"`
	Report string `json:"report"`
}

// checkCase is one check, run over HTTP and, at the same moment in the
// same bubble, through the Go API, whose report the answer must repeat.
type checkCase struct {
	name   string
	spans  func(st *spanstore.Store)
	body   string
	goCall func(ctx context.Context, st *spanstore.Store) error
	ok     bool
	// took is how long the check takes (synctest time): the settle
	// window, the window of an absence check, or the timeout.
	took time.Duration
	// says are parts of the report.
	says []string
	// keys, when set, are the store's correlation keys.
	keys []string
}

var (
	settle = 300 * time.Millisecond
	opts   = []assert.Option{assert.WithTimeout(2 * time.Second), assert.WithSettle(settle)}
)

func de(st *spanstore.Store, o ...assert.Option) *domainevent.Checker {
	return domainevent.Check(assert.Check(st, append(opts, o...)...))
}

var checkCases = []checkCase{
	{
		name:  "published",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body: `{"check": "published", "correlation": "order-A1", "timeout": "2s", "events": [
			{"name": "order.validated", "delivery": "fast"}, {"name": "payment.processed", "delivery": "DURABLE"},
			{"name": "inventory.updated", "delivery": "Fast"}, "notification.sent"]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			_, err := de(st).Published(ctx, "order-A1", domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"),
				domainevent.Fast("inventory.updated"), domainevent.Event{Name: "notification.sent"})
			return err
		},
		ok: true, took: settle,
	},
	{
		name: "published, a durable event unconfirmed",
		spans: func(st *spanstore.Store) {
			asserttest.Fast(st, "worker-rust-1", "order-A1", "order.validated", 0)
			time.Sleep(time.Millisecond)
			asserttest.Durable(st, "worker-rust-2", "order-A1", "payment.processed", time.Millisecond, false)
		},
		body: `{"check": "published", "correlation": "order-A1", "timeout": "2s",
			"events": [{"name": "order.validated", "delivery": "fast"}, {"name": "payment.processed", "delivery": "durable"}]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			_, err := de(st).Published(ctx, "order-A1", domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"))
			return err
		},
		took: 2*time.Second + settle,
		says: []string{`correlation "order-A1" to publish exactly these domain events, once each`, "payment.processed", "send_json_message"},
	},
	{
		name:  "published, the wrong delivery mode",
		spans: func(st *spanstore.Store) { asserttest.Fast(st, "worker-rust-1", "order-A1", "order.validated", 0) },
		body:  `{"check": "published", "correlation": "order-A1", "timeout": "2s", "events": [{"name": "order.validated", "delivery": "durable"}]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			_, err := de(st).Published(ctx, "order-A1", domainevent.Durable("order.validated"))
			return err
		},
		took: settle, says: []string{"Fast"},
	},
	{
		name:  "includes",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "includes", "correlation": "order-A1", "timeout": "2s", "events": [{"name": "payment.processed", "delivery": "durable"}]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			_, err := de(st).Includes(ctx, "order-A1", domainevent.Durable("payment.processed"))
			return err
		},
		ok: true,
	},
	{
		name:  "not_published",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "not_published", "correlation": "order-A1", "window": "1s", "events": ["payment.failed"]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			return de(st).NotPublished(ctx, "order-A1", "payment.failed", time.Second)
		},
		ok: true, took: time.Second,
	},
	{
		name:  "not_published, but it was",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "not_published", "correlation": "order-A1", "window": "1s", "events": ["payment.processed"]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			return de(st).NotPublished(ctx, "order-A1", "payment.processed", time.Second)
		},
		says: []string{`correlation "order-A1" not to publish "payment.processed" within 1s`},
	},
	{
		name:  "not_published over a correlation with no span proves nothing",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "not_published", "correlation": "order-A2", "window": "1s", "events": ["payment.failed"]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			return de(st).NotPublished(ctx, "order-A2", "payment.failed", time.Second)
		},
		took: time.Second, says: []string{`not proven: correlation "order-A2" had no span at all`, `did you mean correlation "order-A1"?`},
		// One key, so that the correlations that did arrive list in one
		// order (a span bringing two values brings them at once).
		keys: []string{"correlation_id"},
	},
	{
		name:  "not_published, allow_empty",
		spans: func(st *spanstore.Store) {},
		body:  `{"check": "not_published", "correlation": "order-A2", "window": "1s", "events": ["payment.failed"], "allow_empty": true}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			return de(st, assert.WithAllowEmpty()).NotPublished(ctx, "order-A2", "payment.failed", time.Second)
		},
		ok: true, took: time.Second,
	},
	{
		name:  "exactly",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "exactly", "query": "{ name = \"route_event\" && correlation = \"order-A1\" }", "count": 3, "timeout": "2s"}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			_, err := assert.Check(st, opts...).Exactly(ctx, assert.Spans().Named("route_event").Correlated("order-A1"), 3)
			return err
		},
		took: settle, says: []string{"found 4, 1 too many", "extra: route_event"},
	},
	{
		name:  "eventually",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "eventually", "query": {"name": "publish", "correlation": "order-A1"}, "count": 4, "timeout": "2s"}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			_, err := assert.Check(st, opts...).Eventually(ctx, assert.Spans().Named("publish").Correlated("order-A1"), 4)
			return err
		},
		took: 2 * time.Second, says: []string{"found 3 after 2s"},
	},
	{
		name:  "never",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "never", "query": {"status": "error", "correlation": "order-A1"}, "window": "500ms"}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			return assert.Check(st, opts...).Never(ctx, assert.Spans().Status(spanstore.StatusError).Correlated("order-A1"), 500*time.Millisecond)
		},
		ok: true, took: 500 * time.Millisecond,
	},
	{
		name:  "once_per",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body:  `{"check": "once_per", "query": {"name": "route_event", "correlation": "order-A1"}, "key": "event_name", "values": ["order.validated", "payment.processed", "refund.issued"], "timeout": "2s"}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			_, err := assert.Check(st, opts...).OncePer(ctx, assert.Spans().Named("route_event").Correlated("order-A1"), "event_name",
				"order.validated", "payment.processed", "refund.issued")
			return err
		},
		took: 2*time.Second + settle, says: []string{`event_name "refund.issued" never occurred`},
	},
	{
		name:  "in_order",
		spans: func(st *spanstore.Store) { workflow(st, "order-A1") },
		body: `{"check": "in_order", "timeout": "2s", "queries": [
			"{ name = \"route_event\" && correlation = \"order-A1\" && span.event_name = \"payment.processed\" }",
			{"name": "route_event", "correlation": "order-A1", "attrs": [{"key": "event_name", "value": "order.validated", "scope": "span"}]}]}`,
		goCall: func(ctx context.Context, st *spanstore.Store) error {
			q := assert.Spans().Named("route_event").Correlated("order-A1")
			_, err := assert.Check(st, opts...).InOrder(ctx, q.AttrIn(assert.InSpan, "event_name", "payment.processed"), q.AttrIn(assert.InSpan, "event_name", "order.validated"))
			return err
		},
		says: []string{"out of order: 2 started 100ms before 1"},
	},
}

// workflow is asserttest.ReferenceWorkflow one (synctest) millisecond
// apart, so that the senders have distinct last-seen times and print in
// one order.
func workflow(st *spanstore.Store, corr string) {
	asserttest.Fast(st, "worker-rust-1", corr, "order.validated", 0)
	time.Sleep(time.Millisecond)
	asserttest.Durable(st, "worker-rust-2", corr, "payment.processed", 100*time.Millisecond, true)
	time.Sleep(time.Millisecond)
	asserttest.Fast(st, "worker-rust-1", corr, "inventory.updated", 200*time.Millisecond)
	time.Sleep(time.Millisecond)
	asserttest.Fast(st, "worker-rust-2", corr, "notification.sent", 300*time.Millisecond)
}

func TestCheckRunsTheGoChecks(t *testing.T) {
	for _, c := range checkCases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sopts []spanstore.Option
				if c.keys != nil {
					sopts = append(sopts, spanstore.WithCorrelationKeys(c.keys...))
				}
				st := spanstore.New(sopts...)
				h := remote.NewHandler(st, nil)
				defer h.Close()
				c.spans(st)
				start := time.Now()
				goDone := make(chan error, 1)
				go func() { goDone <- c.goCall(context.Background(), st) }()
				rec, done := serve(t.Context(), h, "POST", "/api/v1/check", c.body)
				<-done
				took := time.Since(start)
				goErr := <-goDone
				if rec.Status() != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Status(), rec)
				}
				var a checkAnswer
				if err := json.Unmarshal([]byte(rec.String()), &a); err != nil {
					t.Fatal(err)
				}
				if a.OK != c.ok || (goErr == nil) != c.ok {
					t.Fatalf("ok %v (Go: %v), want %v:\n%s", a.OK, goErr, c.ok, a.Report)
				}
				if took != c.took {
					t.Errorf("took %s, want %s", took, c.took)
				}
				if !c.ok && a.Report != goErr.Error() {
					t.Errorf("report differs from Go's:\n--- remote\n%s\n--- Go\n%v", a.Report, goErr)
				}
				if c.ok && a.Report != "" {
					t.Errorf("a pass with a report: %s", a.Report)
				}
				for _, want := range c.says {
					if !strings.Contains(a.Report, want) {
						t.Errorf("report lacks %q:\n%s", want, a.Report)
					}
				}
			})
		})
	}
}

// A published check waits for the events, woken as they arrive.
func TestCheckPublishedWaitsForTheEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		start := time.Now()
		rec, done := serve(t.Context(), h, "POST", "/api/v1/check",
			`{"check": "published", "correlation": "order-A1", "events": [{"name": "order.validated", "delivery": "fast"}, {"name": "payment.processed", "delivery": "durable"}]}`)
		synctest.Wait()
		time.Sleep(time.Second)
		asserttest.Fast(st, "worker-rust-1", "order-A1", "order.validated", 0)
		synctest.Wait()
		time.Sleep(time.Second)
		asserttest.Durable(st, "worker-rust-2", "order-A1", "payment.processed", 0, true)
		<-done
		if d := time.Since(start); d != 2*time.Second+assert.DefaultSettle {
			t.Errorf("answered after %s, want 2s (the last event) + the default settle window", d)
		}
		if !strings.Contains(rec.String(), `{"ok":true}`) {
			t.Errorf("answer %s", rec)
		}
	})
}

// not_published over several events watches them all in one window and
// reports each that was published.
func TestCheckNotPublishedSeveral(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		asserttest.ReferenceWorkflow(st, "order-A1")
		start := time.Now()
		rec, done := serve(t.Context(), h, "POST", "/api/v1/check",
			`{"check": "not_published", "correlation": "order-A1", "window": "1s", "events": ["payment.failed", "order.validated", "refund.issued", "notification.sent"]}`)
		<-done
		if d := time.Since(start); d != time.Second {
			t.Errorf("took %s, want the 1s window", d)
		}
		var a checkAnswer
		if err := json.Unmarshal([]byte(rec.String()), &a); err != nil {
			t.Fatal(err)
		}
		if a.OK || !strings.Contains(a.Report, `not to publish "order.validated"`) || !strings.Contains(a.Report, `not to publish "notification.sent"`) ||
			strings.Contains(a.Report, `"payment.failed"`) {
			t.Errorf("answer %+v", a)
		}
	})
}
