package assert_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// The delivery assertions run here over a hand-made ledger, under
// testing/synctest, so that every wait and window is exact; otlpsink's
// fault tests run them over real exporters.

// memLedger is an assert.Ledger that tests fill by hand.
type memLedger struct {
	mu       sync.Mutex
	attempts []fault.Attempt
	changed  chan struct{}
	dropped  int
}

func (l *memLedger) add(as ...fault.Attempt) {
	l.mu.Lock()
	l.attempts = append(l.attempts, as...)
	ch := l.changed
	l.changed = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

func (l *memLedger) Attempts() []fault.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.attempts)
}

func (l *memLedger) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed
}

func (l *memLedger) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// t0 is when the bubble's clock starts (synctest's fixed epoch).
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// span is the n-th test span.
func span(n int) fault.SpanRef {
	return fault.SpanRef{TraceID: [16]byte{0: 0xab, 15: byte(n)}, SpanID: [8]byte{7: byte(n)}}
}

// try is one attempt from worker-1 at t0+at: injected is the fault (zero for
// none) and answer what the sink answered (zero: accepted).
func try(at time.Duration, injected, answer fault.Answer, spans ...fault.SpanRef) fault.Attempt {
	return fault.Attempt{
		Request: fault.Request{Time: t0.Add(at), Transport: fault.TransportGRPC, Signal: fault.Traces,
			Sender: "127.0.0.1:40000", Instances: []string{"worker-1"}},
		Spans: spans, Fault: injected, Answer: answer,
	}
}

var (
	unavailable = fault.GRPC(codes.Unavailable)
	accepted    = fault.Answer{}
)

// later adds as to l at t0+at, from a timer in the bubble.
func later(l *memLedger, at time.Duration, as ...fault.Attempt) {
	time.AfterFunc(at, func() { l.add(as...) })
}

func inBubble(t *testing.T, body func(t *testing.T, c *assert.Checker)) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		if !time.Now().Equal(t0) {
			t.Fatalf("synctest's clock starts at %s, the test expects %s", time.Now(), t0)
		}
		body(t, assert.Check(spanstore.New(), assert.WithTimeout(2*time.Second), assert.WithSettle(300*time.Millisecond)))
	})
}

