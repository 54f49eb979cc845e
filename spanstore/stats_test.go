package spanstore_test

import (
	"strings"
	"testing"

	"github.com/traceproof/traceproof/spanstore"
)

// Faults are listed by rule number: rule 2 before rule 10.
func TestStatsListsFaultsByRuleNumber(t *testing.T) {
	st := spanstore.Stats{Faults: map[string]uint64{"rule 10 (-> drop)": 1, "rule 2 (first=1 -> 503)": 1, "rule 1 (-> unavailable)": 2}}
	got := st.String()
	want := "  fault rule 1 (-> unavailable) answered 2 requests\n  fault rule 2 (first=1 -> 503) answered 1 request\n  fault rule 10 (-> drop) answered 1 request\n"
	if !strings.Contains(got, want) {
		t.Errorf("stats:\n%s\nwant the faults listed as\n%s", got, want)
	}
}
