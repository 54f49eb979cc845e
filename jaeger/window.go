package jaeger

import (
	"context"
	"fmt"
	"time"
)

// window is a search's span start-time range. Jaeger includes both ends.
type window struct{ lo, hi time.Time }

// searchWindow is what every poll searches: from since to now, each end
// widened by skew. It always reaches back to since, never to the previous
// poll: a span becomes searchable some time after it started (it is exported
// when it ends, then batched and indexed), so a window that only covered
// "since the last poll" would miss a long span, or a slow export, for good.
func searchWindow(since, now time.Time, skew time.Duration) window {
	return window{lo: since.Add(-skew), hi: now.Add(skew)}
}

func (w window) String() string {
	return fmt.Sprintf("%s to %s (%s)", w.lo.UTC().Format(time.RFC3339Nano), w.hi.UTC().Format(time.RFC3339Nano), w.hi.Sub(w.lo))
}

// halves splits w at its midpoint. Both halves hold the midpoint, so a trace
// starting exactly there is found twice rather than never (traces are
// deduplicated by ID).
func (w window) halves() (window, window) {
	mid := w.lo.Add(w.hi.Sub(w.lo) / 2)
	return window{w.lo, mid}, window{mid, w.hi}
}

// coverage is how completely a search covered its window.
type coverage struct {
	requests int
	// capped lists the windows that still returned depth traces when they
	// could be split no further, or were not searched because the request
	// budget ran out: traces in them may be missing.
	capped []window
}

// cover searches w, and splits every window whose search returned depth
// traces (so may have left some out) into halves, searching those in turn,
// until each returns fewer, a window is narrower than minWidth, or
// maxRequests were made. search returns how many distinct traces a window
// held. An error from search ends the cover with that error.
func cover(ctx context.Context, w window, depth int, minWidth time.Duration, maxRequests int, search func(context.Context, window) (int, error)) (coverage, error) {
	var c coverage
	todo := []window{w}
	for len(todo) > 0 {
		cur := todo[0]
		todo = todo[1:]
		if c.requests == maxRequests {
			c.capped = append(c.capped, cur)
			continue
		}
		c.requests++
		n, err := search(ctx, cur)
		if err != nil {
			return c, err
		}
		if n < depth {
			continue
		}
		if cur.hi.Sub(cur.lo) < 2*minWidth {
			c.capped = append(c.capped, cur)
			continue
		}
		a, b := cur.halves()
		todo = append(todo, a, b)
	}
	return c, nil
}

// nextBackoff is the wait before the next poll: back to min after a poll
// that found new spans, else double, up to max.
func nextBackoff(cur, minB, maxB time.Duration, found bool) time.Duration {
	if found || cur < minB {
		return minB
	}
	return min(2*cur, maxB)
}
