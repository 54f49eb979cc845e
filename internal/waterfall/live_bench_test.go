package waterfall_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/spanstore"
)

// loadedStore holds 100,000 spans: 5,000 tasks of 20 spans.
func loadedStore(b *testing.B) *spanstore.Store {
	b.Helper()
	st := spanstore.New()
	for i := range 5000 {
		st.Ingest(loadTrace(fmt.Sprintf("load-%04d", i), i, 20), spanstore.Origin{Sender: "bench"})
	}
	return st
}

// BenchmarkLiveCorrelations is one page of the live view's list (what the
// page asks on load, on "show more" and on a filter) on a full store.
func BenchmarkLiveCorrelations(b *testing.B) {
	h := waterfall.LiveHandler(loadedStore(b), nil)
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/ui/api/correlations?limit=50", nil))
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkLiveSpans is one correlation's spans as the page loads them.
func BenchmarkLiveSpans(b *testing.B) {
	h := waterfall.LiveHandler(loadedStore(b), nil)
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/ui/api/spans?correlation=load-2500", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
