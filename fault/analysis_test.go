package fault

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
)

// receiver does with a request what the integration contract asks of the
// real one: decide, pause, answer, record. Its real answer is a full
// success.
type receiver struct {
	in     *Injector
	ledger Ledger
}

func (rc *receiver) export(ctx context.Context, req Request, spans []SpanRef) Answer {
	req.Time = time.Now()
	a, _ := rc.in.Decide(req)
	att := Attempt{Request: req, Spans: spans, Fault: a, Answer: a}
	if err := a.Pause(ctx, context.Background()); err != nil {
		panic(err)
	}
	switch a.Kind() {
	case KindOK, KindDelay:
		att.Answer = Answer{}
	case KindPartial:
		n, _ := a.PartialSuccess(len(spans))
		att.Rejected = spans[len(spans)-n:]
	}
	rc.ledger.Add(att)
	return att.Answer
}

// exporter sends one batch until it is stored or it must give up, waiting
// as the answers ask; a careless one retries after a fixed backoff
// whatever it was told.
type exporter struct {
	sender   string
	backoff  time.Duration
	careless bool
	timeout  time.Duration // 0: none
}

func (e exporter) send(rc *receiver, spans []SpanRef) {
	req := Request{Transport: TransportGRPC, Signal: Traces, Sender: e.sender, Instances: []string{"worker-rust-1"}}
	for range 10 {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if e.timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, e.timeout)
		}
		start := time.Now()
		a := rc.export(ctx, req, spans)
		timedOut := e.timeout > 0 && time.Since(start) >= e.timeout
		cancel()
		switch {
		case timedOut:
		case a.Kind() == KindOK || a.Kind() == KindPartial && !e.careless:
			return
		case !a.Retryable() && !e.careless:
			return
		}
		wait := e.backoff
		if d := a.RetryDelay(); d > 0 && !e.careless {
			wait = d
		}
		time.Sleep(wait)
	}
}

func newReceiver(t *testing.T, rules ...string) *receiver {
	return &receiver{in: mustInjector(t, time.Now(), rules...)}
}

func checkReport(t *testing.T, name string, ok, wantOK bool, got, want string) {
	t.Helper()
	if ok != wantOK {
		t.Errorf("%s: OK() = %v, want %v", name, ok, wantOK)
	}
	if got != want {
		t.Errorf("%s:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestLostRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "grpc first=2 -> unavailable retry=1203ms")
		exporter{sender: "127.0.0.1:40000", backoff: 100 * time.Millisecond}.send(rc, refs(1, 2, 3))
		att := rc.ledger.Attempts()
		r := Lost(att)
		checkReport(t, "Lost", r.OK(), true, r.String(), "no span lost: 3 refused spans were stored by a later attempt")
		if r.Refused != 3 || r.Recovered != 3 || len(r.Lost)+len(r.Permanent) != 0 {
			t.Errorf("%+v", r)
		}
		d := Duplicates(att)
		checkReport(t, "Duplicates", d.OK(), true, d.String(), "no duplicates: 3 stored spans were each stored once")
		rr := Retries(att)
		checkReport(t, "Retries", rr.OK(), true, rr.String(), "retries honoured: 2 answers asked for a retry delay or for no retry, and no retry broke one")
	})
}

func TestLostGivenUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "grpc sender=*:40000 -> unavailable", "grpc sender=*:40001 first=1 -> drop")
		exporter{sender: "127.0.0.1:40000", backoff: 1500 * time.Millisecond}.send(rc, refs(1, 2, 3, 4))
		exporter{sender: "127.0.0.1:40001", backoff: time.Second}.send(rc, refs(5))
		r := Lost(rc.ledger.Attempts())
		if r.Refused != 5 || r.Recovered != 1 || len(r.Lost) != 1 || len(r.Lost[0].Spans) != 4 || len(r.Lost[0].Attempts) != 10 {
			t.Fatalf("%+v", r)
		}
		want := `4 of 5 refused spans were lost: never stored, though their last refusal was one exporters retry:
  4 spans (4b000000000000000000000000000001/0100000000000001, 4b000000000000000000000000000002/0100000000000002, 4b000000000000000000000000000003/0100000000000003 and 1 more):
    +0s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +1.5s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +3s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +4.5s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +6s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +7.5s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +9s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +10.5s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +12s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
    +13.5s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 4 spans: refused Unavailable [injected]
1 refused span was stored by a later attempt`
		checkReport(t, "Lost", r.OK(), false, r.String(), want)
	})
}

