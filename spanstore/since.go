package spanstore

// LastSeq is the [Span.Seq] of the newest span the store took in (0 before
// the first), whether or not it is still held. Pass it to [Store.SpansSince]
// to read only what arrives from now on.
func (st *Store) LastSeq() uint64 {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.next - 1
}

// SpansSince returns the stored spans that arrived after seq (their Seq is
// greater), oldest first, at most limit of them (limit <= 0: all). A
// follower of the store reads with it what arrived since it last looked,
// woken by [Store.Changed] with the zero [Filter]: take the channel, read
// SpansSince, wait on the channel, and nothing is missed. Spans evicted
// before they were read are gone; Stats().Evicted counts them.
func (st *Store) SpansSince(seq uint64, limit int) []Span {
	st.mu.RLock()
	defer st.mu.RUnlock()
	from := max(seq+1, st.head)
	if from >= st.next {
		return nil
	}
	n := st.next - from
	if limit > 0 && n > uint64(limit) {
		n = uint64(limit)
	}
	out := make([]Span, 0, n)
	for s := from; s < from+n; s++ {
		if r := st.rec(s); r != nil {
			out = append(out, st.materialize(s, r))
		}
	}
	return out
}
