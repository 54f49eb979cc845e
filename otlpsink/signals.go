package otlpsink

import (
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/spanstore"
)

// exportRequest is what pdata's OTLP request types of every signal have in
// common.
type exportRequest interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

// exportResponse is what the transports need of a response.
type exportResponse interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// signal is one OTLP signal as both transports serve it.
type signal struct {
	name    string // "traces", for messages
	service string // gRPC service name
	path    string // HTTP path
	// export decodes a request body in o.Encoding and consumes it. An error
	// means the body does not decode; nothing of it was kept.
	export func(s *Sink, body []byte, o spanstore.Origin) (exportResponse, error)
}

// decodePdata decodes body into req in the encoding o names.
func decodePdata(req exportRequest, body []byte, o spanstore.Origin) error {
	if o.Encoding == spanstore.EncodingJSON {
		return req.UnmarshalJSON(body)
	}
	return req.UnmarshalProto(body)
}

var signals = []signal{
	{
		name:    "traces",
		service: "opentelemetry.proto.collector.trace.v1.TraceService",
		path:    "/v1/traces",
		export:  exportTraces,
	},
	{
		name:    "metrics",
		service: "opentelemetry.proto.collector.metrics.v1.MetricsService",
		path:    "/v1/metrics",
		export: func(s *Sink, body []byte, o spanstore.Origin) (exportResponse, error) {
			req := pmetricotlp.NewExportRequest()
			if err := decodePdata(req, body, o); err != nil {
				return nil, err
			}
			s.recv.other(o, req.Metrics().DataPointCount(), 0)
			return pmetricotlp.NewExportResponse(), nil
		},
	},
	{
		name:    "logs",
		service: "opentelemetry.proto.collector.logs.v1.LogsService",
		path:    "/v1/logs",
		export: func(s *Sink, body []byte, o spanstore.Origin) (exportResponse, error) {
			req := plogotlp.NewExportRequest()
			if err := decodePdata(req, body, o); err != nil {
				return nil, err
			}
			s.recv.other(o, 0, req.Logs().LogRecordCount())
			return plogotlp.NewExportResponse(), nil
		},
	},
}

// exportTraces stores a trace request. OTLP/protobuf goes straight into the
// store (Store.IngestProto) unless a WithOnTraces hook needs the request as
// pdata, or a test chose pdata's decoder; OTLP/JSON is always pdata's.
func exportTraces(s *Sink, body []byte, o spanstore.Origin) (exportResponse, error) {
	var res spanstore.IngestResult
	if o.Encoding == spanstore.EncodingProto && !s.cfg.pdataDecoder && len(s.cfg.onTraces) == 0 {
		var err error
		if res, err = s.store.IngestProto(body, o); err != nil {
			return nil, err
		}
	} else {
		req := ptraceotlp.NewExportRequest()
		if err := decodePdata(req, body, o); err != nil {
			return nil, err
		}
		td := req.Traces()
		res = s.store.Ingest(td, o)
		for _, h := range s.cfg.onTraces {
			h(td, o)
		}
	}
	if res.Rejected == 0 {
		return emptyTraceResponse, nil
	}
	resp := ptraceotlp.NewExportResponse()
	resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
	resp.PartialSuccess().SetErrorMessage(res.RejectReason)
	return resp, nil
}

// emptyTraceResponse answers a request whose every span was stored; it is
// only ever encoded, never changed.
var emptyTraceResponse = ptraceotlp.NewExportResponse()