// A permanent refusal is not a loss the exporter could have prevented: it
// is listed apart.
func TestLostPermanent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "grpc correlation=bad -> invalid-argument", "grpc first=1 -> aborted")
		e := exporter{sender: "127.0.0.1:40000", backoff: 250 * time.Millisecond}
		e.send(rc, refs(1))
		rc.export(context.Background(), Request{Transport: TransportGRPC, Signal: Traces, Sender: "127.0.0.1:40000", Correlations: []string{"bad"}}, refs(2, 3))
		r := Lost(rc.ledger.Attempts())
		want := `no span lost: 1 refused span was stored by a later attempt
2 spans refused permanently, not expected to be retried:
  2 spans (4b000000000000000000000000000002/0100000000000002, 4b000000000000000000000000000003/0100000000000003):
    +250ms from 127.0.0.1:40000 grpc traces, 2 spans: refused InvalidArgument (permanent) [injected]`
		checkReport(t, "Lost", r.OK(), true, r.String(), want)
		if len(r.Permanent) != 1 || len(r.Permanent[0].Spans) != 2 {
			t.Errorf("%+v", r)
		}
	})
}

// A retryable refusal followed by a permanent one is permanent: the last
// refusal decides.
func TestLostLastRefusalDecides(t *testing.T) {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	att := []Attempt{
		{Request: Request{Time: at(0), Sender: "s"}, Spans: refs(1), Answer: GRPC(codes.Unavailable)},
		{Request: Request{Time: at(1), Sender: "s"}, Spans: refs(1), Answer: GRPC(codes.InvalidArgument)},
		{Request: Request{Time: at(2), Sender: "s"}, Spans: refs(2), Answer: GRPC(codes.InvalidArgument)},
		{Request: Request{Time: at(3), Sender: "s"}, Spans: refs(2), Answer: GRPC(codes.Unavailable)},
		{Request: Request{Time: at(4), Sender: "s"}, Spans: refs(3), Answer: GRPC(codes.Unavailable)},
		{Request: Request{Time: at(5), Sender: "s"}, Spans: refs(3)},
	}
	r := Lost(att)
	if r.Refused != 3 || r.Recovered != 1 || len(r.Permanent) != 1 || r.Permanent[0].Spans[0] != ref(1) || len(r.Lost) != 1 || r.Lost[0].Spans[0] != ref(2) {
		t.Errorf("%+v", r)
	}
}

func TestLostNothingToProve(t *testing.T) {
	r := Lost(nil)
	checkReport(t, "no attempts", r.OK(), false, r.String(), "nothing to prove: none of 0 attempts refused a span; did the fault rules fire?")
	r = Lost([]Attempt{{Request: Request{Time: t0, Sender: "s"}, Spans: refs(1)}})
	checkReport(t, "no refusal", r.OK(), false, r.String(), "nothing to prove: none of 1 attempt refused a span; did the fault rules fire?")
	r = Lost([]Attempt{{Request: Request{Time: t0, Sender: "s", Transport: TransportHTTP, Signal: Traces}, Spans: refs(1), Answer: HTTP(400)}})
	want := `nothing to prove: no refused span was retried and stored
1 span refused permanently, not expected to be retried:
  1 span (4b000000000000000000000000000001/0100000000000001):
    +0s from s http traces, 1 span: refused HTTP 400 (permanent)`
	checkReport(t, "only permanent", r.OK(), false, r.String(), want)
}

