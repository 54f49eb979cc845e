package otlpsink

import (
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/spanstore"
)

// exportRequest and exportResponse are what pdata's OTLP request and response
// types of every signal have in common; the transports need nothing more.
type exportRequest interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type exportResponse interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// signal is one OTLP signal as both transports serve it.
type signal struct {
	name    string // "traces", for messages
	service string // gRPC service name
	path    string // HTTP path
	newReq  func() exportRequest
	consume func(s *Sink, req exportRequest, o spanstore.Origin) exportResponse
}

var signals = []signal{
	{
		name:    "traces",
		service: "opentelemetry.proto.collector.trace.v1.TraceService",
		path:    "/v1/traces",
		newReq:  func() exportRequest { return ptraceotlp.NewExportRequest() },
		consume: func(s *Sink, req exportRequest, o spanstore.Origin) exportResponse {
			td := req.(ptraceotlp.ExportRequest).Traces()
			res := s.store.Ingest(td, o)
			for _, h := range s.cfg.onTraces {
				h(td, o)
			}
			resp := ptraceotlp.NewExportResponse()
			if res.Rejected > 0 {
				resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
				resp.PartialSuccess().SetErrorMessage(res.RejectReason)
			}
			return resp
		},
	},
	{
		name:    "metrics",
		service: "opentelemetry.proto.collector.metrics.v1.MetricsService",
		path:    "/v1/metrics",
		newReq:  func() exportRequest { return pmetricotlp.NewExportRequest() },
		consume: func(s *Sink, req exportRequest, o spanstore.Origin) exportResponse {
			s.recv.other(o, req.(pmetricotlp.ExportRequest).Metrics().DataPointCount(), 0)
			return pmetricotlp.NewExportResponse()
		},
	},
	{
		name:    "logs",
		service: "opentelemetry.proto.collector.logs.v1.LogsService",
		path:    "/v1/logs",
		newReq:  func() exportRequest { return plogotlp.NewExportRequest() },
		consume: func(s *Sink, req exportRequest, o spanstore.Origin) exportResponse {
			s.recv.other(o, 0, req.(plogotlp.ExportRequest).Logs().LogRecordCount())
			return plogotlp.NewExportResponse()
		},
	},
}
