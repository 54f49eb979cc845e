package otlpsink

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/fault"
)

// paused reports, on the channel it returns, each fault answer that starts
// its pause on sink s (other tests' sinks are ignored).
func paused(t *testing.T, s *Sink) <-chan fault.Answer {
	ch := make(chan fault.Answer, 4)
	hookMu.Lock()
	hooked[s] = ch
	if testHookPause == nil {
		testHookPause = func(s *Sink, a fault.Answer) {
			hookMu.Lock()
			ch := hooked[s]
			hookMu.Unlock()
			if ch != nil {
				ch <- a
			}
		}
	}
	hookMu.Unlock()
	t.Cleanup(func() {
		hookMu.Lock()
		delete(hooked, s)
		hookMu.Unlock()
	})
	return ch
}

var (
	hookMu sync.Mutex
	hooked = map[*Sink]chan fault.Answer{}
)

// Close ends a hold at once rather than wait for it (a hold without max
// lasts 30s): the held request is answered "closing" and stores nothing.
func TestCloseEndsAHold(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"grpc", "http"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r, err := fault.ParseRule(transport + " -> hold")
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(WithFaults(r))
			if err != nil {
				t.Fatal(err)
			}
			held := paused(t, s)
			td := ptrace.NewTraces()
			sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetTraceID([16]byte{1})
			sp.SetSpanID([8]byte{1})
			req := ptraceotlp.NewExportRequestFromTraces(td)

			answer := make(chan string, 1)
			go func() {
				if transport == "grpc" {
					cc, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
					if err != nil {
						answer <- err.Error()
						return
					}
					defer cc.Close()
					_, err = ptraceotlp.NewGRPCClient(cc).Export(context.Background(), req)
					answer <- status.Code(err).String() + ": " + status.Convert(err).Message()
					return
				}
				body, _ := req.MarshalJSON()
				resp, err := http.Post(s.TracesURL(), "application/json", bytes.NewReader(body))
				if err != nil {
					answer <- err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answer <- resp.Status + ": " + string(b)
			}()
			if a := <-held; a.Kind() != fault.KindHold {
				t.Fatalf("paused for %v, want the hold", a)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			got := <-answer
			want := codes.Unavailable.String() + ": traceproof sink: closing"
			if transport == "http" {
				want = "503 Service Unavailable: "
			}
			if !strings.HasPrefix(got, want) || !strings.Contains(got, "traceproof sink: closing") {
				t.Errorf("the held request got %q, want %q ... \"traceproof sink: closing\"", got, want)
			}
			att := s.Ledger().Attempts()
			if len(att) != 1 || att[0].Fault.Kind() != fault.KindHold || !att[0].Answer.Refuses() {
				t.Errorf("ledger %+v, want one held attempt, refused", att)
			}
			if n := s.Stats().Stored; n != 0 {
				t.Errorf("%d spans stored, want none", n)
			}
		})
	}
}