// A delay longer than the client's timeout stores what the client retries:
// a duplicate.
func TestDuplicatesAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "grpc first=1 -> delay=2s")
		exporter{sender: "127.0.0.1:40000", backoff: 500 * time.Millisecond, timeout: time.Second}.send(rc, refs(1, 2))
		att := rc.ledger.Attempts()
		d := Duplicates(att)
		want := `2 of 2 stored spans were stored more than once (retries of requests the sink had stored):
  2 spans (4b000000000000000000000000000001/0100000000000001, 4b000000000000000000000000000002/0100000000000002):
    +0s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 2 spans: accepted after an injected 2s delay
    +2.5s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 2 spans: accepted`
		checkReport(t, "Duplicates", d.OK(), false, d.String(), want)
		if d.Stored != 2 || len(d.Duplicates) != 1 {
			t.Errorf("%+v", d)
		}
		// Nothing was refused: nothing to say about losses.
		if Lost(att).OK() {
			t.Error("Lost passed without a refusal")
		}
	})
}

func TestDuplicatesNothingToProve(t *testing.T) {
	d := Duplicates([]Attempt{{Request: Request{Time: t0}, Spans: refs(1), Answer: Drop()}})
	checkReport(t, "none stored", d.OK(), false, d.String(), "nothing to prove: none of 1 attempt stored a span")
}

func TestRetriesEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "grpc first=1 -> resource-exhausted retry=1s")
		exporter{sender: "127.0.0.1:40000", backoff: 300 * time.Millisecond, careless: true}.send(rc, refs(1))
		r := Retries(rc.ledger.Attempts())
		want := `1 retry broke the sink's answer (of 1 answer that asked for a retry delay or for no retry):
  1 span (4b000000000000000000000000000001/0100000000000001): retried after 300ms; RetryInfo asked for 1s
    +0s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 1 span: refused ResourceExhausted, RetryInfo 1s [injected]
    +300ms from 127.0.0.1:40000 (worker-rust-1) grpc traces, 1 span: accepted`
		checkReport(t, "Retries", r.OK(), false, r.String(), want)
		if len(r.Violations) != 1 {
			t.Fatalf("%+v", r)
		}
		v := r.Violations[0]
		if v.After != 300*time.Millisecond || v.Asked != time.Second {
			t.Errorf("after %v asked %v", v.After, v.Asked)
		}
	})
}

// A retry exactly when the delay ends is in time; one a nanosecond sooner
// is not.
func TestRetriesBoundary(t *testing.T) {
	a := Attempt{Request: Request{Time: t0, Sender: "s"}, Spans: refs(1), Answer: GRPC(codes.Unavailable).WithRetry(time.Second)}
	onTime := Attempt{Request: Request{Time: t0.Add(time.Second), Sender: "s"}, Spans: refs(1)}
	early := Attempt{Request: Request{Time: t0.Add(time.Second - 1), Sender: "s"}, Spans: refs(1)}
	if r := Retries([]Attempt{a, onTime}); !r.OK() {
		t.Errorf("on time: %s", r)
	}
	if r := Retries([]Attempt{a, early}); r.OK() || r.Violations[0].Reason != "retried after 999.999999ms; RetryInfo asked for 1s" {
		t.Errorf("1ns early: %s", r)
	}
	// The ledger's order does not matter: arrival times do.
	if r := Retries([]Attempt{early, a}); r.OK() {
		t.Errorf("out of order: %s", r)
	}
}

func TestRetriesHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "http first=1 -> 503 retry-after=2s", "http first=1 -> 429 retry-after-date=2s")
		send := func(spans []SpanRef) {
			rc.export(context.Background(), Request{Transport: TransportHTTP, Signal: Traces, Sender: "127.0.0.1:50000"}, spans)
		}
		send(refs(1)) // +0s: 503, Retry-After: 2
		time.Sleep(1999 * time.Millisecond)
		send(refs(1)) // +1.999s: too soon; 429 with a date of +1.999s+2s, rounded up to +4s
		time.Sleep(2000 * time.Millisecond)
		send(refs(1)) // +3.999s: too soon for +4s
		r := Retries(rc.ledger.Attempts())
		want := `2 retries broke the sink's answer (of 2 answers that asked for a retry delay or for no retry):
  1 span (4b000000000000000000000000000001/0100000000000001): retried after 1.999s; Retry-After asked for 2s
    +0s from 127.0.0.1:50000 http traces, 1 span: refused HTTP 503, Retry-After 2s [injected]
    +1.999s from 127.0.0.1:50000 http traces, 1 span: refused HTTP 429, Retry-After Sat, 01 Jan 2000 00:00:04 GMT (+4s) [injected]
  1 span (4b000000000000000000000000000001/0100000000000001): retried at +3.999s; Retry-After asked for Sat, 01 Jan 2000 00:00:04 GMT (+4s)
    +1.999s from 127.0.0.1:50000 http traces, 1 span: refused HTTP 429, Retry-After Sat, 01 Jan 2000 00:00:04 GMT (+4s) [injected]
    +3.999s from 127.0.0.1:50000 http traces, 1 span: accepted`
		checkReport(t, "Retries", r.OK(), false, r.String(), want)
	})
}

func TestRetriesAfterPermanent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "grpc first=1 -> invalid-argument")
		exporter{sender: "127.0.0.1:40000", backoff: time.Second, careless: true}.send(rc, refs(1, 2))
		r := Retries(rc.ledger.Attempts())
		want := `1 retry broke the sink's answer (of 1 answer that asked for a retry delay or for no retry):
  2 spans (4b000000000000000000000000000001/0100000000000001, 4b000000000000000000000000000002/0100000000000002): retried after a permanent refusal (InvalidArgument), which exporters must not retry
    +0s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 2 spans: refused InvalidArgument (permanent) [injected]
    +1s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 2 spans: accepted`
		checkReport(t, "Retries", r.OK(), false, r.String(), want)

		// The careful exporter stops.
		rc = newReceiver(t, "grpc first=1 -> invalid-argument")
		exporter{sender: "127.0.0.1:40000", backoff: time.Second}.send(rc, refs(1, 2))
		r = Retries(rc.ledger.Attempts())
		checkReport(t, "careful", r.OK(), true, r.String(), "retries honoured: 1 answer asked for a retry delay or for no retry, and no retry broke one")
	})
}

func TestRetriesAfterPartial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, `grpc first=1 -> partial rejected=1 message="quota"`)
		exporter{sender: "127.0.0.1:40000", backoff: 700 * time.Millisecond, careless: true}.send(rc, refs(1, 2, 3))
		att := rc.ledger.Attempts()
		r := Retries(att)
		want := `1 retry broke the sink's answer (of 1 answer that asked for a retry delay or for no retry):
  3 spans (4b000000000000000000000000000001/0100000000000001, 4b000000000000000000000000000002/0100000000000002, 4b000000000000000000000000000003/0100000000000003): retried after a partial success, which exporters must not retry
    +0s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 3 spans: partial success, 1 of 3 rejected ("quota") [injected]
    +700ms from 127.0.0.1:40000 (worker-rust-1) grpc traces, 3 spans: accepted`
		checkReport(t, "Retries", r.OK(), false, r.String(), want)

		// The stored two are now stored twice, the rejected one recovered
		// (by a retry that should not have happened).
		if d := Duplicates(att); d.OK() || d.Stored != 3 || len(d.Duplicates) != 1 || len(d.Duplicates[0].Spans) != 2 {
			t.Errorf("Duplicates: %s", d)
		}
		if l := Lost(att); !l.OK() || l.Refused != 1 || l.Recovered != 1 {
			t.Errorf("Lost: %s", l)
		}

		// A careful exporter does not retry; the rejected span is listed
		// as refused permanently.
		rc = newReceiver(t, `grpc first=1 -> partial rejected=1 message="quota"`)
		exporter{sender: "127.0.0.1:40000", backoff: 700 * time.Millisecond}.send(rc, refs(1, 2, 3))
		att = rc.ledger.Attempts()
		if r := Retries(att); !r.OK() {
			t.Errorf("careful: %s", r)
		}
		l := Lost(att)
		want = `nothing to prove: no refused span was retried and stored
1 span refused permanently, not expected to be retried:
  1 span (4b000000000000000000000000000003/0100000000000003):
    +0s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 3 spans: partial success, 1 of 3 rejected ("quota") [injected]`
		checkReport(t, "Lost", l.OK(), false, l.String(), want)
	})
}

