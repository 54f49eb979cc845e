package spangen_test

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/bench/spangen"
)

func TestStampedRequestsDecodeWithFreshIDs(t *testing.T) {
	for _, n := range []int{1, 3, 100, 512} {
		tpl := spangen.New(n)
		per := tpl.Size() / n
		t.Logf("%d spans: %d bytes, %d per span", n, tpl.Size(), per)
		if n >= 100 && (per < 550 || per > 700) {
			t.Errorf("%d spans: %d bytes per span, want about 600", n, per)
		}
		for _, seq := range []uint64{0, 1, 12345} {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(tpl.Request(seq)); err != nil {
				t.Fatalf("%d spans, request %d: %v", n, seq, err)
			}
			spans := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			if spans.Len() != n {
				t.Fatalf("got %d spans, want %d", spans.Len(), n)
			}
			want := spangen.Traces(n, seq)
			wantSpans := want.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for i := range n {
				got, exp := spans.At(i), wantSpans.At(i)
				if got.TraceID() != exp.TraceID() {
					t.Errorf("request %d span %d: trace %v, want %v", seq, i, got.TraceID(), exp.TraceID())
				}
				gc, _ := got.Attributes().Get("correlation_id")
				ec, _ := exp.Attributes().Get("correlation_id")
				if gc.Str() != ec.Str() {
					t.Errorf("request %d span %d: correlation_id %q, want %q", seq, i, gc.Str(), ec.Str())
				}
				gt, _ := got.Events().At(0).Attributes().Get("task_uuid")
				et, _ := exp.Events().At(0).Attributes().Get("task_uuid")
				if gt.Str() != et.Str() {
					t.Errorf("request %d span %d: task_uuid %q, want %q", seq, i, gt.Str(), et.Str())
				}
				if got.Attributes().Len() != 10 || got.Events().Len() != 1 {
					t.Errorf("span %d: %d attributes, %d events; want 10 and 1", i, got.Attributes().Len(), got.Events().Len())
				}
			}
		}
	}
	if got := spangen.CorrelationID(7); got != "0198c0de-7a1b-7000-8000-000000000007" {
		t.Errorf("CorrelationID(7) = %q", got)
	}
}
