package assert

import (
	"fmt"
	"time"
)

// settling says where a wait-then-settle assertion stands when it looks:
// still waiting for what it asked for (opened is zero), or, since opened,
// watching for extras until the settle window closes.
type settling struct {
	opened time.Time
	window time.Duration
}

func (s settling) open() bool { return !s.opened.IsZero() }

// extraArrived says when, within the window, the extra that failed the
// assertion arrived.
func (s settling) extraArrived() string {
	return fmt.Sprintf("the extra arrived %s into the %s settle window", round(time.Since(s.opened)), round(s.window))
}

// settleRules are what one assertion tells waitThenSettle: what it makes of
// the spans on each wake, and how it fails when time runs out. The waiting
// itself is the loop's, the same for all.
type settleRules struct {
	// look evaluates the spans on each wake, the first at once. It returns
	// the channel that closes when a span arrives that may change its
	// answer, whether what was asked for is met, and a violation (an extra, a
	// duplicate) that fails the assertion at once, whether waiting or
	// settling. Once met, the window stays open whatever later looks say.
	look func(settling) (changes <-chan struct{}, met bool, violation error)
	// ended is the failure when the context ends first: the timeout while
	// waiting, or the caller's context while settling.
	ended func(settling) error
	// extrasAllowed returns as soon as what was asked for is met, with no
	// settle window (Includes).
	extrasAllowed bool
}

// waitThenSettle is the loop of the assertions that prove "these and no
// more" (Exactly, OncePer, Published): wait, woken by the store and never by
// polling, until a look is met; then keep looking for the settle window, so
// that an extra that was still in flight fails the assertion. The window is
// a timer in the select, never a sleep, so an extra fails the assertion the
// moment it arrives. It returns nil when the window closes quietly.
//
// The window runs on w.parent, past w's timeout: the timeout bounds the wait
// for what was asked, and an answer that came just in time still gets its
// full window.
func (c *Checker) waitThenSettle(w *wait, a settleRules) error {
	s := settling{window: c.settle}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		changes, met, violation := a.look(s)
		if violation != nil {
			return violation
		}
		if met && !s.open() {
			if a.extrasAllowed {
				return nil
			}
			timer, s.opened = time.NewTimer(c.settle), time.Now()
		}
		done, fired := w.ctx, (<-chan time.Time)(nil)
		if timer != nil {
			done, fired = w.parent, timer.C
		}
		switch next(done, fired, changes) {
		case timerFired:
			return nil
		case ctxDone:
			return a.ended(s)
		}
	}
}
