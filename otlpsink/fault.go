package otlpsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/spanstore"
)

// This file holds what the transports call so that every OTLP request goes
// into the ledger and meets the fault rules: the handlers are wrapped
// (ledgerGRPC, ledgerHTTP) to record each request with the answer it got,
// and call Sink.consume where they used to store, which applies the fault
// package's integration contract (see its documentation) between decoding
// and storing.

// WithFaults makes the sink misbehave on purpose: each OTLP request (never a
// route mounted with [WithHandler]) meets rules in order, after it decoded
// and before anything is stored, and the first rule that selects it answers
// it instead of the sink: a refusal (gRPC status, with RetryInfo; HTTP status,
// with Retry-After), a partial success, a delay, a hold past the client's
// deadline or a dropped connection. Refused data is not stored. Windows count
// from the sink's start. New returns an error naming the rule when a rule is
// impossible ([fault.Rule.Validate]).
//
// Build rules with [fault.ParseRule] or as literals; [Sink.Ledger] records
// what each request got, [Sink.FaultStats] and [spanstore.Stats].Faults how
// often each rule fired.
func WithFaults(rules ...fault.Rule) Option {
	return optionFunc(func(c *config) { c.fault.rules = append(c.fault.rules, rules...) })
}

// WithLedgerLimits bounds the sink's [Ledger]: it keeps at most attempts
// requests and spans span references, forgetting the oldest beyond that
// (and counting them). Zero or less keeps a default
// ([DefaultLedgerAttempts], [DefaultLedgerSpans]).
func WithLedgerLimits(attempts, spans int) Option {
	return optionFunc(func(c *config) { c.fault.maxAttempts, c.fault.maxSpans = attempts, spans })
}

// faultConfig is what WithFaults and WithLedgerLimits set.
type faultConfig struct {
	rules                 []fault.Rule
	maxAttempts, maxSpans int
}

// faultState is a sink's injector, ledger and what dropping a gRPC
// connection needs.
type faultState struct {
	injector *fault.Injector // nil without rules: injects nothing
	ledger   *Ledger
	corrKeys []string
	conns    *connTracker // nil unless a rule drops gRPC connections
	// ctx ends when the sink closes, so that a delay or a hold does not
	// keep Close waiting.
	ctx    context.Context
	cancel context.CancelFunc
}

// start checks the rules and starts the injector's clock: the sink's start.
func (f *faultState) start(c faultConfig, st *spanstore.Store) error {
	f.ledger = newLedger(c.maxAttempts, c.maxSpans)
	f.corrKeys = st.CorrelationKeys()
	f.ctx, f.cancel = context.WithCancel(context.Background())
	if len(c.rules) == 0 {
		return nil
	}
	in, err := fault.NewInjector(time.Now(), c.rules...)
	if err != nil {
		f.cancel()
		return fmt.Errorf("otlpsink: WithFaults: %w", err)
	}
	f.injector = in
	for _, r := range c.rules {
		if r.Answer.Kind() == fault.KindDrop && r.Transport != fault.TransportHTTP {
			f.conns = &connTracker{}
			break
		}
	}
	return nil
}

// stop ends every delay and hold in progress: the sink is closing.
func (f *faultState) stop() {
	if f.cancel != nil {
		f.cancel()
	}
}

// Ledger is the sink's record of every OTLP request and its answer, kept
// whether or not fault rules are set.
func (s *Sink) Ledger() *Ledger { return s.fault.ledger }

// FaultStats says, per fault rule in order, how many requests reached it and
// passed its selectors, and how many it answered. It is nil without rules.
func (s *Sink) FaultStats() []fault.RuleStats { return s.fault.injector.Stats() }

// faultCounts is FaultStats for [spanstore.Stats].Faults: requests answered,
// by rule label ("rule 1 (grpc first=2 -> unavailable)").
func (f *faultState) faultCounts() map[string]uint64 {
	rs := f.injector.Stats()
	if len(rs) == 0 {
		return nil
	}
	m := make(map[string]uint64, len(rs))
	for i, r := range rs {
		m[RuleLabel(i, r.Rule)] = uint64(r.Fired)
	}
	return m
}

// RuleLabel is how messages and [spanstore.Stats].Faults name the i-th
// (0-based) fault rule: "rule 1 (grpc first=2 -> unavailable)", the label the
// fault package puts in its default messages.
func RuleLabel(i int, r fault.Rule) string { return fmt.Sprintf("rule %d (%s)", i+1, r) }

