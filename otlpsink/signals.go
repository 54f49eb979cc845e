package otlpsink

import (
	"context"
	"sync"

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
			return newTraceResponse(res) // fault rules may add to it
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

// decodeError is export's error for a body that does not decode.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }

// export is what both transports call with a request's body: it decodes the
// body in o.Encoding and stores it (consume). Its error is a *decodeError
// for a body that does not decode, or consume's for a refusal. body is only
// read during the call.
//
// OTLP/protobuf trace requests decode straight into the store
// (Store.IngestProtoReceipt, whose receipt is the ledger's record of the
// request), unless something needs them as pdata first: fault rules, which
// select by the decoded request and may store part of it or none, or a
// WithOnTraces hook. Everything else decodes with pdata.
func (s *Sink) export(ctx context.Context, sig signal, body []byte, o spanstore.Origin) (exportResponse, error) {
	if sig.path == "/v1/traces" && o.Encoding == spanstore.EncodingProto && s.direct {
		x := attemptFrom(ctx)
		if x == nil {
			res, err := s.store.IngestProto(body, o)
			if err != nil {
				return nil, &decodeError{err}
			}
			return traceResponse(res), nil
		}
		x.receipt = receipts.Get().(*spanstore.Receipt)
		res, err := s.store.IngestProtoReceipt(body, o, x.receipt)
		if err != nil {
			return nil, &decodeError{err}
		}
		x.Count = res.Accepted + res.Rejected
		x.Instances, x.Correlations = x.receipt.Instances, x.receipt.Correlations
		resp := traceResponse(res)
		x.Answer = ownAnswer(resp)
		return resp, nil
	}
	req := sig.newReq()
	var err error
	if o.Encoding == spanstore.EncodingJSON {
		if err = req.UnmarshalJSON(body); err != nil {
			err = explainJSON(sig, body, err) // the field and the fix, not the parser's position dump
		}
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return nil, &decodeError{err}
	}
	return s.consume(ctx, sig, req, o)
}

// traceResponse answers a trace request the store took, with a response
// nothing may change.
func traceResponse(res spanstore.IngestResult) exportResponse {
	if res.Rejected == 0 {
		return emptyTraceResponse
	}
	return newTraceResponse(res)
}

func newTraceResponse(res spanstore.IngestResult) ptraceotlp.ExportResponse {
	resp := ptraceotlp.NewExportResponse()
	if res.Rejected == 0 {
		return resp
	}
	resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
	resp.PartialSuccess().SetErrorMessage(res.RejectReason)
	return resp
}

// emptyTraceResponse answers a request whose every span was stored; it is
// only ever encoded, never changed (addPartial changes only the responses
// of consume).
var emptyTraceResponse = ptraceotlp.NewExportResponse()

// receipts are the direct decoder's receipts, reused: the ledger copies
// what it keeps of one (Ledger.add).
var receipts = sync.Pool{New: func() any { return new(spanstore.Receipt) }}
