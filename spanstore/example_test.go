package spanstore_test

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/spanstore"
)

// A saved dump (from `traceproof serve --out`, a failing test's
// TRACEPROOF_DUMP_DIR, or the Collector's file exporter) loads into a Store
// that answers the same queries.
func ExampleStore_LoadOTLPJSON() {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.instance.id", "worker-ruby-2")
	root := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	root.SetTraceID([16]byte{1})
	root.SetSpanID([8]byte{1})
	root.SetName("route_event")
	root.Events().AppendEmpty().SetName("Routing domain event")
	root.Events().At(0).Attributes().PutStr("correlation_id", "test-7")
	child := rs.ScopeSpans().At(0).Spans().AppendEmpty()
	child.SetTraceID([16]byte{1})
	child.SetSpanID([8]byte{2})
	child.SetParentSpanID([8]byte{1})
	child.SetName("publish")
	line, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()

	st := spanstore.New()
	n, err := st.LoadOTLPJSON(strings.NewReader(string(line)+"\n"), "dump.jsonl")
	fmt.Println(n, err)
	for _, s := range st.Correlated("test-7") {
		fmt.Println(s.Name, s.Instance())
	}
	// Output:
	// 2 <nil>
	// route_event worker-ruby-2
	// publish worker-ruby-2
}

// A receiver hands IngestProto the body of an OTLP/protobuf export request;
// the spans are then found by correlation value, trace or name.
func ExampleStore_IngestProto() {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.instance.id", "worker-rust-1")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.SetName("publish_event")
	sp.Attributes().PutStr("correlation_id", "order-A1")
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()

	st := spanstore.New()
	res, err := st.IngestProto(body, spanstore.Origin{Sender: "127.0.0.1:50000", Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto})
	fmt.Println(res.Accepted, err)
	for _, s := range st.Correlated("order-A1") {
		fmt.Println(s.Name, s.Instance())
	}

	_, err = st.IngestProto([]byte{0xff, 0xff}, spanstore.Origin{})
	fmt.Println(err != nil, st.Len())
	// Output:
	// 1 <nil>
	// publish_event worker-rust-1
	// true 1
}