// attempt is one OTLP request on its way through the sink: the ledger entry
// it becomes, filled in as the request is decoded and answered.
type attempt struct {
	fault.Attempt
	w http.ResponseWriter // HTTP only
	// receipt, from the direct decoder, holds the spans of the request
	// (not copied into Attempt.Spans: the ledger takes them from here) and
	// the strings its Instances and Correlations point to; it goes back
	// to its pool once the ledger has the attempt.
	receipt *spanstore.Receipt
}

const maxPooledReceipt = 4096

// record adds x to the ledger.
func (s *Sink) record(x *attempt) {
	var direct []spanstore.SpanRef
	if x.receipt != nil {
		direct = x.receipt.Spans
	}
	s.fault.ledger.add(x.Attempt, direct)
	if x.receipt != nil {
		x.Instances, x.Correlations = nil, nil
		if cap(x.receipt.Spans) <= maxPooledReceipt { // a huge request's receipt is not kept
			receipts.Put(x.receipt)
		}
		x.receipt = nil
	}
}

type attemptKey struct{}

func attemptFrom(ctx context.Context) *attempt {
	x, _ := ctx.Value(attemptKey{}).(*attempt)
	return x
}

func newAttempt(t fault.Transport, sig signal, sender string) *attempt {
	return &attempt{Attempt: fault.Attempt{Request: fault.Request{
		Time: time.Now(), Transport: t, Signal: fault.Signal(sig.name), Sender: sender,
	}}}
}

type grpcHandler = func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error)

// ledgerGRPC records every call of h in the ledger, with the status it
// returned unless a fault or a partial success already set the answer.
func (s *Sink) ledgerGRPC(sig signal, h grpcHandler) grpcHandler {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		var sender string
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			sender = p.Addr.String()
		}
		x := newAttempt(fault.TransportGRPC, sig, sender)
		resp, err := h(srv, context.WithValue(ctx, attemptKey{}, x), dec, ic)
		if err != nil && !x.Answer.Refuses() && x.Answer.Kind() != fault.KindPartial {
			x.Answer = fault.GRPC(status.Code(err))
		}
		s.record(x)
		return resp, err
	}
}

// ledgerHTTP records every request h serves in the ledger, with the status
// it wrote unless a fault or a partial success already set the answer.
func (s *Sink) ledgerHTTP(sig signal, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := newAttempt(fault.TransportHTTP, sig, r.RemoteAddr)
		rec := &statusRecorder{ResponseWriter: w}
		x.w = rec
		// Deferred: a dropped HTTP/2 stream ends the handler with a panic.
		defer func() {
			if rec.status >= 400 && !x.Answer.Refuses() && x.Answer.Kind() != fault.KindPartial {
				x.Answer = fault.HTTP(rec.status)
			}
			s.record(x)
		}()
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), attemptKey{}, x)))
	})
}

// statusRecorder remembers the status an HTTP handler wrote. Unwrap lets
// http.ResponseController reach the connection (to hijack it for a drop).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// testHookPause, when set by a test, is called as a request with a fault
// starts its pause.
var testHookPause func(*Sink, fault.Answer)

// errAnswered is what the HTTP handler gets from consume when a fault rule
// wrote the whole answer: it must write nothing more.
var errAnswered = &httpError{reason: "fault", msg: "answered by a fault rule"}

// errWritten is consume's error when it wrote an HTTP answer.
var errWritten = errors.New("traceproof sink: answered by a fault rule")

