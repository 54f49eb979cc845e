package jaeger

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// at is a time s seconds after t0, for readable windows.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestSearchWindowReachesBackToSinceWithSkew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{URL: "http://127.0.0.1:1", Services: []string{"svc"}, ClockSkew: 1500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		created := time.Now()
		time.Sleep(42 * time.Second)
		w := searchWindow(s.cfg.Since, time.Now(), s.cfg.ClockSkew)
		// Since defaults to New's time; the window runs from there (not
		// from an earlier poll) to now, 1.5s of slack on each side.
		if got, want := w.lo, created.Add(-1500*time.Millisecond); !got.Equal(want) {
			t.Errorf("window starts %s, want %s", got, want)
		}
		if got, want := w.hi.Sub(w.lo), 42*time.Second+3*time.Second; got != want {
			t.Errorf("window is %s wide, want %s", got, want)
		}
	})
}

// search counts the traces whose start time falls in a window, capped at
// depth as Jaeger's search is, and records the windows it was asked for.
type fakeSearch struct {
	starts  []time.Time
	depth   int
	windows []window
}

func (f *fakeSearch) search(_ context.Context, w window) (int, error) {
	f.windows = append(f.windows, w)
	n := 0
	for _, s := range f.starts {
		if !s.Before(w.lo) && !s.After(w.hi) {
			n++
		}
	}
	return min(n, f.depth), nil
}

func TestCoverSplitsFullWindowsUntilEachHoldsFewerThanDepth(t *testing.T) {
	f := &fakeSearch{depth: 3, starts: []time.Time{at(1 * time.Second), at(2 * time.Second), at(3 * time.Second), at(6 * time.Second)}}
	cov, err := cover(context.Background(), window{at(0), at(8 * time.Second)}, f.depth, time.Millisecond, 100, f.search)
	if err != nil {
		t.Fatal(err)
	}
	want := []window{
		{at(0), at(8 * time.Second)}, // 4 traces: capped at 3
		{at(0), at(4 * time.Second)}, // 3: capped again
		{at(4 * time.Second), at(8 * time.Second)},
		{at(0), at(2 * time.Second)},               // 2 (1s, 2s)
		{at(2 * time.Second), at(4 * time.Second)}, // 2 (2s again, at the shared midpoint, and 3s)
	}
	if d := cmp.Diff(want, f.windows, cmp.AllowUnexported(window{})); d != "" {
		t.Errorf("windows searched (-want +got):\n%s", d)
	}
	if cov.requests != 5 || len(cov.capped) != 0 {
		t.Errorf("coverage = %+v, want 5 requests and nothing capped", cov)
	}
}

func TestCoverReportsWindowsItCannotSplitFurther(t *testing.T) {
	same := at(time.Millisecond)
	f := &fakeSearch{depth: 2, starts: []time.Time{same, same, same}}
	cov, err := cover(context.Background(), window{at(0), at(4 * time.Millisecond)}, f.depth, time.Millisecond, 100, f.search)
	if err != nil {
		t.Fatal(err)
	}
	// 4ms splits into 2ms halves, the full one into 1ms halves; both of
	// those hold the three traces (the midpoint belongs to each) and can be
	// split no further: they are reported, never dropped.
	want := []window{{at(0), at(time.Millisecond)}, {at(time.Millisecond), at(2 * time.Millisecond)}}
	if d := cmp.Diff(want, cov.capped, cmp.AllowUnexported(window{})); d != "" {
		t.Errorf("capped windows (-want +got):\n%s", d)
	}
	if cov.requests != 5 {
		t.Errorf("%d requests, want 5", cov.requests)
	}
}

func TestCoverStopsAtTheRequestBudgetAndSaysWhatItDidNotSearch(t *testing.T) {
	var starts []time.Time
	for i := range 64 {
		starts = append(starts, at(time.Duration(i)*time.Second))
	}
	f := &fakeSearch{depth: 2, starts: starts}
	cov, err := cover(context.Background(), window{at(0), at(64 * time.Second)}, f.depth, time.Millisecond, 7, f.search)
	if err != nil {
		t.Fatal(err)
	}
	if cov.requests != 7 || len(f.windows) != 7 {
		t.Errorf("made %d requests (%d searched), want the budget of 7", cov.requests, len(f.windows))
	}
	if len(cov.capped) == 0 {
		t.Error("windows left unsearched were not reported")
	}
}

func TestCoverEndsOnASearchError(t *testing.T) {
	boom := errors.New("502 Bad Gateway")
	calls := 0
	_, err := cover(context.Background(), window{at(0), at(time.Second)}, 1, time.Millisecond, 100, func(context.Context, window) (int, error) {
		calls++
		if calls == 2 {
			return 0, boom
		}
		return 1, nil
	})
	if !errors.Is(err, boom) || calls != 2 {
		t.Errorf("err = %v after %d calls, want %v after 2", err, calls, boom)
	}
}

func TestNextBackoff(t *testing.T) {
	const lo, hi = 50 * time.Millisecond, time.Second
	var got []time.Duration
	b := time.Duration(0)
	for range 7 {
		b = nextBackoff(b, lo, hi, false)
		got = append(got, b)
	}
	want := []time.Duration{50, 100, 200, 400, 800, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("backoff (-want +got):\n%s", d)
	}
	if b := nextBackoff(hi, lo, hi, true); b != lo {
		t.Errorf("after a poll that found spans: %s, want %s", b, lo)
	}
}