// Delivered waits for the retry that stores the refused spans, then watches
// the settle window, and passes when it closes.
func TestDeliveredWaitsForTheRetry(t *testing.T) {
	inBubble(t, func(t *testing.T, c *assert.Checker) {
		l := &memLedger{}
		l.add(try(0, unavailable, unavailable, span(1), span(2)))
		later(l, 700*time.Millisecond, try(700*time.Millisecond, accepted, accepted, span(1), span(2)))
		d, err := c.Delivered(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Since(t0); got != time.Second {
			t.Errorf("passed after %s, want 1s: the retry at 700ms, then the 300ms settle window", got)
		}
		if d.Lost.Refused != 2 || d.Lost.Recovered != 2 || len(d.Attempts) != 2 {
			t.Errorf("delivery %+v, want 2 refused spans recovered over 2 attempts", d.Lost)
		}
	})
}

// A refused span never stored fails at the timeout, and the report names
// the sender, the attempt and its time.
func TestDeliveredFailsOnALostSpan(t *testing.T) {
	inBubble(t, func(t *testing.T, c *assert.Checker) {
		l := &memLedger{}
		l.add(try(0, unavailable, unavailable, span(1)))
		later(l, 400*time.Millisecond, try(400*time.Millisecond, accepted, accepted, span(2)))
		_, err := c.Delivered(context.Background(), l)
		if got := time.Since(t0); got != 2300*time.Millisecond {
			t.Errorf("failed after %s, want at the 2s timeout and the 300ms settle window after it", got)
		}
		asserttest.Contains(t, failure(t, err).Error(),
			"expected every span of a refused request to be stored by a later attempt (nothing lost)",
			"(waiting up to 2s for the evidence, then 300ms for late retries)",
			"1 of 1 refused spans were lost: never stored, though their last refusal was one exporters retry (after 2s)",
			"1 span (ab000000000000000000000000000001/0000000000000001):",
			"+0s from 127.0.0.1:40000 (worker-1) grpc traces, 1 span: refused Unavailable [injected]",
			"ledger: 2 attempts, 1 refused, 1 met a fault rule; senders: 127.0.0.1:40000 (2)")
	})
}

// A ledger in which nothing was refused proves nothing about retries.
func TestDeliveredNeverPassesOnNothing(t *testing.T) {
	inBubble(t, func(t *testing.T, c *assert.Checker) {
		l := &memLedger{}
		l.add(try(0, accepted, accepted, span(1)))
		_, err := c.Delivered(context.Background(), l)
		asserttest.Contains(t, failure(t, err).Error(),
			"nothing to prove: none of 1 attempt refused a span; did the fault rules fire? (after 2s)",
			"ledger: 1 attempt, 0 refused, 0 met a fault rule")
	})
}

// A retry sooner than the RetryInfo asked fails at once when the evidence
// is otherwise complete, without waiting for the timeout.
func TestDeliveredFailsOnAnEarlyRetry(t *testing.T) {
	inBubble(t, func(t *testing.T, c *assert.Checker) {
		l := &memLedger{}
		asked := unavailable.WithRetry(time.Second)
		l.add(try(0, asked, asked, span(1)))
		later(l, 200*time.Millisecond, try(200*time.Millisecond, accepted, accepted, span(1)))
		_, err := c.Delivered(context.Background(), l)
		if got := time.Since(t0); got != 500*time.Millisecond {
			t.Errorf("failed after %s, want 500ms: the retry at 200ms and the settle window", got)
		}
		asserttest.Contains(t, failure(t, err).Error(),
			"no span lost: 1 refused span was stored by a later attempt; 1 retry broke the sink's answer",
			"retried after 200ms; RetryInfo asked for 1s",
			"+0s from 127.0.0.1:40000 (worker-1) grpc traces, 1 span: refused Unavailable, RetryInfo 1s [injected]",
			"+200ms from 127.0.0.1:40000 (worker-1) grpc traces, 1 span: accepted")
	})
}

// A request the sink stored after an injected delay, sent again by a client
// that had given up, is stored twice: reported, and forbidden on request.
func TestDeliveredDuplicates(t *testing.T) {
	delay := fault.Delay(time.Second)
	ledger := func() *memLedger {
		l := &memLedger{}
		l.add(try(0, unavailable, unavailable, span(1)),
			try(100*time.Millisecond, delay, accepted, span(1)),
			try(900*time.Millisecond, accepted, accepted, span(1)))
		return l
	}
	t.Run("allowed", func(t *testing.T) {
		inBubble(t, func(t *testing.T, c *assert.Checker) {
			d, err := c.Delivered(context.Background(), ledger())
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Duplicates.Duplicates) != 1 {
				t.Errorf("duplicates %v, want span 1 reported", d.Duplicates)
			}
		})
	})
	t.Run("forbidden", func(t *testing.T) {
		inBubble(t, func(t *testing.T, c *assert.Checker) {
			_, err := c.Delivered(context.Background(), ledger(), assert.NoDuplicates())
			asserttest.Contains(t, failure(t, err).Error(),
				"and no span stored twice",
				"1 of 1 stored spans were stored more than once (retries of requests the sink had stored) (forbidden by NoDuplicates)",
				"+100ms from 127.0.0.1:40000 (worker-1) grpc traces, 1 span: accepted after an injected 1s delay",
				"+900ms from 127.0.0.1:40000 (worker-1) grpc traces, 1 span: accepted")
		})
	})
	t.Run("logged by the test form", func(t *testing.T) {
		inBubble(t, func(t *testing.T, c *assert.Checker) {
			rt := &recordingT{}
			assert.On(rt, spanstore.New()).Delivered(ledger())
			if len(rt.errors) != 0 || len(rt.logs) != 1 {
				t.Fatalf("errors %q, logs %q; want one log line", rt.errors, rt.logs)
			}
			asserttest.Contains(t, rt.logs[0], "1 of 1 stored spans were stored more than once", "(allowed: delivery is at least once; NoDuplicates forbids them)")
		})
	})
}

// A ledger that forgot attempts cannot prove anything.
func TestDeliveredRefusesADroppingLedger(t *testing.T) {
	inBubble(t, func(t *testing.T, c *assert.Checker) {
		l := &memLedger{dropped: 3}
		l.add(try(0, unavailable, unavailable, span(1)), try(time.Second, accepted, accepted, span(1)))
		_, err := c.Delivered(context.Background(), l)
		if got := time.Since(t0); got != 300*time.Millisecond {
			t.Errorf("failed after %s, want at once, after the settle window", got)
		}
		asserttest.Contains(t, failure(t, err).Error(), "cannot judge: the ledger forgot its 3 oldest attempts", "otlpsink.WithLedgerLimits", "; 3 older attempts dropped")
	})
}

