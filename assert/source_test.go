package assert_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/spanstore"
)

// backend is a Source the way a tracing backend is one: its spans can be
// late by a known delay, and its queries can fail.
type backend struct {
	*spanstore.Store
	delay time.Duration
	err   error
}

func (b *backend) Settle() time.Duration { return b.delay }
func (b *backend) Err() error            { return b.err }

// A source that knows its delay widens the settle window to it; an explicit
// WithSettle still wins.
func TestSourceSettleWidensTheWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Fast(st, "worker-1", "c-1", "order.validated", 0)
		src := &backend{Store: st, delay: 2 * time.Second}
		q := S().Named("publish").Correlated("c-1")
		start := time.Now()
		asserttest.Passes(t, func(tb testing.TB) { assert.On(tb, src).Exactly(q, 1) })
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("settled after %s, want the source's 2s", d)
		}
		start = time.Now()
		asserttest.Passes(t, func(tb testing.TB) { assert.On(tb, src, assert.WithSettle(time.Second)).Exactly(q, 1) })
		if d := time.Since(start); d != time.Second {
			t.Errorf("settled after %s, want the explicit 1s", d)
		}
	})
}

// An absence over a source whose queries failed is not proven, spans or not.
func TestSourceErrorFailsAnAbsence(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Fast(st, "worker-1", "c-1", "order.validated", 0)
		src := &backend{Store: st, err: errors.New("GET /api/v3/traces: 503 Service Unavailable")}
		rec := asserttest.Record(t, func(tb testing.TB) {
			assert.On(tb, src).Never(S().Named("payment_failed").Correlated("c-1"), time.Second)
		})
		asserttest.Contains(t, rec.Message(t),
			"not proven: the source reported an error while the check ran: GET /api/v3/traces: 503 Service Unavailable")
	})
}
