package assert_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// Never over a correlation that sent nothing fails: a typo in the ID, a
// correlation that is not propagated and a worker that exports nothing all
// look like that (traceproof#9; before, it passed).
func TestNeverOverACorrelationWithNoSpanFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Ingest(st, "worker-1", asserttest.Span{Name: "execute_step", Attrs: []any{"correlation_id", "order-A1"}})
		q := S().Named("execute_step").Correlated("order-A1x")
		start := time.Now()
		rec := asserttest.Record(t, func(tb testing.TB) { assert.On(tb, st).Never(q, 500*time.Millisecond) })
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Errorf("judged after %s, want the whole 500ms window", d)
		}
		asserttest.Contains(t, rec.Message(t),
			`expected no spans named "execute_step" in the trace of correlation "order-A1x" within 500ms`,
			`not proven: correlation "order-A1x" had no span at all`,
			`correlations that did arrive (newest first): "order-A1"`,
			`did you mean correlation "order-A1"?`,
			`assert.WithAllowEmpty()`)
		asserttest.Passes(t, func(tb testing.TB) {
			assert.On(tb, st, assert.WithAllowEmpty()).Never(q, 500*time.Millisecond)
		})
		// With spans in the correlation, the absence is proven.
		asserttest.Passes(t, func(tb testing.TB) {
			assert.On(tb, st).Never(S().Named("finalize_task").Correlated("order-A1"), 500*time.Millisecond)
		})
	})
}

// Without a correlation, an absence over a source that received nothing at
// all is no proof either; Exactly(q, 0) is an absence too.
func TestAbsenceOverAnEmptySourceFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		rec := asserttest.Record(t, func(tb testing.TB) { assert.On(tb, st).Never(S().Named("payment_failed"), time.Second) })
		asserttest.Contains(t, rec.Message(t), "not proven: the source received no span from anyone")
		rec = asserttest.Record(t, func(tb testing.TB) {
			assert.On(tb, st).Exactly(S().Named("execute_step").Correlated("c-1"), 0)
		})
		asserttest.Contains(t, rec.Message(t), `not proven: correlation "c-1" had no span at all`)
	})
}

// traceproof#9's third finding: otlptracehttp.WithEndpointURL(sink.HTTPURL())
// posts to "/", which the sink used to answer with Go's plain 404, counting
// nothing. Now the exporter gets a 404 that says what to do, the sink counts
// the path, and a failing check leads with "nothing arrived" and the
// exporter settings, and names the path and the fix.
func TestWrongExporterPathIsNamed(t *testing.T) {
	t.Parallel()
	sink := otlpsink.Start(t)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.HTTPURL()), otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	rec0 := tracetest.NewSpanRecorder()
	_, span := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec0)).Tracer("worker").Start(context.Background(), "execute_step")
	span.End()
	exportErr := exp.ExportSpans(context.Background(), rec0.Ended())
	if exportErr == nil || !strings.Contains(exportErr.Error(), "404") {
		t.Errorf("the exporter saw %v, want a 404", exportErr)
	}
	if n := sink.Stats().UnknownPaths["/"]; n != 1 {
		t.Errorf("Stats().UnknownPaths[\"/\"] = %d, want 1", n)
	}
	rec := asserttest.Record(t, func(tb testing.TB) {
		assert.On(tb, sink, assert.WithTimeout(50*time.Millisecond)).Eventually(S().Named("execute_step"), 1)
	})
	msg := rec.Message(t)
	if !strings.HasPrefix(msg, "NOTHING ARRIVED: the sink has received no span from any sender") {
		t.Errorf("the report does not lead with what is wrong:\n%s", msg)
	}
	asserttest.Contains(t, msg,
		"  gRPC: OTEL_EXPORTER_OTLP_ENDPOINT=http://"+sink.GRPCAddr()+" OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"  HTTP: OTEL_EXPORTER_OTLP_ENDPOINT="+sink.HTTPURL()+" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (Go: otlptracehttp.WithEndpointURL(\""+sink.TracesURL()+"\"))",
		`WARNING: 1 requests went to paths the sink does not serve ("/": 1): OTLP/HTTP exporters post to /v1/traces`,
		"POST / from ")

	// The sink answers in OTLP's error form with the fix.
	resp, err := http.Post(sink.HTTPURL()+"/v1/trace", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /v1/trace: %s, want 404", resp.Status)
	}
	if n := sink.Stats().UnknownPaths["/v1/trace"]; n != 1 {
		t.Errorf("UnknownPaths[/v1/trace] = %d", n)
	}
}
