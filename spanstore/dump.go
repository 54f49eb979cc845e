package spanstore

import (
	"bytes"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ToTraces converts spans back to pdata, grouped by resource and scope, so
// they can be encoded as OTLP again (the Origin and arrival time are not part
// of OTLP and are dropped). Resources and scopes come in the order their
// first span does, and spans keep their order.
func ToTraces(spans []Span) ptrace.Traces {
	td := ptrace.NewTraces()
	type groupKey struct{ res, scope string }
	scopes := map[groupKey]ptrace.SpanSlice{}
	resources := map[string]ptrace.ResourceSpans{}
	var buf []byte
	for _, s := range spans {
		buf = appendStr(buf[:0], s.Resource.SchemaURL)
		buf = appendAttrs(buf, s.Resource.Attributes)
		rk := string(buf)
		rs, ok := resources[rk]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			rs.SetSchemaUrl(s.Resource.SchemaURL)
			attrsToPdata(s.Resource.Attributes, rs.Resource().Attributes())
			resources[rk] = rs
		}
		buf = appendStr(buf[:0], s.Scope.Name)
		buf = appendStr(buf, s.Scope.Version)
		buf = appendAttrs(buf, s.Scope.Attributes)
		gk := groupKey{rk, string(buf)}
		ss, ok := scopes[gk]
		if !ok {
			sc := rs.ScopeSpans().AppendEmpty()
			sc.Scope().SetName(s.Scope.Name)
			sc.Scope().SetVersion(s.Scope.Version)
			attrsToPdata(s.Scope.Attributes, sc.Scope().Attributes())
			ss = sc.Spans()
			scopes[gk] = ss
		}
		spanToPdata(s, ss.AppendEmpty())
	}
	return td
}

func spanToPdata(s Span, sp ptrace.Span) {
	sp.SetTraceID(pcommon.TraceID(s.TraceID))
	sp.SetSpanID(pcommon.SpanID(s.SpanID))
	sp.SetParentSpanID(pcommon.SpanID(s.ParentSpanID))
	sp.TraceState().FromRaw(s.TraceState)
	sp.SetFlags(s.Flags)
	sp.SetName(s.Name)
	sp.SetKind(ptrace.SpanKind(s.Kind))
	sp.SetStartTimestamp(timestamp(s.Start))
	sp.SetEndTimestamp(timestamp(s.End))
	sp.Status().SetCode(ptrace.StatusCode(s.Status.Code))
	sp.Status().SetMessage(s.Status.Message)
	attrsToPdata(s.Attributes, sp.Attributes())
	for _, e := range s.Events {
		pe := sp.Events().AppendEmpty()
		pe.SetName(e.Name)
		pe.SetTimestamp(timestamp(e.Time))
		attrsToPdata(e.Attributes, pe.Attributes())
	}
	for _, l := range s.Links {
		pl := sp.Links().AppendEmpty()
		pl.SetTraceID(pcommon.TraceID(l.TraceID))
		pl.SetSpanID(pcommon.SpanID(l.SpanID))
		pl.TraceState().FromRaw(l.TraceState)
		attrsToPdata(l.Attributes, pl.Attributes())
	}
}

// timestamp converts a span or event time to OTLP. The store keeps OTLP's 0
// ("unknown") as the zero time.Time, which must become 0 again: its UnixNano
// is out of range and would come back as 1754-08-30T22:43:41Z.
func timestamp(t time.Time) pcommon.Timestamp {
	if t.IsZero() {
		return 0
	}
	return pcommon.NewTimestampFromTime(t)
}

// WriteOTLPJSON writes spans as one line of OTLP/JSON ({"resourceSpans":[...]}),
// the format of the Collector's file exporter and of `traceproof serve --out`,
// which LoadOTLPJSON and `traceproof dump` read back.
func WriteOTLPJSON(w io.Writer, spans []Span) error {
	return WriteTracesJSON(w, ToTraces(spans))
}

// WriteTracesJSON writes td as one line of OTLP/JSON.
func WriteTracesJSON(w io.Writer, td ptrace.Traces) error {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// LoadOTLPJSON reads OTLP/JSON lines (one export request per line, as the
// Collector's file exporter writes them) into the store, attributing them to
// name. Lines holding metrics or logs are skipped. It returns the number of
// spans loaded. A line that does not load does not stop it: the others are
// loaded, and the error lists every bad line by number (each a *LineError;
// LoadOTLPJSONReport has them as a list).
func (st *Store) LoadOTLPJSON(r io.Reader, name string) (int, error) {
	rep, err := st.LoadOTLPJSONReport(r, name)
	if err != nil {
		return rep.Spans, err
	}
	return rep.Spans, rep.Err()
}

// isOtherSignal reports a file-exporter line that carries metrics or logs.
func isOtherSignal(line []byte) bool {
	i := bytes.IndexByte(line, '"')
	if i < 0 {
		return false
	}
	rest := line[i+1:]
	return bytes.HasPrefix(rest, []byte("resourceMetrics")) || bytes.HasPrefix(rest, []byte("resourceLogs")) ||
		bytes.HasPrefix(rest, []byte("resource_metrics")) || bytes.HasPrefix(rest, []byte("resource_logs"))
}

// LoadFile reads an OTLP/JSON lines file into a new store.
func LoadFile(path string, opts ...Option) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st := New(opts...)
	if _, err := st.LoadOTLPJSON(f, path); err != nil {
		return st, err
	}
	return st, nil
}