// A hold makes the client time out; it retries at once, which is allowed.
func TestRetriesAfterHoldAndDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := newReceiver(t, "grpc first=1 -> hold", "grpc first=1 -> drop", "grpc first=1 -> unavailable retry=2s")
		exporter{sender: "127.0.0.1:40000", backoff: 100 * time.Millisecond, timeout: 5 * time.Second}.send(rc, refs(1))
		att := rc.ledger.Attempts()
		if len(att) != 4 {
			t.Fatalf("%d attempts", len(att))
		}
		r := Retries(att)
		checkReport(t, "Retries", r.OK(), true, r.String(), "retries honoured: 1 answer asked for a retry delay or for no retry, and no retry broke one")
		l := Lost(att)
		checkReport(t, "Lost", l.OK(), true, l.String(), "no span lost: 1 refused span was stored by a later attempt")
		var lines []string
		for _, a := range att {
			lines = append(lines, describeAttempt(a, att[0].Time))
		}
		want := []string{
			"+0s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 1 span: held until the client gave up, then refused DeadlineExceeded [injected]",
			"+5.1s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 1 span: connection dropped without an answer [injected]",
			"+5.2s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 1 span: refused Unavailable, RetryInfo 2s [injected]",
			"+7.2s from 127.0.0.1:40000 (worker-rust-1) grpc traces, 1 span: accepted",
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Errorf("attempt %d:\n got %s\nwant %s", i, lines[i], want[i])
			}
		}
	})
}

func TestRetriesNothingToProve(t *testing.T) {
	att := []Attempt{
		{Request: Request{Time: t0, Sender: "s"}, Spans: refs(1), Answer: GRPC(codes.Unavailable)},
		{Request: Request{Time: t0.Add(time.Millisecond), Sender: "s"}, Spans: refs(1)},
		// Without spans, an answer cannot be checked.
		{Request: Request{Time: t0, Sender: "s"}, Answer: GRPC(codes.InvalidArgument)},
	}
	r := Retries(att)
	checkReport(t, "Retries", r.OK(), false, r.String(), "nothing to prove: none of 3 attempts got an answer that asks for a retry delay or for no retry")
}

// Other senders' spans are not retries of these, and the report of a
// metrics request counts items.
func TestAnalysesSeparateSpans(t *testing.T) {
	att := []Attempt{
		{Request: Request{Time: t0, Sender: "a"}, Spans: refs(1), Answer: GRPC(codes.InvalidArgument)},
		{Request: Request{Time: t0.Add(time.Second), Sender: "b"}, Spans: refs(2)},
		{Request: Request{Time: t0.Add(2 * time.Second), Sender: "c", Transport: TransportGRPC, Signal: Metrics}, Count: 12, Answer: GRPC(codes.Unavailable)},
	}
	if r := Retries(att); !r.OK() || r.Checked != 1 {
		t.Errorf("%s", r)
	}
	if got, want := describeAttempt(att[2], t0), "+2s from c grpc metrics, 12 items: refused Unavailable"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := describeAttempt(Attempt{Request: Request{Time: t0}, Spans: refs(1)}, t0), "+0s from (unknown sender), 1 span: accepted"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
