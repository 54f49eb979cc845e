package otlpsink_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/otlpsink"
)

// These tests point the Go SDK's OTLP trace exporters, with their own retry
// (WithRetry, short backoffs), at a sink with one fault rule each, and check
// both sides: what ExportSpans returned (the error a batch span processor
// hands to otel.ErrorHandler) and what the sink's ledger recorded. Each case
// states what the exporter does, as measured, spec-following or not; run
// with -v, each logs a "measured:" line, the source of docs/faults.md's
// table.

// exporterCase is one fault rule against one exporter.
type exporterCase struct {
	name  string
	rules []string
	// timeout is the exporter's timeout (WithTimeout); 0 means 3s. The gRPC
	// exporter's bounds the whole export, retries included; the HTTP
	// exporter's each attempt.
	timeout time.Duration
	// attempts are the ledger's entries, "FAULT => ANSWER" ("-" for no
	// fault), in arrival order.
	attempts []string
	// wantErr are substrings of ExportSpans' error; none means nil.
	wantErr []string
	// minGap: the first retry came at least this long after the first
	// attempt (a RetryInfo or Retry-After honoured).
	minGap time.Duration
	// verdicts the ledger must give.
	delivered, retriesHonoured bool
	lost, permanent, stored    int // spans lost, refused permanently, held by the store in the end
	duplicated                 int // spans stored twice
}

const spansPerExport = 3

var grpcCases = []exporterCase{{
	name: "unavailable", rules: []string{"first=2 -> unavailable"},
	attempts:  []string{"unavailable => unavailable", "unavailable => unavailable", "- => ok"},
	delivered: true, stored: 3,
}, {
	name: "unavailable with RetryInfo", rules: []string{"first=1 -> unavailable retry=400ms"},
	attempts: []string{"unavailable retry=400ms => unavailable retry=400ms", "- => ok"},
	minGap:   400 * time.Millisecond, delivered: true, retriesHonoured: true, stored: 3,
}, {
	name: "resource-exhausted", rules: []string{"first=1 -> resource-exhausted"},
	attempts: []string{"resource-exhausted => resource-exhausted"},
	wantErr:  []string{"ResourceExhausted", "rule 1 (first=1 -> resource-exhausted)"},
	// Not retried: without RetryInfo it is permanent.
	retriesHonoured: true, permanent: 3,
}, {
	name: "resource-exhausted with RetryInfo", rules: []string{"first=1 -> resource-exhausted retry=400ms"},
	attempts: []string{"resource-exhausted retry=400ms => resource-exhausted retry=400ms", "- => ok"},
	minGap:   400 * time.Millisecond, delivered: true, retriesHonoured: true, stored: 3,
}, {
	name: "deadline-exceeded", rules: []string{"first=1 -> deadline-exceeded"},
	attempts:  []string{"deadline-exceeded => deadline-exceeded", "- => ok"},
	delivered: true, stored: 3,
}, {
	// The exporter's timeout covers its retries: once a hold has used it
	// up, the exporter gives up with DeadlineExceeded and the spans are
	// lost, though DeadlineExceeded is retryable.
	name: "hold", rules: []string{"first=1 -> hold max=10s"}, timeout: 800 * time.Millisecond,
	attempts: []string{"hold max=10s => hold max=10s"},
	wantErr:  []string{"DeadlineExceeded"},
	lost:     3,
}, {
	name: "invalid-argument", rules: []string{"first=1 -> invalid-argument"},
	attempts:        []string{"invalid-argument => invalid-argument"},
	wantErr:         []string{"InvalidArgument"},
	retriesHonoured: true, permanent: 3,
}, {
	name: "partial", rules: []string{`first=1 -> partial rejected=2 message="over quota"`},
	attempts:        []string{`partial rejected=2 message="over quota" => partial rejected=2 message="over quota"`},
	wantErr:         []string{"OTLP partial success: over quota (2 spans rejected)"},
	retriesHonoured: true, permanent: 2, stored: 1,
}, {
	name: "delay", rules: []string{"first=1 -> delay=300ms"},
	attempts: []string{"delay=300ms => ok"},
	stored:   3,
}, {
	// A delay past the exporter's timeout: the exporter reports a failure,
	// yet the sink stored the spans; with the timeout spent it does not
	// retry, so nothing is stored twice.
	name: "delay past the timeout", rules: []string{"first=1 -> delay=1600ms"}, timeout: 800 * time.Millisecond,
	attempts: []string{"delay=1.6s => ok"},
	wantErr:  []string{"DeadlineExceeded"},
	stored:   3,
}, {
	name: "drop", rules: []string{"first=1 -> drop"},
	attempts:  []string{"drop => drop", "- => ok"},
	delivered: true, stored: 3,
}}

