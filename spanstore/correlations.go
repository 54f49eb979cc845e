package spanstore

import "slices"

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