// consume stores a decoded request, as sig.consume does, after the fault
// rules had their say; it is what both transports call once a request
// decoded. A refusal comes back as the gRPC error to return; over HTTP the
// answer is already written and the error is errWritten.
func (s *Sink) consume(ctx context.Context, sig signal, req exportRequest, o spanstore.Origin) (exportResponse, error) {
	x := attemptFrom(ctx)
	if x == nil {
		return sig.consume(s, req, o), nil
	}
	describe(&x.Attempt, req, s.fault.corrKeys)
	a, injected := s.fault.injector.Decide(x.Request)
	if !injected {
		resp := sig.consume(s, req, o)
		x.Answer = ownAnswer(resp)
		return resp, nil
	}
	x.Fault = a
	if testHookPause != nil {
		testHookPause(s, a)
	}
	if err := a.Pause(ctx, s.fault.ctx); err != nil {
		// The sink is closing: store nothing, and say so.
		closing := fault.GRPC(codes.Unavailable)
		if x.Transport == fault.TransportHTTP {
			closing = fault.HTTP(http.StatusServiceUnavailable)
		}
		return x.refuse(closing.WithMessage("traceproof sink: closing"), o)
	}
	switch a.Kind() {
	case fault.KindDrop:
		x.Answer = a
		if x.Transport == fault.TransportGRPC && s.fault.conns.drop(x.Sender) {
			return nil, status.Error(codes.Unavailable, "traceproof sink: connection dropped by a fault rule")
		}
		return x.refuse(a, o)
	case fault.KindGRPC, fault.KindHTTP, fault.KindHold:
		return x.refuse(a, o)
	case fault.KindPartial:
		rejected, msg := a.PartialSuccess(x.count())
		x.Rejected = trimLast(req, x.count()-rejected)
		resp := sig.consume(s, req, o)
		addPartial(resp, rejected, msg)
		x.Answer = a
		return resp, nil
	}
	// A delay has paused; the real answer follows.
	resp := sig.consume(s, req, o)
	x.Answer = ownAnswer(resp)
	return resp, nil
}

// refuse gives a refusal: the gRPC error to return, or, over HTTP, the
// answer written.
func (x *attempt) refuse(a fault.Answer, o spanstore.Origin) (exportResponse, error) {
	if x.Answer.Kind() != fault.KindDrop {
		x.Answer = a
	}
	if x.Transport == fault.TransportGRPC {
		return nil, a.GRPCError()
	}
	ctype := contentTypeProto
	if o.Encoding == spanstore.EncodingJSON {
		ctype = contentTypeJSON
	}
	a.WriteHTTP(x.w, ctype)
	return nil, errWritten
}

func (x *attempt) count() int {
	if x.Count == 0 {
		return len(x.Spans)
	}
	return x.Count
}

// ownAnswer is the sink's real answer to a request it stored: success, or a
// partial success for spans with all-zero IDs.
func ownAnswer(resp exportResponse) fault.Answer {
	if tr, ok := resp.(ptraceotlp.ExportResponse); ok {
		if n := tr.PartialSuccess().RejectedSpans(); n > 0 {
			return fault.Partial(int(n), tr.PartialSuccess().ErrorMessage())
		}
	}
	return fault.Answer{}
}

// addPartial adds a fault's rejection to the response's partial success
// (which may already count spans the store rejected).
func addPartial(resp exportResponse, rejected int, msg string) {
	join := func(old string) string {
		if old == "" {
			return msg
		}
		return msg + "; " + old
	}
	switch r := resp.(type) {
	case ptraceotlp.ExportResponse:
		ps := r.PartialSuccess()
		ps.SetRejectedSpans(ps.RejectedSpans() + int64(rejected))
		ps.SetErrorMessage(join(ps.ErrorMessage()))
	case pmetricotlp.ExportResponse:
		ps := r.PartialSuccess()
		ps.SetRejectedDataPoints(ps.RejectedDataPoints() + int64(rejected))
		ps.SetErrorMessage(join(ps.ErrorMessage()))
	case plogotlp.ExportResponse:
		ps := r.PartialSuccess()
		ps.SetRejectedLogRecords(ps.RejectedLogRecords() + int64(rejected))
		ps.SetErrorMessage(join(ps.ErrorMessage()))
	}
}

// describe fills in what the fault rules select by and the ledger keeps: the
// request's instances, correlation values, spans (those with valid IDs, in
// request order) and item count.
func describe(a *fault.Attempt, req exportRequest, corrKeys []string) {
	var d describer
	d.corrKeys = corrKeys
	switch r := req.(type) {
	case ptraceotlp.ExportRequest:
		rss := r.Traces().ResourceSpans()
		// As the direct decoder's receipt (Sink.export) has it: spans
		// with invalid IDs, which the store rejects, and resources without
		// a valid span bring nothing.
		for i := range rss.Len() {
			rs := rss.At(i)
			stored := false
			for j := range rs.ScopeSpans().Len() {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := range spans.Len() {
					sp := spans.At(k)
					a.Count++
					ref, ok := spanRef(sp)
					if !ok {
						continue
					}
					a.Spans = append(a.Spans, ref)
					d.attrs(sp.Attributes())
					for e := range sp.Events().Len() {
						d.attrs(sp.Events().At(e).Attributes())
					}
					stored = true
				}
			}
			if stored {
				d.resource(rs.Resource())
			}
		}
	case pmetricotlp.ExportRequest:
		rms := r.Metrics().ResourceMetrics()
		for i := range rms.Len() {
			d.resource(rms.At(i).Resource())
		}
		a.Count = r.Metrics().DataPointCount()
	case plogotlp.ExportRequest:
		rls := r.Logs().ResourceLogs()
		for i := range rls.Len() {
			d.resource(rls.At(i).Resource())
		}
		a.Count = r.Logs().LogRecordCount()
	}
	a.Instances, a.Correlations = d.instances, d.corrs
}

