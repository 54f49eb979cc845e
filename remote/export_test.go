package remote

// Waiting is how many requests hold a waiting slot now, for tests that
// prove a client that went away frees its own.
func (h *Handler) Waiting() int { return len(h.slots) }

// SetPageSize sets how many spans a Source asks for per request, so that
// a test pages without making 10,000 spans; it restores the size at the
// end of the test.
func SetPageSize(t interface{ Cleanup(func()) }, n int) {
	old := pageSize
	pageSize = n
	t.Cleanup(func() { pageSize = old })
}
