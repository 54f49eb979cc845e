package fault

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
)

// ref is a span reference numbered n.
func ref(n int) SpanRef {
	return SpanRef{TraceID: [16]byte{0: 0x4b, 14: byte(n >> 8), 15: byte(n)}, SpanID: [8]byte{0: 0x01, 6: byte(n >> 8), 7: byte(n)}}
}

func refs(ns ...int) []SpanRef {
	out := make([]SpanRef, len(ns))
	for i, n := range ns {
		out[i] = ref(n)
	}
	return out
}

func TestSpanRefString(t *testing.T) {
	if got, want := ref(7).String(), "4b000000000000000000000000000007/0100000000000007"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLedger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Ledger
		start := time.Now()
		l.Add(Attempt{Request: Request{Transport: TransportGRPC, Signal: Traces, Sender: "a"}, Spans: refs(1, 2)})
		time.Sleep(time.Second)
		at := start.Add(10 * time.Second)
		l.Add(Attempt{Request: Request{Time: at, Sender: "b"}, Answer: GRPC(codes.Unavailable)})
		got := l.Attempts()
		if len(got) != 2 {
			t.Fatalf("%d attempts", len(got))
		}
		if !got[0].Time.Equal(start) || !got[1].Time.Equal(at) {
			t.Errorf("times %v %v: want the time of Add for a zero Time, the given one otherwise", got[0].Time, got[1].Time)
		}
		if got[0].count() != 2 || got[1].count() != 0 {
			t.Errorf("counts %d %d", got[0].count(), got[1].count())
		}
		// A snapshot is the caller's.
		got[0].Sender = "changed"
		if l.Attempts()[0].Sender != "a" {
			t.Error("changing a snapshot changed the ledger")
		}
		l.Reset()
		if n := len(l.Attempts()); n != 0 {
			t.Errorf("%d attempts after Reset", n)
		}
	})
	var nilLedger *Ledger
	nilLedger.Add(Attempt{})
	nilLedger.Reset()
	if nilLedger.Attempts() != nil {
		t.Error("a nil ledger holds attempts")
	}
}

func TestLedgerConcurrent(t *testing.T) {
	var l Ledger
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				l.Add(Attempt{Spans: refs(g*200 + i)})
				if i%50 == 0 {
					_ = l.Attempts()
				}
			}
		})
	}
	wg.Wait()
	seen := map[SpanRef]bool{}
	for _, a := range l.Attempts() {
		seen[a.Spans[0]] = true
	}
	if len(seen) != 1600 {
		t.Errorf("%d distinct attempts, want 1600", len(seen))
	}
}
