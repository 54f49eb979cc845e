package fault

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
)

func mustInjector(t *testing.T, start time.Time, texts ...string) *Injector {
	t.Helper()
	rules := make([]Rule, len(texts))
	for i, s := range texts {
		r, err := ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		rules[i] = r
	}
	in, err := NewInjector(start, rules...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var grpcTraces = Request{Time: t0, Transport: TransportGRPC, Signal: Traces, Sender: "127.0.0.1:40000"}

// fired lists, 1-based, which of n identical requests the injector answers.
func fired(in *Injector, req Request, n int) []int {
	var got []int
	for i := 1; i <= n; i++ {
		if _, ok := in.Decide(req); ok {
			got = append(got, i)
		}
	}
	return got
}

func TestDecideCounters(t *testing.T) {
	tests := []struct {
		rule string
		want []int
	}{
		{"first=3 -> unavailable", []int{1, 2, 3}},
		{"every=3 -> unavailable", []int{3, 6, 9}},
		{"every=1 -> unavailable", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"first=4 every=2 -> unavailable", []int{2, 4}},
		{"first=1 -> drop", []int{1}},
		{"-> drop", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for _, tt := range tests {
		in := mustInjector(t, t0, tt.rule)
		if got := fired(in, grpcTraces, 10); !slices.Equal(got, tt.want) {
			t.Errorf("%s: fired on %v, want %v", tt.rule, got, tt.want)
		}
	}
}

// The n-th request that passes a prob rule's filters gets the n-th draw of
// a generator seeded with the seed: the same positions in every run, and
// with the asked-for frequency.
func TestDecideProbability(t *testing.T) {
	const n = 20_000
	a := fired(mustInjector(t, t0, "prob=0.3 seed=7 -> unavailable"), grpcTraces, n)
	b := fired(mustInjector(t, t0, "prob=0.3 seed=7 -> unavailable"), grpcTraces, n)
	if !slices.Equal(a, b) {
		t.Fatal("two injectors with the same seed chose different requests")
	}
	// Pinned: a change here changes every seeded test that users wrote.
	if got, want := a[:8], []int{1, 2, 3, 4, 12, 13, 17, 19}; !slices.Equal(got, want) {
		t.Errorf("seed 7 fires on %v first, want %v", got, want)
	}
	if f := float64(len(a)) / n; math.Abs(f-0.3) > 0.01 {
		t.Errorf("prob=0.3 fired on %.4f of the requests", f)
	}
	c := fired(mustInjector(t, t0, "prob=0.3 seed=8 -> unavailable"), grpcTraces, n)
	if slices.Equal(a, c) {
		t.Error("seeds 7 and 8 chose the same requests")
	}
	if got := fired(mustInjector(t, t0, "prob=1 -> unavailable"), grpcTraces, 5); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Errorf("prob=1 fired on %v", got)
	}

	// The draw happens for every request that passes the filters, so first=
	// cuts the sequence without shifting it.
	limited := fired(mustInjector(t, t0, "prob=0.3 seed=7 first=12 -> unavailable"), grpcTraces, 100)
	if want := []int{1, 2, 3, 4, 12}; !slices.Equal(limited, want) {
		t.Errorf("prob=0.3 seed=7 first=12 fired on %v, want %v", limited, want)
	}
	// Requests that fail the filters draw nothing.
	in := mustInjector(t, t0, "http prob=0.3 seed=7 -> 503")
	var got []int
	for i := 1; i <= 20; i++ {
		if _, ok := in.Decide(grpcTraces); ok {
			t.Fatal("an http rule answered a gRPC request")
		}
		req := grpcTraces
		req.Transport = TransportHTTP
		if _, ok := in.Decide(req); ok {
			got = append(got, i)
		}
	}
	if want := []int{1, 2, 3, 4, 12, 13, 17, 19}; !slices.Equal(got, want) {
		t.Errorf("interleaved with gRPC requests, fired on %v, want %v", got, want)
	}
}

func TestDecideWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := mustInjector(t, time.Now(), "window=2s..5s -> unavailable", "window=7s.. -> drop")
		var got []string
		for range 10 {
			a, ok := in.Decide(Request{Transport: TransportGRPC, Signal: Traces}) // Time zero: now
			if ok {
				got = append(got, a.String())
			} else {
				got = append(got, "-")
			}
			time.Sleep(time.Second)
		}
		want := []string{"-", "-", "unavailable", "unavailable", "unavailable", "-", "-", "drop", "drop", "drop"}
		if !slices.Equal(got, want) {
			t.Errorf("seconds 0..9: %v, want %v", got, want)
		}
		// The exact edges: From is in the window, Until is not.
		in = mustInjector(t, t0, "window=2s..5s -> unavailable")
		for _, c := range []struct {
			at   time.Duration
			want bool
		}{{2*time.Second - 1, false}, {2 * time.Second, true}, {5*time.Second - 1, true}, {5 * time.Second, false}} {
			req := grpcTraces
			req.Time = t0.Add(c.at)
			if _, ok := in.Decide(req); ok != c.want {
				t.Errorf("at +%v: fired %v, want %v", c.at, ok, c.want)
			}
		}
	})
}

