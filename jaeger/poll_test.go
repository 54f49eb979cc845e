package jaeger

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/traceproof/traceproof/spanstore"
)

// recorder stands in for one poll, recording when each ran; result decides
// what poll n (from 1) reports.
type recorder struct {
	mu     sync.Mutex
	start  time.Time
	times  []time.Duration
	result func(n int) pollResult
}

func (r *recorder) poll(context.Context, []spanstore.TraceID) pollResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, time.Since(r.start))
	if r.result == nil {
		return pollResult{requests: 1}
	}
	return r.result(len(r.times))
}

func (r *recorder) got() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.times...)
}

func newTestSource(t *testing.T, rec *recorder) *Source {
	t.Helper()
	s, err := New(Config{URL: "http://127.0.0.1:1", Services: []string{"svc"}})
	if err != nil {
		t.Fatal(err)
	}
	rec.start = time.Now()
	s.pollFn = rec.poll
	return s
}

func ms(ds ...int) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = time.Duration(d) * time.Millisecond
	}
	return out
}

func TestPollerBacksOffFrom50msTo1sAndResetsWhenAPollFindsSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{result: func(n int) pollResult {
			if n == 5 {
				return pollResult{requests: 1, found: 3}
			}
			return pollResult{requests: 1}
		}}
		s := newTestSource(t, rec)
		defer s.Close()
		s.Changed(spanstore.Filter{Correlation: "order-1"}) // nothing will close it
		time.Sleep(5 * time.Second)
		synctest.Wait()
		// Waits 50, 100, 200, 400; poll 5 finds spans: 50, 100, 200, 400,
		// 800, then 1s at most.
		want := ms(0, 50, 150, 350, 750, 800, 900, 1100, 1500, 2300, 3300, 4300)
		if d := cmp.Diff(want, rec.got()); d != "" {
			t.Errorf("poll times (-want +got):\n%s", d)
		}
	})
}

func TestPollerStopsWhenNoOneWaitsAndCloseLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := newTestSource(t, rec)
		// A one-off Spans polls once, waits for it, and leaves no poller
		// behind: the bubble would report a goroutine still blocked.
		s.Spans(spanstore.Filter{Name: "x"})
		synctest.Wait()
		if got := rec.got(); len(got) != 1 {
			t.Fatalf("polls after one Spans: %v, want one", got)
		}
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if running {
			t.Fatal("poller still running with no waiter")
		}
		// Within MaxBackoff of that poll, Spans answers from what it has.
		time.Sleep(time.Second)
		s.Spans(spanstore.Filter{Name: "x"})
		if got := rec.got(); len(got) != 1 {
			t.Errorf("Spans within MaxBackoff polled again: %v", got)
		}
		// Past it, Spans polls first.
		time.Sleep(time.Millisecond)
		s.Spans(spanstore.Filter{Name: "x"})
		if d := cmp.Diff(ms(0, 1001), rec.got()); d != "" {
			t.Errorf("poll times (-want +got):\n%s", d)
		}
		// Many waiters share the one poller, which Close ends.
		for i := range 100 {
			s.Changed(spanstore.Filter{Correlation: strings.Repeat("x", i+1)})
		}
		time.Sleep(250 * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// 1001 ms: started by Changed; then 50, 100 ms of backoff.
		if d := cmp.Diff(ms(0, 1001, 1001, 1051, 1151), rec.got()); d != "" {
			t.Errorf("poll times (-want +got):\n%s", d)
		}
		before := len(rec.got())
		time.Sleep(10 * time.Second)
		if after := len(rec.got()); after != before {
			t.Errorf("%d polls after Close", after-before)
		}
	})
}

func TestPollProblemsAreCountedKeptAndFolded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{result: func(n int) pollResult {
			switch {
			case n <= 3:
				return pollResult{requests: 1, failed: []string{"GET http://127.0.0.1:1/api/v3/traces: connection refused"}}
			case n == 4:
				return pollResult{requests: 2, incomplete: []string{"incomplete: service \"svc\" ..."}}
			}
			return pollResult{requests: 1}
		}}
		s := newTestSource(t, rec)
		defer s.Close()
		if err := s.Err(); err != nil {
			t.Fatalf("Err before any poll: %v", err)
		}
		s.Changed(spanstore.Filter{Correlation: "c"})
		time.Sleep(time.Second)
		h := s.Health()
		if h.Failed != 3 || h.Incomplete != 1 || h.Polls != 5 || h.Requests != 6 {
			t.Errorf("health = %+v, want 3 failed, 1 incomplete, 5 polls, 6 requests", h)
		}
		errs := s.Stats().LastErrors
		want := []string{
			"00:00:00.000 GET http://127.0.0.1:1/api/v3/traces: connection refused (3 times, last at 00:00:00.150)",
			"00:00:00.350 incomplete: service \"svc\" ...",
		}
		// synctest's clock starts at midnight UTC 2000-01-01; the source
		// formats times in local time.
		for i := range want {
			want[i] = localClock(want[i])
		}
		if d := cmp.Diff(want, errs); d != "" {
			t.Errorf("LastErrors (-want +got):\n%s", d)
		}
		if err := s.Err(); err == nil || !strings.Contains(err.Error(), "3 of 5 polls failed and 1 were incomplete") {
			t.Errorf("Err() = %v", err)
		}
	})
}

// localClock rewrites the "hh:mm:ss.mmm" times of s, written for UTC
// midnight, into the local zone's clock at that instant.
func localClock(s string) string {
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	out := s
	for _, f := range strings.Fields(s) {
		f = strings.TrimSuffix(f, ")")
		if d, err := time.Parse("15:04:05.000", f); err == nil {
			off := time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute +
				time.Duration(d.Second())*time.Second + time.Duration(d.Nanosecond())
			out = strings.Replace(out, f, base.Add(off).Local().Format("15:04:05.000"), 1)
		}
	}
	return out
}

func TestTheFirstAnswerWaitsForTheFirstPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{result: func(int) pollResult {
			time.Sleep(300 * time.Millisecond) // a slow Jaeger
			return pollResult{requests: 1}
		}}
		s := newTestSource(t, rec)
		defer s.Close()
		// As the engine does: Changed starts the poller, then Spans. An
		// answer before the first poll completed would be a verdict on
		// nothing (a Never passing without ever having looked).
		s.Changed(spanstore.Filter{Correlation: "c"})
		s.Spans(spanstore.Filter{Correlation: "c"})
		if got := time.Since(rec.start); got != 300*time.Millisecond {
			t.Errorf("Spans answered after %s, want the first poll's 300ms", got)
		}
		// Later answers come from what the running poller fetched.
		s.Spans(spanstore.Filter{Correlation: "c"})
		if got := time.Since(rec.start); got != 300*time.Millisecond {
			t.Errorf("the second Spans waited until %s", got)
		}
	})
}