var httpCases = []exporterCase{{
	name: "503", rules: []string{"first=2 -> 503"},
	attempts:  []string{"503 => 503", "503 => 503", "- => ok"},
	delivered: true, stored: 3,
}, {
	name: "429 Retry-After seconds", rules: []string{"first=1 -> 429 retry-after=1s"},
	attempts: []string{"429 retry-after=1s => 429 retry-after=1s", "- => ok"},
	minGap:   time.Second, delivered: true, retriesHonoured: true, stored: 3,
}, {
	name: "502 Retry-After HTTP-date", rules: []string{"first=1 -> 502 retry-after-date=1s"},
	attempts: []string{"502 retry-after-date=1s => 502 retry-after-date=1s", "- => ok"},
	// The date is rounded up to a whole second: at least the 1s asked.
	minGap: time.Second, delivered: true, retriesHonoured: true, stored: 3,
}, {
	name: "504", rules: []string{"first=1 -> 504"},
	attempts:  []string{"504 => 504", "- => ok"},
	delivered: true, stored: 3,
}, {
	name: "400", rules: []string{"first=1 -> 400"},
	attempts:        []string{"400 => 400"},
	wantErr:         []string{"400 Bad Request", "rule 1 (first=1 -> 400)"},
	retriesHonoured: true, permanent: 3,
}, {
	name: "partial", rules: []string{"first=1 -> partial rejected=1"},
	attempts:        []string{"partial rejected=1 => partial rejected=1"},
	wantErr:         []string{"OTLP partial success: traceproof sink: rejected 1 of 3; fault injected by rule 1 (first=1 -> partial rejected=1) (1 spans rejected)"},
	retriesHonoured: true, permanent: 1, stored: 2,
}, {
	name: "delay", rules: []string{"first=1 -> delay=300ms"},
	attempts: []string{"delay=300ms => ok"},
	stored:   3,
}, {
	// The HTTP exporter's timeout is per attempt: it gives up on the slow
	// answer and sends again, and the sink, which stored the first, stores
	// the spans twice.
	name: "delay past the timeout", rules: []string{"first=1 -> 503", "first=1 -> delay=1600ms"}, timeout: 800 * time.Millisecond,
	attempts:  []string{"503 => 503", "delay=1.6s => ok", "- => ok"},
	delivered: true, stored: 6, duplicated: 3,
}, {
	name: "hold", rules: []string{"first=1 -> hold max=10s"}, timeout: 800 * time.Millisecond,
	attempts:  []string{"hold max=10s => hold max=10s", "- => ok"},
	delivered: true, stored: 3,
}, {
	// A connection closed without an answer is not retried: net/http does
	// not resend a POST, and the exporter does not count the error (EOF)
	// as temporary. The spec says it SHOULD retry.
	name: "drop", rules: []string{"first=1 -> drop"},
	attempts: []string{"drop => drop"},
	wantErr:  []string{"EOF"},
	lost:     3,
}}

func TestGoGRPCExporterFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range grpcCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runExporterCase(t, "otlptracegrpc", tc, func(sink *otlpsink.Sink, timeout time.Duration) (sdktrace.SpanExporter, error) {
				return otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(sink.GRPCAddr()), otlptracegrpc.WithInsecure(),
					otlptracegrpc.WithTimeout(timeout), otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{
						Enabled: true, InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxElapsedTime: 5 * time.Second,
					}))
			})
		})
	}
}

func TestGoHTTPExporterFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range httpCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runExporterCase(t, "otlptracehttp", tc, func(sink *otlpsink.Sink, timeout time.Duration) (sdktrace.SpanExporter, error) {
				return otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.TracesURL()),
					otlptracehttp.WithTimeout(timeout), otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
						Enabled: true, InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxElapsedTime: 5 * time.Second,
					}))
			})
		})
	}
}

