package remote_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

// events splits an SSE body into its data payloads and comments.
func events(t *testing.T, body string) (data []spanstore.Span, comments []string) {
	t.Helper()
	for block := range strings.SplitSeq(body, "\n\n") {
		if block == "" {
			continue
		}
		switch {
		case strings.HasPrefix(block, "data: "):
			var s spanstore.Span
			if err := json.Unmarshal([]byte(strings.TrimPrefix(block, "data: ")), &s); err != nil {
				t.Fatalf("event %q: %v", block, err)
			}
			data = append(data, s)
		case strings.HasPrefix(block, ": "):
			comments = append(comments, strings.TrimPrefix(block, ": "))
		default:
			t.Fatalf("not an SSE event: %q", block)
		}
	}
	return data, comments
}

func spanNamesOf(spans []spanstore.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func TestStreamSendsSpansAsTheyArrive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		asserttest.Fast(st, "worker-rust-1", "order-A1", "order.validated", 0) // before the stream: not sent
		rec, done := serve(t.Context(), h, "GET", "/api/v1/stream?q="+urlQuery(`{ correlation = "order-A1" }`), "")
		synctest.Wait()
		if ct := rec.Header().Get("Content-Type"); rec.Status() != http.StatusOK || ct != "text/event-stream" {
			t.Fatalf("%d %q", rec.Status(), ct)
		}
		data, comments := events(t, rec.String())
		if len(data) != 0 || len(comments) != 1 || !strings.Contains(comments[0], `in the trace of correlation "order-A1"`) {
			t.Fatalf("opening: %q", rec)
		}

		// A fast publish carries no correlation itself: it is sent once its
		// route_event, which does, arrives, and only once.
		r := asserttest.Route("order-A1", "inventory.updated", "Fast", 0)
		asserttest.Ingest(st, "worker-rust-2", asserttest.FastChild(r))
		asserttest.Fast(st, "worker-rust-2", "order-B2", "order.validated", 0) // another task
		synctest.Wait()
		if data, _ := events(t, rec.String()); len(data) != 0 {
			t.Fatalf("sent before its trace was correlated: %v", spanNamesOf(data))
		}
		asserttest.Ingest(st, "worker-rust-2", r)
		synctest.Wait()
		asserttest.Durable(st, "worker-rust-1", "order-A1", "payment.processed", 0, true)
		synctest.Wait()
		data, _ = events(t, rec.String())
		if got := spanNamesOf(data); !slices.Equal(got, []string{"publish", "route_event", "route_event", "publish_event", "send_json_message"}) {
			t.Errorf("sent %v", got)
		}

		// Idle, it keeps the connection alive; it never polls.
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if _, comments := events(t, rec.String()); len(comments) != 2 || comments[1] != "keepalive" {
			t.Errorf("comments %q", comments)
		}
		select {
		case <-done:
			t.Fatal("the stream ended")
		default:
		}
	})
}

func TestStreamReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		h := remote.NewHandler(st, nil)
		defer h.Close()
		asserttest.Durable(st, "worker-rust-1", "order-A1", "payment.processed", 0, true)
		asserttest.Durable(st, "worker-rust-1", "order-B2", "payment.processed", 0, true)
		// A query of the span alone: sent in arrival order, by a cursor.
		rec, _ := serve(t.Context(), h, "GET", "/api/v1/stream?replay=true&q="+urlQuery(`{ name = "publish_event" }`), "")
		live, _ := serve(t.Context(), h, "GET", "/api/v1/stream?q="+urlQuery(`{ name = "publish_event" }`), "")
		synctest.Wait()
		asserttest.Durable(st, "worker-rust-2", "order-C3", "payment.failed", 0, false)
		synctest.Wait()
		data, _ := events(t, rec.String())
		var corrs []string
		for _, s := range data {
			corrs = append(corrs, s.Attributes.Str("correlation_id"))
		}
		if !slices.Equal(corrs, []string{"order-A1", "order-B2", "order-C3"}) {
			t.Errorf("replay sent %v", corrs)
		}
		if data, _ := events(t, live.String()); len(data) != 1 || data[0].Attributes.Str("correlation_id") != "order-C3" {
			t.Errorf("without replay: %v", spanNamesOf(data))
		}
	})
}

// The stream takes the token as a URL parameter, for EventSource, over a
// real connection: a span sent after the opening comment arrives.
func TestStreamOverHTTPWithTokenParameter(t *testing.T) {
	s := startServer(t, "tok")
	req, err := http.NewRequestWithContext(t.Context(), "GET", s.url+"/api/v1/stream?token=tok&q="+urlQuery(`{ name = "publish" }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, `: traceproof stream of spans named "publish"`) {
		t.Fatalf("opening %q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	asserttest.Fast(s.st, "worker-rust-1", "order-A1", "order.validated", 0)
	line, err = br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: {") {
		t.Fatalf("event %q %v", line, err)
	}
	var sp spanstore.Span
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &sp); err != nil || sp.Name != "publish" {
		t.Fatalf("span %v %v", sp.Name, err)
	}
}