// describer collects a request's distinct instances and correlation values.
// They are copied: the request's strings may share the receive buffer.
type describer struct {
	corrKeys         []string
	instances, corrs []string
	seen             map[string]bool // correlation values, once there are many
}

func (d *describer) resource(r pcommon.Resource) {
	if v, ok := r.Attributes().Get("service.instance.id"); ok {
		if s := v.AsString(); s != "" && !slices.Contains(d.instances, s) {
			d.instances = append(d.instances, strings.Clone(s))
		}
	}
	d.attrs(r.Attributes())
}

func (d *describer) attrs(m pcommon.Map) {
	for _, k := range d.corrKeys {
		v, ok := m.Get(k)
		if !ok {
			continue
		}
		s := v.AsString()
		if s == "" || d.seen[s] || d.seen == nil && slices.Contains(d.corrs, s) {
			continue
		}
		s = strings.Clone(s)
		d.corrs = append(d.corrs, s)
		if d.seen != nil {
			d.seen[s] = true
		} else if len(d.corrs) > 16 {
			d.seen = make(map[string]bool, 2*len(d.corrs))
			for _, c := range d.corrs {
				d.seen[c] = true
			}
		}
	}
}

func spanRef(sp ptrace.Span) (fault.SpanRef, bool) {
	if sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty() {
		return fault.SpanRef{}, false
	}
	return fault.SpanRef{TraceID: sp.TraceID(), SpanID: sp.SpanID()}, true
}

// trimLast removes everything after the first keep items of the request (a
// partial success stores only those) and returns the removed spans.
func trimLast(req exportRequest, keep int) []fault.SpanRef {
	n := 0
	drop := func() bool { n++; return n > keep }
	var removed []fault.SpanRef
	switch r := req.(type) {
	case ptraceotlp.ExportRequest:
		rss := r.Traces().ResourceSpans()
		for i := range rss.Len() {
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				sss.At(j).Spans().RemoveIf(func(sp ptrace.Span) bool {
					if !drop() {
						return false
					}
					if ref, ok := spanRef(sp); ok {
						removed = append(removed, ref)
					}
					return true
				})
			}
		}
	case pmetricotlp.ExportRequest:
		rms := r.Metrics().ResourceMetrics()
		for i := range rms.Len() {
			sms := rms.At(i).ScopeMetrics()
			for j := range sms.Len() {
				ms := sms.At(j).Metrics()
				for k := range ms.Len() {
					trimDataPoints(ms.At(k), drop)
				}
			}
		}
	case plogotlp.ExportRequest:
		rls := r.Logs().ResourceLogs()
		for i := range rls.Len() {
			sls := rls.At(i).ScopeLogs()
			for j := range sls.Len() {
				sls.At(j).LogRecords().RemoveIf(func(plog.LogRecord) bool { return drop() })
			}
		}
	}
	return removed
}

func trimDataPoints(m pmetric.Metric, drop func() bool) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		m.Gauge().DataPoints().RemoveIf(func(pmetric.NumberDataPoint) bool { return drop() })
	case pmetric.MetricTypeSum:
		m.Sum().DataPoints().RemoveIf(func(pmetric.NumberDataPoint) bool { return drop() })
	case pmetric.MetricTypeHistogram:
		m.Histogram().DataPoints().RemoveIf(func(pmetric.HistogramDataPoint) bool { return drop() })
	case pmetric.MetricTypeExponentialHistogram:
		m.ExponentialHistogram().DataPoints().RemoveIf(func(pmetric.ExponentialHistogramDataPoint) bool { return drop() })
	case pmetric.MetricTypeSummary:
		m.Summary().DataPoints().RemoveIf(func(pmetric.SummaryDataPoint) bool { return drop() })
	}
}