// After a permanent refusal, RetriesHonoured watches the settle window for
// a retry; none passes when it closes, one fails.
func TestRetriesHonouredAfterAPermanentRefusal(t *testing.T) {
	invalid := fault.GRPC(codes.InvalidArgument)
	t.Run("no retry", func(t *testing.T) {
		inBubble(t, func(t *testing.T, c *assert.Checker) {
			l := &memLedger{}
			l.add(try(0, invalid, invalid, span(1)))
			d, err := c.RetriesHonoured(context.Background(), l)
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Since(t0); got != 300*time.Millisecond {
				t.Errorf("passed after %s, want when the 300ms settle window closed", got)
			}
			if d.Retries.Checked != 1 {
				t.Errorf("checked %d answers, want 1", d.Retries.Checked)
			}
		})
	})
	t.Run("a retry", func(t *testing.T) {
		inBubble(t, func(t *testing.T, c *assert.Checker) {
			l := &memLedger{}
			l.add(try(0, invalid, invalid, span(1)))
			later(l, 250*time.Millisecond, try(250*time.Millisecond, accepted, accepted, span(1)))
			_, err := c.RetriesHonoured(context.Background(), l)
			asserttest.Contains(t, failure(t, err).Error(),
				"1 retry broke the sink's answer (of 1 answer that asked for a retry delay or for no retry)\n",
				"retried after a permanent refusal (InvalidArgument), which exporters must not retry",
				"+250ms from 127.0.0.1:40000 (worker-1) grpc traces, 1 span: accepted")
		})
	})
}

// An answer that asked for a delay but got no retry cannot show the delay
// was honoured: RetriesHonoured waits for the retry and fails without one.
func TestRetriesHonouredNeedsTheRetry(t *testing.T) {
	inBubble(t, func(t *testing.T, c *assert.Checker) {
		l := &memLedger{}
		a := try(0, fault.HTTP(http.StatusTooManyRequests).WithRetry(time.Second), fault.HTTP(http.StatusTooManyRequests).WithRetry(time.Second), span(1))
		a.Transport = fault.TransportHTTP
		l.add(a)
		_, err := c.RetriesHonoured(context.Background(), l)
		if got := time.Since(t0); got != 2300*time.Millisecond {
			t.Errorf("failed after %s, want at the timeout and the settle window", got)
		}
		asserttest.Contains(t, failure(t, err).Error(),
			"retries honoured: 1 answer asked for a retry delay or for no retry, and no retry broke one; 1 answer asked for a retry delay but no retry came to measure it against (after 2s)",
			"no retry after: +0s from 127.0.0.1:40000 (worker-1) http traces, 1 span: answered 429 retry-after=1s, asking for a retry after 1s")
	})
}

// A retry that breaks an answer arriving in the settle window is seen.
func TestDeliveredSeesALateForbiddenRetry(t *testing.T) {
	inBubble(t, func(t *testing.T, c *assert.Checker) {
		l := &memLedger{}
		partial := fault.Partial(1, "quota")
		l.add(try(0, unavailable, unavailable, span(1), span(2)),
			try(100*time.Millisecond, partial, partial, span(1), span(2)))
		l.attempts[1].Rejected = []fault.SpanRef{span(2)}
		later(l, 250*time.Millisecond, try(250*time.Millisecond, accepted, accepted, span(2)))
		_, err := c.Delivered(context.Background(), l)
		if got := time.Since(t0); got != 300*time.Millisecond {
			t.Errorf("failed after %s, want when the settle window that opened at once closed", got)
		}
		asserttest.Contains(t, failure(t, err).Error(),
			"retried after a partial success, which exporters must not retry",
			"+250ms from 127.0.0.1:40000 (worker-1) grpc traces, 1 span: accepted")
	})
}

// A report over a sink whose fault rules refused requests says so: a span
// that never arrived may be one an exporter did not retry.
func TestFailureNamesTheFaultsThatFired(t *testing.T) {
	t.Parallel()
	r, err := fault.ParseRule("http -> 503")
	if err != nil {
		t.Fatal(err)
	}
	sink := otlpsink.Start(t, otlpsink.WithFaults(r))
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"route_event"}]}]}]}`
	resp, err := http.Post(sink.TracesURL(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %s, want 503 from the rule", resp.Status)
	}
	_, err = assert.Check(sink, assert.WithTimeout(time.Millisecond)).Eventually(context.Background(), S().Named("route_event"), 1)
	asserttest.Contains(t, failure(t, err).Error(),
		"WARNING: fault rules answered 1 request instead of the sink (rule 1 (http -> 503): 1); what they refused is stored only if the exporter retried it (see the sink's Ledger)")
	if strings.Contains(err.Error(), "NOTHING ARRIVED") {
		t.Errorf("the report says nothing arrived, though a rule refused a request:\n%v", err)
	}
}

// recordingT is an assert.TB that keeps what it was told.
type recordingT struct {
	mu           sync.Mutex
	errors, logs []string
}

func (r *recordingT) Helper()      {}
func (r *recordingT) FailNow()     {}
func (r *recordingT) Name() string { return "recordingT" }
func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingT) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
