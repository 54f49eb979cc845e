package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

// guard bounds a test's waits: a channel that never closes fails the test
// instead of hanging it. Scaled for slow machines; the tests never sleep.
func guard() <-chan time.Time { return time.After(assert.Scaled(10 * time.Second)) }

// The Go assertions and the domain-event checks run unchanged against a
// serve elsewhere; spans sent by real SDK exporters (batching, as workers
// do) while they wait wake them through the network.
func TestSourceRunsTheGoAssertions(t *testing.T) {
	s := startServer(t, "") // the SDK workers send no token
	src := remote.Connect(t, s.url, "")
	w1 := asserttest.SDKWorker(t, s.sink, "grpc", "worker-rust-1", false)
	w2 := asserttest.SDKWorker(t, s.sink, "http", "worker-rust-2", false)

	events := domainevent.Check(assert.Check(src, assert.WithTimeout(10*time.Second)))
	var wg sync.WaitGroup
	var proofs []domainevent.Proof
	var err error
	wg.Go(func() {
		proofs, err = events.Published(context.Background(), "order-A1",
			domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"), domainevent.Broadcast("notification.sent"))
	})
	// The check is waiting (or not yet: either way it must see the spans).
	asserttest.Emit(w1, "order-A1", "order.validated", "Fast")
	asserttest.Emit(w2, "order-A1", "payment.processed", "Durable")
	asserttest.Emit(w1, "order-A1", "notification.sent", "Broadcast")
	asserttest.Emit(w2, "order-B2", "payment.processed", "Durable") // another test's task
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != 3 || proofs[1].Instance != "worker-rust-2" || proofs[1].Publish[0].Name != "publish_event" {
		t.Errorf("proofs %+v", proofs)
	}
	if err := events.NotPublished(context.Background(), "order-A1", "payment.failed", 100*time.Millisecond); err != nil {
		t.Error(err)
	}

	// A failure reads as it does in process: the task's spans as a tree,
	// by instance, and the sink's view of the senders.
	err = events.NotPublished(context.Background(), "order-A1", "payment.processed", time.Second)
	var f *assert.Failure
	if !errors.As(err, &f) {
		t.Fatalf("NotPublished of a published event: %v", err)
	}
	for _, want := range []string{
		`expected correlation "order-A1" not to publish "payment.processed" within 1s`,
		`spans of correlation "order-A1"`, "route_event [worker-rust-2]", "publish [worker-rust-1]",
		"instances (by last span received):", "sink: 12 spans stored",
	} {
		if !strings.Contains(f.Error(), want) {
			t.Errorf("report lacks %q:\n%s", want, f)
		}
	}

	// assert.On with a test, as a suite writes it.
	asserttest.Passes(t, func(tb testing.TB) {
		a := assert.On(tb, src)
		a.Exactly(assert.Spans().Named("route_event").Correlated("order-A1"), 3)
		a.OncePer(assert.Spans().Named("route_event").Correlated("order-A1"), "event_name", "order.validated", "payment.processed", "notification.sent")
		a.ChildOf(assert.Spans().Named("publish").Correlated("order-A1"), assert.Spans().Named("route_event"))
		domainevent.On(a).Includes("order-B2", domainevent.Durable("payment.processed"))
	})
}

// A span that arrives after Changed returned closes its channel: Changed
// returns once the server watches, so nothing arriving before the next
// Spans call is missed.
func TestSourceChangedMissesNothing(t *testing.T) {
	s := startServer(t, "")
	src := remote.Connect(t, s.url, "")
	for i := range 20 {
		corr := fmt.Sprintf("order-%d", i)
		ch := src.Changed(spanstore.Filter{Correlation: corr})
		if again := src.Changed(spanstore.Filter{Correlation: corr, Name: "x"}); again != ch {
			t.Fatal("two watches of one correlation hold two requests")
		}
		asserttest.Fast(s.st, "worker-rust-1", corr, "order.validated", 0)
		select {
		case <-ch:
		case <-guard():
			t.Fatalf("watch %d: the span arrived and the channel stayed open", i)
		}
		if got := src.Spans(spanstore.Filter{Correlation: corr}); len(got) != 2 {
			t.Fatalf("watch %d: %d spans after the wake", i, len(got))
		}
	}
	ch := src.Changed(spanstore.Filter{Name: "publish_event"})
	asserttest.Durable(s.st, "worker-rust-1", "order-x", "payment.processed", 0, true)
	select {
	case <-ch:
	case <-guard():
		t.Fatal("a watch by name missed its span")
	}
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
}

// Spans sends the filter's index fields and runs its Match here; it pages
// past the limit of spans an answer holds (10,000; 100 here).
func TestSourceSpans(t *testing.T) {
	s := startServer(t, "")
	src := remote.Connect(t, s.url, "")
	asserttest.ReferenceWorkflow(s.st, "order-A1")
	asserttest.ReferenceWorkflow(s.st, "order-B2")
	got := src.Spans(spanstore.Filter{Correlation: "order-A1", Name: "publish", Match: func(sp *spanstore.Span) bool {
		return sp.Attributes.Str("event_name") != "inventory.updated"
	}})
	if len(got) != 2 || got[0].Attributes.Str("event_name") != "order.validated" || got[1].Attributes.Str("event_name") != "notification.sent" {
		t.Errorf("got %v", got)
	}
	if got[0].Instance() != "worker-rust-1" || got[0].Seq == 0 || got[0].Received.IsZero() {
		t.Errorf("span fields lost on the way: %+v", got[0])
	}
	if keys := src.CorrelationKeys(); strings.Join(keys, ",") != "correlation_id,task_uuid" {
		t.Errorf("keys %v", keys)
	}

	remote.SetPageSize(t, 100)
	const n = 250
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetName("bulk")
		sp.SetTraceID(asserttest.TraceID(asserttest.NewID()))
		sp.SetSpanID(asserttest.SpanID(asserttest.NewID()))
		sp.Attributes().PutInt("i", int64(i))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(asserttest.Base))
	}
	s.st.Ingest(td, spanstore.Origin{Sender: "bulk"})
	bulk := src.Spans(spanstore.Filter{Name: "bulk"})
	if len(bulk) != n {
		t.Fatalf("%d spans, want %d", len(bulk), n)
	}
	for i, sp := range bulk {
		if v, _ := sp.Attributes.Get("i"); v.Int() != int64(i) {
			t.Fatalf("span %d is %v: out of order or repeated", i, v)
		}
	}
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestDialErrors(t *testing.T) {
	s := startServer(t, "tok")
	if _, err := remote.Dial(s.url, "wrong"); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "--token") {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := remote.Dial(s.url, ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("no token: %v", err)
	}
	if src, err := remote.Dial(strings.TrimPrefix(s.url, "http://")+"/api/v1/", "tok"); err != nil || src.URL() != s.url {
		t.Errorf("host:port/api/v1/: %v", err)
	} else {
		src.Close()
	}
	if _, err := remote.Dial("ftp://x", ""); err == nil || !strings.Contains(err.Error(), "want http://HOST:PORT") {
		t.Errorf("ftp: %v", err)
	}
	if _, err := remote.Dial("http://"+closedAddr(t), ""); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("nothing listening: %v", err)
	}
}

