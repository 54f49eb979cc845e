package spanstore

import (
	"cmp"
	"slices"
	"time"
)

// TraceCorrelations returns the correlation values attached to a stored
// trace (found under the store's correlation keys on any of its spans), in
// the order they were attached, or nil for a trace the store does not hold.
// A span's JSON form carries them ([AppendJSON]), since a child span often
// reaches its task only through its trace.
func (st *Store) TraceCorrelations(id TraceID) []string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if te := st.traces[id]; te != nil {
		return slices.Clone(te.corrs)
	}
	return nil
}

// CorrelationSummary describes the spans stored under one correlation value:
// what a listing of tasks (the live view of traceproof serve) shows without
// building every span.
type CorrelationSummary struct {
	Value string
	// TraceIDs are the value's traces, in the order they were attached.
	TraceIDs []TraceID
	Spans    int
	// Errors counts spans whose status is Error.
	Errors int
	// Instances and Services name the emitting processes ([Span.Instance],
	// [Span.Service]), sorted.
	Instances []string
	Services  []string
	// FirstReceived and LastReceived bound when the spans arrived.
	FirstReceived, LastReceived time.Time
}

// Correlations summarizes every correlation value the store holds spans for,
// the most recently received first (ties by value). It reads each correlated
// span's record once and builds no Span, so it stays cheap on a full store.
func (st *Store) Correlations() []CorrelationSummary {
	st.mu.RLock()
	defer st.mu.RUnlock()
	names := map[uint64]instanceName{}
	out := make([]CorrelationSummary, 0, len(st.corr))
	for _, ce := range st.corr {
		if s, ok := st.summarize(ce, names); ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b CorrelationSummary) int {
		return cmp.Or(b.LastReceived.Compare(a.LastReceived), cmp.Compare(a.Value, b.Value))
	})
	return out
}

// Correlation summarizes one correlation value, and reports whether the
// store holds any span for it.
func (st *Store) Correlation(value string) (CorrelationSummary, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	ce := st.corr[value]
	if ce == nil {
		return CorrelationSummary{}, false
	}
	return st.summarize(ce, map[uint64]instanceName{})
}

type instanceName struct{ instance, service string }

// summarize reads the records of ce's traces. names caches the instance and
// service of a (resource, origin) pair. Caller holds mu.
func (st *Store) summarize(ce *corrEntry, names map[uint64]instanceName) (CorrelationSummary, bool) {
	s := CorrelationSummary{Value: ce.key}
	var first, last int64
	for _, id := range ce.traces {
		te := st.traces[id]
		if te == nil {
			continue
		}
		s.TraceIDs = append(s.TraceIDs, id)
		for _, seq := range te.seqs {
			r := st.rec(seq)
			if r == nil {
				continue
			}
			s.Spans++
			if r.status == StatusError {
				s.Errors++
			}
			if first == 0 || r.received < first {
				first = r.received
			}
			last = max(last, r.received)
			k := uint64(r.resource)<<32 | uint64(r.origin)
			n, ok := names[k]
			if !ok {
				sp := Span{Resource: st.resources[r.resource].res, Origin: st.origins[r.origin]}
				n = instanceName{sp.Instance(), sp.Service()}
				names[k] = n
			}
			if !slices.Contains(s.Instances, n.instance) {
				s.Instances = append(s.Instances, n.instance)
			}
			if n.service != "" && !slices.Contains(s.Services, n.service) {
				s.Services = append(s.Services, n.service)
			}
		}
	}
	if s.Spans == 0 {
		return CorrelationSummary{}, false
	}
	slices.Sort(s.Instances)
	slices.Sort(s.Services)
	s.FirstReceived, s.LastReceived = unixTime(first), unixTime(last)
	return s, true
}
