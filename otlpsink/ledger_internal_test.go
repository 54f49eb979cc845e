package otlpsink

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/fault"
)

// TestLedgerKeepsWhatItWasGiven: the compact ledger gives back, attempt for
// attempt, the last ones added within its bounds, and forgets the values of
// the attempts it dropped (a long run of unique correlation values does not
// grow it).
func TestLedgerKeepsWhatItWasGiven(t *testing.T) {
	l := newLedger(50, 400)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var all []fault.Attempt
	for i := range 5000 {
		a := fault.Attempt{Request: fault.Request{Time: t0.Add(time.Duration(i) * time.Millisecond), Transport: fault.TransportGRPC,
			Signal: "traces", Sender: fmt.Sprintf("127.0.0.1:%d", 40000+i%7), Instances: []string{fmt.Sprintf("worker-%d", i%3)},
			Correlations: []string{fmt.Sprintf("task-%d", i), "shared"}}, Count: i%9 + 1}
		for j := range i % 9 {
			a.Spans = append(a.Spans, fault.SpanRef{TraceID: [16]byte{byte(i), byte(i >> 8)}, SpanID: [8]byte{byte(j)}})
		}
		switch i % 5 {
		case 1:
			a.Fault = fault.GRPC(14).WithMessage(fmt.Sprintf("refused %d", i))
			a.Answer = a.Fault
		case 2:
			if n := len(a.Spans); n > 1 {
				a.Answer = fault.Partial(1, "rejected 1")
				a.Rejected, a.Spans = a.Spans[n-1:], a.Spans[:n-1]
			}
		}
		l.add(a, nil)
		all = append(all, a)
	}
	// What stays is the longest run of the newest attempts within both
	// bounds.
	keep, spans := 0, 0
	for i := len(all) - 1; i >= 0 && keep < 50; i-- {
		n := len(all[i].Spans) + len(all[i].Rejected)
		if spans+n > 400 {
			break
		}
		keep, spans = keep+1, spans+n
	}
	require.Greater(t, keep, 10)
	got := l.Attempts()
	require.Len(t, got, keep)
	require.Equal(t, keep, l.Len())
	assert.Equal(t, 5000-len(got), l.Dropped())
	want := all[len(all)-len(got):]
	for i := range want {
		assert.True(t, want[i].Time.Equal(got[i].Time), "attempt %d: time %v, want %v", i, got[i].Time, want[i].Time)
		got[i].Time = want[i].Time
	}
	assert.Equal(t, want, got)
	// Only the live attempts' values are held: 7 senders, 3 instances,
	// the shared value, a task value per attempt, transport and signal.
	assert.LessOrEqual(t, len(l.strs.ids), 7+3+1+len(got)+2)
	assert.LessOrEqual(t, len(l.answers.ids), len(got))

	l.Reset()
	assert.Zero(t, l.Len())
	assert.Zero(t, l.Dropped())
	assert.Empty(t, l.Attempts())
}