// When the server goes away, nothing turns into "no spans" silently: the
// failed requests are counted in Err, listed in Stats().LastErrors and in
// the failure report, and a watch backs off rather than spin.
func TestSourceSurfacesConnectionErrors(t *testing.T) {
	s := startServer(t, "")
	asserttest.ReferenceWorkflow(s.st, "order-A1")
	src, err := remote.Dial(s.url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := src.Spans(spanstore.Filter{Correlation: "order-A1"}); len(got) != 9 {
		t.Fatalf("%d spans", len(got))
	}
	s.h.Close()
	if err := s.sink.Close(); err != nil {
		t.Fatal(err)
	}

	if got := src.Spans(spanstore.Filter{Correlation: "order-A1"}); got != nil {
		t.Errorf("spans from a closed server: %d", len(got))
	}
	if err := src.Err(); err == nil || !strings.Contains(err.Error(), "1 requests to traceproof serve at "+s.url+" failed") ||
		!strings.Contains(err.Error(), "/api/v1/spans") || !strings.Contains(err.Error(), "the assertion saw no spans for correlation=\"order-A1\"") {
		t.Errorf("Err: %v", err)
	}
	start := time.Now()
	ch := src.Changed(spanstore.Filter{Correlation: "order-A1"})
	select {
	case <-ch:
	case <-guard():
		t.Fatal("a failed watch never woke its waiter")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("a failed watch woke after %s: it must back off, not spin", d)
	}

	_, err = assert.Check(src, assert.WithTimeout(200*time.Millisecond)).Eventually(context.Background(), assert.Spans().Correlated("order-A1"), 1)
	if err == nil {
		t.Fatal("Eventually passed against a server that is gone")
	}
	for _, want := range []string{"connection refused", "this test's remote source:", "is unreachable", "these stats are from its last answer", "sink: 9 spans stored"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("report lacks %q:\n%s", want, err)
		}
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
