package remote_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

// waitAnswer is the body of a /wait answer.
type waitAnswer struct {
	OK     bool              `json:"ok"`
	Found  int               `json:"found"`
	Spans  []json.RawMessage `json:"spans"`
	Report string            `json:"report"`
}

func decodeWait(t *testing.T, rec *recorder) waitAnswer {
	t.Helper()
	if rec.Status() != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Status(), rec)
	}
	var a waitAnswer
	if err := json.Unmarshal([]byte(rec.String()), &a); err != nil {
		t.Fatalf("%v: %s", err, rec)
	}
	return a
}

func names(t *testing.T, raws []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, raw := range raws {
		var s spanstore.Span
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.Name)
	}
	return out
}

// A wait blocks until the span arrives, and answers the moment it does: no
// time passes between the ingest and the answer, so nothing polled.
func TestWaitWakesWhenTheSpanArrives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		asserttest.Durable(st, "worker-rust-1", "order-B2", "payment.processed", 0, true) // another task's
		rec, done := serve(t.Context(), h, "POST", "/api/v1/wait",
			`{"query": {"name": "publish_event", "correlation": "order-A1"}, "timeout": "10s"}`)
		synctest.Wait()
		select {
		case <-done:
			t.Fatalf("answered before the span arrived: %s", rec)
		default:
		}
		if h.Waiting() != 1 {
			t.Fatalf("%d requests waiting, want 1", h.Waiting())
		}
		time.Sleep(3 * time.Second) // fake time: the wait is still on
		arrived := time.Now()
		asserttest.Durable(st, "worker-rust-2", "order-A1", "payment.processed", 0, true)
		<-done
		if d := time.Since(arrived); d != 0 {
			t.Errorf("answered %s after the span arrived, want at once", d)
		}
		a := decodeWait(t, rec)
		if !a.OK || a.Found != 1 || a.Report != "" || !slices.Equal(names(t, a.Spans), []string{"publish_event"}) {
			t.Errorf("answer %+v", a)
		}
		if h.Waiting() != 0 {
			t.Errorf("%d requests still waiting", h.Waiting())
		}
	})
}

// wait answers every match at that moment: at least count, up to limit.
func TestWaitAnswersEveryMatchUpToLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		asserttest.ReferenceWorkflow(st, "order-A1")
		rec, done := serve(t.Context(), h, "POST", "/api/v1/wait", `{"query": "{ name = \"publish\" && correlation = \"order-A1\" }", "count": 2}`)
		<-done
		if a := decodeWait(t, rec); !a.OK || a.Found != 3 || len(a.Spans) != 3 {
			t.Errorf("count 2 of 3: %+v", a)
		}
		rec, done = serve(t.Context(), h, "POST", "/api/v1/wait", `{"query": {"name": "publish", "correlation": "order-A1"}, "count": 2, "limit": 2}`)
		<-done
		if a := decodeWait(t, rec); !a.OK || a.Found != 3 || len(a.Spans) != 2 {
			t.Errorf("limit 2: %+v", a)
		}
	})
}

// At the timeout the answer is ok:false with what was found and the very
// report assert's Eventually prints for the same wait, to the byte.
func TestWaitTimesOutWithTheGoReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		asserttest.Durable(st, "worker-rust-2", "order-A1", "payment.failed", 0, true)
		q := assert.Spans().Named("publish_event").Attr("event_name", "payment.processed").Correlated("order-A1")

		start := time.Now()
		goDone := make(chan error, 1)
		go func() {
			_, err := assert.Check(st, assert.WithTimeout(2*time.Second)).Eventually(context.Background(), q, 1)
			goDone <- err
		}()
		rec, done := serve(t.Context(), h, "POST", "/api/v1/wait",
			`{"query": {"name": "publish_event", "correlation": "order-A1", "attrs": [{"key": "event_name", "value": "payment.processed"}]}, "timeout": "2s"}`)
		<-done
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("answered after %s, want exactly the 2s timeout", d)
		}
		goErr := <-goDone
		a := decodeWait(t, rec)
		if a.OK || a.Found != 0 || len(a.Spans) != 0 {
			t.Errorf("answer %+v", a)
		}
		if goErr == nil || a.Report != goErr.Error() {
			t.Errorf("report differs from Go's:\n--- remote\n%s\n--- Go\n%v", a.Report, goErr)
		}
		for _, want := range []string{
			`expected at least 1 span named "publish_event" with event_name = "payment.processed" in the trace of correlation "order-A1" within 2s`,
			"found 0 after 2s",
			`saw event_name = "payment.failed"`,
		} {
			if !strings.Contains(a.Report, want) {
				t.Errorf("report lacks %q:\n%s", want, a.Report)
			}
		}
	})
}

