package collector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/otlpsink"
)

// TestCollectorExporterFaults puts a Collector configured by
// collector-config.yaml (otlp_grpc exporter: retry_on_failure from 100ms to
// 1s, a sending queue, a 5s timeout per attempt) in front of a sink with one
// fault rule per case, sends it one batch, and checks what the sink's ledger
// shows the Collector did, and what it logged. The worker's own export
// always succeeds: the Collector answers it from its queue. With -v each
// case logs a "measured:" line (docs/faults.md).
func TestCollectorExporterFaults(t *testing.T) {
	t.Parallel()
	bin := collectorBin(t)
	cases := []struct {
		name string
		rule string
		// attempts are the ledger's answers in arrival order.
		attempts []string
		log      []string // in the Collector's log
		minGap   time.Duration
		// verdicts
		delivered, retriesHonoured bool
		permanent, stored, dups    int
	}{{
		name: "unavailable", rule: "first=2 -> unavailable",
		attempts: []string{"unavailable", "unavailable", "ok"}, log: []string{"Exporting failed. Will retry the request after interval."},
		delivered: true, stored: 3,
	}, {
		name: "unavailable with RetryInfo", rule: "first=1 -> unavailable retry=1500ms",
		attempts: []string{"unavailable retry=1.5s", "ok"}, log: []string{`"interval": "1.5s"`},
		minGap: 1500 * time.Millisecond, delivered: true, retriesHonoured: true, stored: 3,
	}, {
		name: "resource-exhausted", rule: "first=1 -> resource-exhausted",
		attempts: []string{"resource-exhausted"}, log: []string{"Exporting failed. Dropping data.", "not retryable error: Permanent error: rpc error: code = ResourceExhausted", `"dropped_items": 3`},
		retriesHonoured: true, permanent: 3,
	}, {
		name: "resource-exhausted with RetryInfo", rule: "first=1 -> resource-exhausted retry=500ms",
		attempts: []string{"resource-exhausted retry=500ms", "ok"},
		minGap:   500 * time.Millisecond, delivered: true, retriesHonoured: true, stored: 3,
	}, {
		name: "invalid-argument", rule: "first=1 -> invalid-argument",
		attempts: []string{"invalid-argument"}, log: []string{"Exporting failed. Dropping data.", "not retryable error: Permanent error: rpc error: code = InvalidArgument"},
		retriesHonoured: true, permanent: 3,
	}, {
		name: "partial", rule: `first=1 -> partial rejected=1 message="over quota"`,
		attempts: []string{`partial rejected=1 message="over quota"`}, log: []string{"Partial success response", `"message": "over quota", "dropped_spans": 1`},
		retriesHonoured: true, permanent: 1, stored: 2,
	}, {
		// The exporter's 5s timeout is per attempt: it gives up on the held
		// request and sends again.
		name: "hold", rule: "first=1 -> hold max=30s",
		attempts: []string{"hold max=30s", "ok"}, log: []string{"DeadlineExceeded"},
		delivered: true, stored: 3,
	}, {
		name: "drop", rule: "first=1 -> drop",
		attempts:  []string{"drop", "ok"},
		delivered: true, stored: 3,
	}, {
		// A delay past the 5s timeout: the sink stores the first attempt
		// after the Collector gave up on it and sent again.
		name: "delay past the timeout", rule: "first=1 -> delay=6s",
		attempts: []string{"ok", "ok"}, stored: 6, dups: 3,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := fault.ParseRule(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			sink := otlpsink.Start(t, otlpsink.WithFaults(r))
			col := StartTB(t, Config{BinPath: bin, SinkEndpoint: sink.GRPCAddr()})
			instance := "collector-" + strings.ReplaceAll(tc.name, " ", "-")
			exp := grpcExporter(t, col.GRPCEndpoint())
			if err := exp.ExportSpans(context.Background(), faultSpans(instance, 3)); err != nil {
				t.Fatalf("the worker's export to the Collector: %v", err)
			}

			att := waitAttempts(t, sink.Ledger(), len(tc.attempts), col)
			var got, gaps []string
			for i, a := range att {
				got = append(got, a.Answer.String())
				if i > 0 {
					gaps = append(gaps, a.Time.Sub(att[i-1].Time).Round(time.Millisecond).String())
				}
				if len(a.Spans) != 3 || !slices.Equal(a.Instances, []string{instance}) {
					t.Errorf("attempt %d: %d spans of %q; want the batch's 3 spans of %q", i+1, len(a.Spans), a.Instances, instance)
				}
			}
			if !slices.Equal(got, tc.attempts) {
				t.Errorf("ledger answers %q, want %q\n%s", got, tc.attempts, col.LogTail(20))
			}
			if tc.minGap > 0 && len(att) > 1 {
				if gap := att[1].Time.Sub(att[0].Time); gap < tc.minGap {
					t.Errorf("retried %s after the refusal, which asked for %s", gap, tc.minGap)
				}
			}
			t.Logf("measured: collector otlp_grpc %s: %d attempts, gaps %v", tc.rule, len(att), gaps)

			lost, dups := fault.Lost(att), fault.Duplicates(att)
			if n := count(lost.Lost); n != 0 {
				t.Errorf("%d spans lost:\n%s", n, lost)
			}
			if n := count(lost.Permanent); n != tc.permanent {
				t.Errorf("%d spans refused permanently, want %d:\n%s", n, tc.permanent, lost)
			}
			if n := count(dups.Duplicates); n != tc.dups {
				t.Errorf("%d spans stored twice, want %d:\n%s", n, tc.dups, dups)
			}
			if n := sink.Stats().Stored; n != tc.stored {
				t.Errorf("%d spans stored, want %d", n, tc.stored)
			}
			// A settle window past the exporter's 1s maximum backoff.
			tp := assert.On(t, sink, assert.WithTimeout(scaled(15*time.Second)), assert.WithSettle(scaled(1500*time.Millisecond)))
			if tc.delivered {
				tp.Delivered(sink.Ledger(), assert.NoDuplicates())
			}
			if tc.retriesHonoured {
				tp.RetriesHonoured(sink.Ledger())
			}
			if t.Failed() {
				t.Logf("collector log tail:\n%s", col.LogTail(40))
			}
			logs := col.LogTail(0)
			for j, s := range tc.log {
				i := strings.Index(logs, s)
				if i < 0 {
					t.Errorf("the Collector's log lacks %q:\n%s", s, col.LogTail(40))
					continue
				}
				if j == 0 {
					line := logs[strings.LastIndexByte(logs[:i], '\n')+1:]
					line, _, _ = strings.Cut(line, "\n")
					t.Logf("measured: the Collector logged: %s", line)
				}
			}
		})
	}
}