func TestDecideFilters(t *testing.T) {
	base := Request{Time: t0, Transport: TransportGRPC, Signal: Traces, Sender: "127.0.0.1:40000",
		Instances: []string{"worker-rust-1"}, Correlations: []string{"order-A1", "task-9"}}
	with := func(f func(*Request)) Request {
		r := base
		f(&r)
		return r
	}
	tests := []struct {
		rule string
		req  Request
		want bool
	}{
		{"grpc -> drop", base, true},
		{"http -> drop", base, false},
		{"traces -> drop", base, true},
		{"metrics -> drop", base, false},
		{"logs -> drop", with(func(r *Request) { r.Signal = Logs }), true},
		{"sender=127.0.0.1:* -> drop", base, true},
		{"sender=127.0.0.1:40000 -> drop", base, true},
		{"sender=10.0.0.1:* -> drop", base, false},
		{"sender=[::1]:* -> drop", with(func(r *Request) { r.Sender = "[::1]:5555" }), true},
		{"instance=worker-rust-* -> drop", base, true},
		{"instance=worker-ruby-* -> drop", base, false},
		{"instance=worker-rust-2 -> drop", with(func(r *Request) { r.Instances = []string{"worker-rust-1", "worker-rust-2"} }), true},
		{"instance=* -> drop", with(func(r *Request) { r.Instances = nil }), false},
		{"correlation=order-A1 -> drop", base, true},
		{"correlation=task-9 -> drop", base, true},
		{"correlation=order-* -> drop", base, true},
		{"correlation=order-B2 -> drop", base, false},
		{"correlation=order-A1 -> drop", with(func(r *Request) { r.Correlations = nil }), false},
		// Several selectors: all must hold.
		{"grpc traces sender=127.0.0.1:* instance=worker-rust-1 correlation=order-A1 -> drop", base, true},
		{"grpc traces sender=127.0.0.1:* instance=worker-rust-1 correlation=order-B2 -> drop", base, false},
		{"grpc metrics sender=127.0.0.1:* instance=worker-rust-1 correlation=order-A1 -> drop", base, false},
		// An answer that exists on one transport restricts its rule to it.
		{"-> unavailable", base, true},
		{"-> unavailable", with(func(r *Request) { r.Transport = TransportHTTP }), false},
		{"-> 503", base, false},
		{"-> 503", with(func(r *Request) { r.Transport = TransportHTTP }), true},
		{"-> partial rejected=1", with(func(r *Request) { r.Transport = TransportHTTP }), true},
	}
	for _, tt := range tests {
		in := mustInjector(t, t0, tt.rule)
		if _, ok := in.Decide(tt.req); ok != tt.want {
			t.Errorf("%s on %+v: fired %v, want %v", tt.rule, tt.req, ok, tt.want)
		}
	}
}

// Rules are checked in order, the first that selects a request answers it,
// and the rules after it do not count it.
func TestDecideOrder(t *testing.T) {
	in := mustInjector(t, t0, "first=2 -> drop", "every=2 -> unavailable", "-> aborted")
	var got []string
	for range 8 {
		a, ok := in.Decide(grpcTraces)
		if !ok {
			t.Fatal("the last rule selects everything")
		}
		got = append(got, a.String())
	}
	// Requests 3..8 are the second rule's 1st..6th.
	want := []string{"drop", "drop", "aborted", "unavailable", "aborted", "unavailable", "aborted", "unavailable"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	stats := in.Stats()
	if len(stats) != 3 {
		t.Fatalf("%d stats", len(stats))
	}
	for i, w := range []struct{ matched, fired int }{{8, 2}, {6, 3}, {3, 3}} {
		if stats[i].Matched != w.matched || stats[i].Fired != w.fired {
			t.Errorf("rule %d (%s): matched %d fired %d, want %d %d", i+1, stats[i].Rule, stats[i].Matched, stats[i].Fired, w.matched, w.fired)
		}
	}
}

func TestDecideNothing(t *testing.T) {
	var nilInjector *Injector
	if a, ok := nilInjector.Decide(grpcTraces); ok || a != (Answer{}) {
		t.Errorf("nil injector answered %v", a)
	}
	if nilInjector.Stats() != nil {
		t.Error("nil injector has stats")
	}
	in, err := NewInjector(t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.Decide(grpcTraces); ok {
		t.Error("an injector without rules answered")
	}
}

// Decide marks its answer with the rule, for the default message, and
// fixes an HTTP-date Retry-After relative to the request's time.
func TestDecideAnswer(t *testing.T) {
	in := mustInjector(t, t0, "grpc first=1 -> unavailable", "http -> 503 retry-after-date=2s")
	a, _ := in.Decide(grpcTraces)
	if a.rule != "rule 1 (grpc first=1 -> unavailable)" {
		t.Errorf("rule label %q", a.rule)
	}
	if a.Kind() != KindGRPC || a.Code() != codes.Unavailable {
		t.Errorf("answer %v", a)
	}
	req := grpcTraces
	req.Transport = TransportHTTP
	req.Time = t0.Add(300 * time.Millisecond)
	a, _ = in.Decide(req)
	if want := t0.Add(3 * time.Second); !a.retryAt.Equal(want) {
		t.Errorf("Retry-After date %v, want %v (request +300ms, +2s, rounded up)", a.retryAt, want)
	}
}

func TestDecideConcurrent(t *testing.T) {
	in := mustInjector(t, t0, "first=100 -> unavailable", "every=10 -> 503", "prob=0.5 seed=1 -> drop")
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[string]int{}
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				req := grpcTraces
				if (g+i)%2 == 0 {
					req.Transport = TransportHTTP
				}
				a, ok := in.Decide(req)
				mu.Lock()
				count[fmt.Sprint(a, ok)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got := count["unavailable true"]; got != 100 {
		t.Errorf("first=100 fired %d times", got)
	}
	// 2000 HTTP requests reach rule 2: every 10th.
	if got := count["503 true"]; got != 200 {
		t.Errorf("every=10 fired %d times, want 200", got)
	}
	s := in.Stats()
	if s[2].Matched != 4000-100-200 || s[2].Fired+count["ok false"] != s[2].Matched {
		t.Errorf("rule 3 stats %+v, outcomes %v", s[2], count)
	}
}
