package otlpsink

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/bench/spangen"
	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/spanstore"
)

// BenchmarkDescribe is what the ledger and the fault selectors add to every
// trace request: reading its instances, correlation values and span IDs.
// Compare its ns/span with BenchmarkReceive's ingest-ns/span.
func BenchmarkDescribe(b *testing.B) {
	req := ptraceotlp.NewExportRequestFromTraces(spangen.Traces(512, 1))
	keys := spanstore.DefaultCorrelationKeys()
	b.ReportAllocs()
	for b.Loop() {
		var a fault.Attempt
		describe(&a, req, keys)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
}