// The timeout a client gives is the timeout: the server's own
// TRACEPROOF_TIMEOUT_SCALE (for its own tests) does not stretch it.
func TestWaitTimeoutIsNotScaledByTheServer(t *testing.T) {
	t.Setenv(assert.EnvTimeoutScale, "3")
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		start := time.Now()
		rec, done := serve(t.Context(), h, "POST", "/api/v1/wait", `{"query": {"name": "x"}, "timeout": "2s"}`)
		<-done
		// Undoing a float factor is exact to a nanosecond or two.
		if d := time.Since(start) - 2*time.Second; d < -2 || d > 2 {
			t.Errorf("answered after %s, want 2s", time.Since(start))
		}
		if a := decodeWait(t, rec); !strings.Contains(a.Report, "within 2s") || !strings.Contains(a.Report, "found 0 after 2s") {
			t.Errorf("report:\n%s", a.Report)
		}
	})
}

// A client that goes away frees its waiter at once.
func TestWaitEndsWhenTheClientGoes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		var dones []chan struct{}
		for _, path := range []string{"/api/v1/wait", "/api/v1/check", "/api/v1/changes"} {
			body := `{"query": {"name": "x"}, "timeout": "1m"}`
			switch path {
			case "/api/v1/check":
				body = `{"check": "published", "correlation": "c", "events": ["a"], "timeout": "1m"}`
			case "/api/v1/changes":
				body = `{"name": "x", "timeout": "1m"}`
			}
			_, done := serve(ctx, h, "POST", path, body)
			dones = append(dones, done)
		}
		_, done := serve(ctx, h, "GET", "/api/v1/stream?q="+urlQuery(`{ name = "x" }`), "")
		dones = append(dones, done)
		synctest.Wait()
		if h.Waiting() != 4 {
			t.Fatalf("%d waiting, want 4", h.Waiting())
		}
		cancel()
		for _, d := range dones {
			<-d
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("the requests ended %s after the clients went, want at once", d)
		}
		if h.Waiting() != 0 {
			t.Errorf("%d still waiting", h.Waiting())
		}
	})
}

// Close ends every wait at once with 503, and refuses new ones.
func TestCloseEndsWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		rec, done := serve(t.Context(), h, "POST", "/api/v1/wait", `{"query": {"name": "x"}, "timeout": "1m"}`)
		stream, streamDone := serve(t.Context(), h, "GET", "/api/v1/stream", "")
		synctest.Wait()
		h.Close()
		<-done
		<-streamDone
		if rec.Status() != http.StatusServiceUnavailable || !strings.Contains(rec.String(), "shutting down") {
			t.Errorf("wait after Close: %d %s", rec.Status(), rec)
		}
		if stream.Status() != http.StatusOK {
			t.Errorf("stream: %d", stream.Status())
		}
		rec, done = serve(t.Context(), h, "POST", "/api/v1/wait", `{}`)
		<-done
		if rec.Status() != http.StatusServiceUnavailable {
			t.Errorf("wait after Close: %d %s", rec.Status(), rec)
		}
		// What does not wait still answers.
		rec, done = serve(t.Context(), h, "POST", "/api/v1/spans", `{}`)
		<-done
		if rec.Status() != http.StatusOK {
			t.Errorf("spans after Close: %d %s", rec.Status(), rec)
		}
	})
}

// /changes says it watches before anything can be missed, then that
// something changed when a span of its filter arrives, not before.
func TestChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		rec, done := serve(t.Context(), h, "POST", "/api/v1/changes", `{"correlation": "order-A1"}`)
		synctest.Wait()
		if got := rec.String(); got != "{\"watching\":true}\n" {
			t.Fatalf("first line %q", got)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q", ct)
		}
		asserttest.Fast(st, "worker-rust-1", "order-B2", "order.validated", 0) // another correlation
		synctest.Wait()
		select {
		case <-done:
			t.Fatalf("woken by another correlation: %s", rec)
		default:
		}
		asserttest.Fast(st, "worker-rust-1", "order-A1", "order.validated", 0)
		<-done
		if got := rec.String(); got != "{\"watching\":true}\n{\"changed\":true}\n" {
			t.Errorf("answer %q", got)
		}

		start := time.Now()
		rec, done = serve(t.Context(), h, "POST", "/api/v1/changes", `{"name": "publish_event", "timeout": "5s"}`)
		<-done
		if d := time.Since(start); d != 5*time.Second || rec.String() != "{\"watching\":true}\n{\"changed\":false}\n" {
			t.Errorf("after %s: %q", d, rec)
		}
	})
}