// faultSpans are n spans of one trace from one instance.
func faultSpans(instance string, n int) []sdktrace.ReadOnlySpan {
	res := resource.NewSchemaless(attribute.String("service.name", "tasker-core"), attribute.String("service.instance.id", instance))
	var traceID trace.TraceID
	copy(traceID[:], fmt.Sprintf("%-16.16s", instance))
	stubs := make(tracetest.SpanStubs, n)
	now := time.Now()
	for i := range stubs {
		stubs[i] = tracetest.SpanStub{
			Name: fmt.Sprintf("step-%d", i+1),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: traceID, SpanID: trace.SpanID{7: byte(i + 1)}, TraceFlags: trace.FlagsSampled,
			}),
			StartTime: now, EndTime: now.Add(time.Millisecond),
			Attributes: []attribute.KeyValue{attribute.String("correlation_id", "corr-"+instance)},
			Resource:   res,
		}
	}
	return stubs.Snapshots()
}

// waitAttempts waits, woken by the ledger, until it holds at least n
// attempts, and returns them in arrival order.
func waitAttempts(t *testing.T, l *otlpsink.Ledger, n int, col *Collector) []fault.Attempt {
	t.Helper()
	deadline := time.NewTimer(waitTimeout())
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
			t.Fatalf("the ledger holds %d attempts, want %d: %v\ncollector log tail:\n%s", l.Len(), n, l.Attempts(), col.LogTail(40))
		}
	}
}

func count(hs []fault.History) int {
	n := 0
	for _, h := range hs {
		n += len(h.Spans)
	}
	return n
}
