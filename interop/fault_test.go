//go:build interop

package interop_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/otlpsink"
)

// TestNodeSDKFaults points the JavaScript SDK's exporters, with their
// built-in retry (5 retries at most, 1s initial backoff, Retry-After
// honoured, all within the export timeout), at a sink with one fault rule,
// and checks what send.js reported (its exit code and the exporter's error)
// against what the sink's ledger recorded. The cases record what the
// exporters do, as measured: the HTTP exporters retry what the spec says to
// retry; the gRPC exporter (0.223.1) retries nothing. With -v each case logs a
// "measured:" line (docs/faults.md).
func TestNodeSDKFaults(t *testing.T) {
	cases := []struct {
		name     string
		protocol otlpsink.Protocol
		rule     string
		env      []string
		// attempts are the ledger's answers in arrival order.
		attempts []string
		exitCode int
		stderr   []string // in send.js's stderr
		minGap   time.Duration
		// verdicts
		delivered, retriesHonoured bool
		lost, permanent, stored    int
	}{{
		name: "503", protocol: otlpsink.ProtocolHTTPProtobuf, rule: "first=2 -> 503",
		attempts: []string{"503", "503", "ok"}, delivered: true, stored: 3,
	}, {
		name: "429 Retry-After seconds", protocol: otlpsink.ProtocolHTTPJSON, rule: "first=1 -> 429 retry-after=2s",
		attempts: []string{"429 retry-after=2s", "ok"}, minGap: 2 * time.Second, delivered: true, retriesHonoured: true, stored: 3,
	}, {
		name: "502 Retry-After HTTP-date", protocol: otlpsink.ProtocolHTTPProtobuf, rule: "first=1 -> 502 retry-after-date=2s",
		attempts: []string{"502 retry-after-date=2s", "ok"}, minGap: 2 * time.Second, delivered: true, retriesHonoured: true, stored: 3,
	}, {
		name: "400", protocol: otlpsink.ProtocolHTTPProtobuf, rule: "first=1 -> 400",
		attempts: []string{"400"}, exitCode: 1, stderr: []string{"Bad Request", "code: 400"},
		retriesHonoured: true, permanent: 3,
	}, {
		// The exporter logs the partial success and reports success.
		name: "partial", protocol: otlpsink.ProtocolHTTPJSON, rule: `first=1 -> partial rejected=1 message="over quota"`,
		attempts: []string{`partial rejected=1 message="over quota"`}, stderr: []string{"over quota"},
		retriesHonoured: true, permanent: 1, stored: 2,
	}, {
		name: "drop", protocol: otlpsink.ProtocolHTTPProtobuf, rule: "first=1 -> drop",
		attempts: []string{"drop", "ok"}, delivered: true, stored: 3,
	}, {
		// A request timing out uses up the export's whole timeout, which
		// also bounds its retries: the spans are lost.
		name: "hold", protocol: otlpsink.ProtocolHTTPProtobuf, rule: "first=1 -> hold max=20s", env: []string{"OTEL_EXPORTER_OTLP_TIMEOUT=1000"},
		attempts: []string{"hold max=20s"}, exitCode: 1, stderr: []string{"Request timed out"}, lost: 3,
	}, {
		// The gRPC exporter does not retry at all, though the spec says
		// Unavailable is retryable: the spans are lost.
		name: "grpc unavailable", protocol: otlpsink.ProtocolGRPC, rule: "first=1 -> unavailable",
		attempts: []string{"unavailable"}, exitCode: 1, stderr: []string{"14 UNAVAILABLE"}, lost: 3,
	}, {
		name: "grpc resource-exhausted with RetryInfo", protocol: otlpsink.ProtocolGRPC, rule: "first=1 -> resource-exhausted retry=1s",
		attempts: []string{"resource-exhausted retry=1s"}, exitCode: 1, stderr: []string{"8 RESOURCE_EXHAUSTED"}, lost: 3,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := fault.ParseRule(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			sink := otlpsink.Start(t, otlpsink.WithFaults(r))
			instance := "node-" + strings.ReplaceAll(tc.name, " ", "-")
			corr := correlationID(tc.name)
			res := runNode(t, append(sink.ExporterEnv(tc.protocol, instance), tc.env...), "--correlation", corr)

			if res.exitCode != tc.exitCode {
				t.Errorf("send.js exited %d, want %d; stderr:\n%s", res.exitCode, tc.exitCode, res.stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("send.js stderr lacks %q:\n%s", s, res.stderr)
				}
			}

			att := waitAttempts(t, sink.Ledger(), len(tc.attempts))
			var got, gaps []string
			for i, a := range att {
				got = append(got, a.Answer.String())
				if i > 0 {
					gaps = append(gaps, a.Time.Sub(att[i-1].Time).Round(time.Millisecond).String())
				}
				if len(a.Spans) != len(spanNames) || !slices.Equal(a.Instances, []string{instance}) || !slices.Contains(a.Correlations, corr) {
					t.Errorf("attempt %d: %d spans, instances %q, correlations %q; want 3 spans of %q with %q", i+1, len(a.Spans), a.Instances, a.Correlations, instance, corr)
				}
			}
			if !slices.Equal(got, tc.attempts) {
				t.Errorf("ledger answers %q, want %q\n%s", got, tc.attempts, fault.Lost(att))
			}
			if tc.minGap > 0 && len(att) > 1 {
				if gap := att[1].Time.Sub(att[0].Time); gap < tc.minGap {
					t.Errorf("retried %s after the refusal, which asked for %s", gap, tc.minGap)
				}
			}
			t.Logf("measured: node %s %s: %d attempts, gaps %v, exit %d, stderr %q",
				tc.protocol, tc.rule, len(att), gaps, res.exitCode, firstErrorLine(res.stderr))

			lost := fault.Lost(att)
			if n := spans(lost.Lost); n != tc.lost {
				t.Errorf("%d spans lost, want %d:\n%s", n, tc.lost, lost)
			}
			if n := spans(lost.Permanent); n != tc.permanent {
				t.Errorf("%d spans refused permanently, want %d:\n%s", n, tc.permanent, lost)
			}
			if n := sink.Stats().Stored; n != tc.stored {
				t.Errorf("%d spans stored, want %d", n, tc.stored)
			}
			// A settle window past the exporter's first backoff (1s ± 20%):
			// a forbidden retry would come within it.
			tp := assert.On(t, sink, assert.WithTimeout(scaled(10*time.Second)), assert.WithSettle(scaled(1500*time.Millisecond)))
			if tc.delivered {
				tp.Delivered(sink.Ledger(), assert.NoDuplicates())
			}
			if tc.retriesHonoured {
				tp.RetriesHonoured(sink.Ledger())
			}
		})
	}
}

// waitAttempts waits, woken by the ledger, until it holds at least n
// attempts, and returns them in arrival order.
func waitAttempts(t *testing.T, l *otlpsink.Ledger, n int) []fault.Attempt {
	t.Helper()
	deadline := time.NewTimer(scaled(15 * time.Second))
	defer deadline.Stop()
	for {
		ch := l.Changed()
		if att := l.Attempts(); len(att) >= n {
			slices.SortStableFunc(att, func(a, b fault.Attempt) int { return a.Time.Compare(b.Time) })
			return att
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("the ledger holds %d attempts, want %d: %v", l.Len(), n, l.Attempts())
		}
	}
}

func spans(hs []fault.History) int {
	n := 0
	for _, h := range hs {
		n += len(h.Spans)
	}
	return n
}

func firstErrorLine(stderr string) string {
	for l := range strings.Lines(stderr) {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
