package e2e

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/traceproof/traceproof/spanstore"
)

// tally counts what the suite proved, for the summary printed at the end.
var tally struct {
	tasks  atomic.Int64 // tasks created
	events atomic.Int64 // domain events proven published from spans
	absent atomic.Int64 // events proven not published
}

// printSummary says what ran, what was proven, and how the work spread over
// the instances: the point of cluster mode is that tests cannot know which
// instance runs their task.
func printSummary(w io.Writer, code int) {
	verdict := "PASS"
	if code != 0 {
		verdict = "FAIL"
	}
	st := sys.Source.Stats()
	what := fmt.Sprintf("%s mode, via %s", sys.Mode, sys.Via)
	if sys.External {
		what = "external system"
	}
	fmt.Fprintf(w, "\ntraceproof e2e summary: %s (%s)\n", verdict, what)
	fmt.Fprintf(w, "  tasks created %d; domain events proven published %d, proven absent %d\n",
		tally.tasks.Load(), tally.events.Load(), tally.absent.Load())
	fmt.Fprintf(w, "  sink: %d spans in %d requests (%s); %d evicted, %d rejected, %d decode errors, %d refused\n",
		st.Spans, st.Requests, formatCounts(st.ByTransport), st.Evicted, st.Rejected, st.DecodeErrors, st.RefusedTotal())

	steps := map[string]int{} // instance → execute_step spans
	for _, s := range sys.Source.Spans(spanstore.Filter{Name: "execute_step"}) {
		steps[s.Instance()]++
	}
	fmt.Fprintf(w, "  %-22s %10s %8s\n", "instance", "spans", "steps")
	insts := st.Instances
	slices.SortFunc(insts, func(a, b spanstore.InstanceStats) int { return cmp.Compare(a.Instance, b.Instance) })
	for _, in := range insts {
		fmt.Fprintf(w, "  %-22s %10d %8d\n", in.Instance, in.Spans, steps[in.Instance])
	}
}

func formatCounts(m map[string]uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