func runExporterCase(t *testing.T, exporter string, tc exporterCase, newExporter func(*otlpsink.Sink, time.Duration) (sdktrace.SpanExporter, error)) {
	var rules []fault.Rule
	for _, text := range tc.rules {
		r, err := fault.ParseRule(text)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	sink := otlpsink.Start(t, otlpsink.WithFaults(rules...))
	timeout := tc.timeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	exp, err := newExporter(sink, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })

	instance := exporter + "/" + tc.name
	start := time.Now()
	exportErr := exp.ExportSpans(context.Background(), testSpans(instance, spansPerExport))
	took := time.Since(start)

	// What the client saw.
	switch {
	case len(tc.wantErr) == 0 && exportErr != nil:
		t.Errorf("ExportSpans: %v, want success", exportErr)
	case len(tc.wantErr) > 0 && exportErr == nil:
		t.Errorf("ExportSpans succeeded, want an error with %q", tc.wantErr)
	case exportErr != nil:
		for _, s := range tc.wantErr {
			if !strings.Contains(exportErr.Error(), s) {
				t.Errorf("ExportSpans: %v; want it to contain %q", exportErr, s)
			}
		}
	}

	// What the sink saw. The last attempt may be recorded just after the
	// client has its answer (a dropped connection, a delay past the
	// client's timeout): wait for it.
	attempts := waitAttempts(t, sink.Ledger(), len(tc.attempts))
	var got []string
	for _, a := range attempts {
		f := "-"
		if a.Fault.Kind() != fault.KindOK {
			f = a.Fault.String()
		}
		got = append(got, f+" => "+a.Answer.String())
		if a.Sender == "" || a.Transport == "" || a.Signal != fault.Traces || len(a.Spans) != spansPerExport ||
			len(a.Instances) != 1 || a.Instances[0] != instance || len(a.Correlations) != 1 {
			t.Errorf("attempt recorded as %+v; want its sender, transport, signal, 3 spans, instance %q and correlation", a.Request, instance)
		}
	}
	if strings.Join(got, "\n") != strings.Join(tc.attempts, "\n") {
		t.Errorf("ledger:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.attempts, "\n  "))
	}
	var gaps []string
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, attempts[i].Time.Sub(attempts[i-1].Time).Round(time.Millisecond).String())
	}
	if tc.minGap > 0 && len(attempts) > 1 {
		if gap := attempts[1].Time.Sub(attempts[0].Time); gap < tc.minGap {
			t.Errorf("retried %s after the first attempt; the answer asked for %s", gap, tc.minGap)
		}
	}
	t.Logf("measured: %s %s: %d attempts, gaps %v, ExportSpans took %s, returned %v",
		exporter, strings.Join(tc.rules, "; "), len(attempts), gaps, took.Round(time.Millisecond), exportErr)

	// What the ledger proves.
	lost, dups := fault.Lost(attempts), fault.Duplicates(attempts)
	if n := spanCount(lost.Lost); n != tc.lost {
		t.Errorf("%d spans lost, want %d:\n%s", n, tc.lost, lost)
	}
	if n := spanCount(lost.Permanent); n != tc.permanent {
		t.Errorf("%d spans refused permanently, want %d:\n%s", n, tc.permanent, lost)
	}
	if n := spanCount(dups.Duplicates); n != tc.duplicated {
		t.Errorf("%d spans stored twice, want %d:\n%s", n, tc.duplicated, dups)
	}
	if n := sink.Stats().Stored; n != tc.stored {
		t.Errorf("%d spans stored, want %d", n, tc.stored)
	}
	// A settle window longer than the exporters' 100ms maximum backoff: a
	// forbidden retry would come within it.
	tp := assert.On(t, sink, assert.WithTimeout(5*time.Second), assert.WithSettle(150*time.Millisecond))
	if tc.delivered {
		d := tp.Delivered(sink.Ledger())
		if len(d.Attempts) != len(tc.attempts) {
			t.Errorf("Delivered judged %d attempts, want %d", len(d.Attempts), len(tc.attempts))
		}
		if tc.duplicated > 0 {
			if _, err := assert.Check(sink, assert.WithTimeout(time.Second)).Delivered(context.Background(), sink.Ledger(), assert.NoDuplicates()); err == nil {
				t.Error("Delivered with NoDuplicates passed over a ledger with duplicates")
			}
		}
	}
	if tc.retriesHonoured {
		tp.RetriesHonoured(sink.Ledger())
	}
	if st := sink.Stats(); st.Faults[otlpsink.RuleLabel(0, rules[0])] == 0 {
		t.Errorf("Stats().Faults = %v: rule 1 never counted", st.Faults)
	}
}

// testSpans are n spans of one trace from one instance, with a correlation
// value, as the SDK's batch span processor would hand them to an exporter.
func testSpans(instance string, n int) []sdktrace.ReadOnlySpan {
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
func waitAttempts(t *testing.T, l *otlpsink.Ledger, n int) []fault.Attempt {
	t.Helper()
	deadline := time.NewTimer(assert.Scaled(10 * time.Second))
	defer deadline.Stop()
	for {
		ch := l.Changed()
		if att := l.Attempts(); len(att) >= n {
			sortByTime(att)
			return att
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("the ledger holds %d attempts, want %d: %v", l.Len(), n, l.Attempts())
		}
	}
}

func sortByTime(att []fault.Attempt) {
	slices.SortStableFunc(att, func(a, b fault.Attempt) int { return a.Time.Compare(b.Time) })
}

func spanCount(hs []fault.History) int {
	n := 0
	for _, h := range hs {
		n += len(h.Spans)
	}
	return n
}
