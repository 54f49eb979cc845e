package assert

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

// Failure is the error an assertion returns, and the message a test prints:
// what was asked, what was found, the spans that nearly matched, the
// correlation's spans as a tree, and the sink's view of every instance, so
// that a missing span can be told apart from a quiet worker or a full store.
type Failure struct {
	// Asked is what the assertion expected, in words.
	Asked string
	// Found is what it found instead.
	Found string
	// Details are lines particular to the assertion: extra spans,
	// duplicates, the order seen, the state of each domain event.
	Details []string
	// Matched are the spans that met the query when the assertion gave up.
	Matched []spanstore.Span
	// NearMisses met every condition of the query but one.
	NearMisses []NearMiss
	// Spans are what the failure is about: the correlation's spans when the
	// query has a correlation, else the traces of the matches and near
	// misses. The message shows them as a tree; WriteDump writes them.
	Spans []spanstore.Span
	// Stats is the sink's state when the assertion gave up.
	Stats spanstore.Stats
	// DumpFiles names the files WriteDump wrote.
	DumpFiles []string

	spansTitle     string
	moreNearMisses int
	started, at    time.Time
	dumpErr        error
}

const (
	maxListed    = 10  // matched spans listed
	maxTreeSpans = 300 // spans drawn in the message; the dump has them all
	maxSenders   = 8
)

// Error renders the whole report.
func (f *Failure) Error() string {
	var b strings.Builder
	f.render(&b, true)
	return strings.TrimSuffix(b.String(), "\n") // t.Errorf adds its own
}

func (f *Failure) render(b *strings.Builder, withTree bool) {
	fmt.Fprintf(b, "expected %s\n", f.Asked)
	fmt.Fprintf(b, "%s\n", f.Found)
	for _, d := range f.Details {
		fmt.Fprintf(b, "  %s\n", d)
	}
	if len(f.Matched) > 0 {
		fmt.Fprintf(b, "matched (%d):\n", len(f.Matched))
		for i, s := range f.Matched {
			if i == maxListed {
				fmt.Fprintf(b, "  … %d more\n", len(f.Matched)-maxListed)
				break
			}
			fmt.Fprintf(b, "  %s\n", spanLine(s))
		}
	}
	if len(f.NearMisses) > 0 {
		fmt.Fprintf(b, "near misses (spans that met every condition but one):\n")
		for _, n := range f.NearMisses {
			fmt.Fprintf(b, "  %s\n", n)
		}
		if f.moreNearMisses > 0 {
			fmt.Fprintf(b, "  … %d more\n", f.moreNearMisses)
		}
	}
	if withTree {
		f.renderTree(b)
	}
	f.renderSink(b)
	switch {
	case f.dumpErr != nil:
		fmt.Fprintf(b, "dump failed: %v\n", f.dumpErr)
	case len(f.DumpFiles) > 0:
		fmt.Fprintf(b, "spans dumped to: %s\n", strings.Join(f.DumpFiles, ", "))
	}
}

func (f *Failure) renderTree(b *strings.Builder) {
	if f.spansTitle == "" {
		return
	}
	if len(f.Spans) == 0 {
		fmt.Fprintf(b, "%s: none\n", f.spansTitle)
		return
	}
	shown, traces, hidden := capTraces(f.Spans, maxTreeSpans)
	fmt.Fprintf(b, "%s (%s in %s):\n", f.spansTitle, english.Plural(len(f.Spans), "span"), english.Plural(traces, "trace"))
	tree := spantext.TreeString(shown, spantext.TreeOptions{Now: f.at})
	for line := range strings.Lines(tree) {
		b.WriteString("  " + line)
	}
	if hidden > 0 {
		fmt.Fprintf(b, "  … %s more not drawn; the dump has them all\n", english.Plural(hidden, "span"))
	}
}

// capTraces keeps whole traces, in arrival order, up to about max spans.
func capTraces(spans []spanstore.Span, max int) (shown []spanstore.Span, traces, hidden int) {
	byTrace := map[spanstore.TraceID][]spanstore.Span{}
	var order []spanstore.TraceID
	for _, s := range spans {
		if _, ok := byTrace[s.TraceID]; !ok {
			order = append(order, s.TraceID)
		}
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	for _, id := range order {
		if len(shown) > 0 && len(shown)+len(byTrace[id]) > max {
			hidden += len(byTrace[id])
			continue
		}
		shown = append(shown, byTrace[id]...)
	}
	return shown, len(order), hidden
}

// renderSink prints what the sink received from whom, flagging an instance
// that went quiet while the assertion waited and losses that could explain a
// missing span.
func (f *Failure) renderSink(b *strings.Builder) {
	st := f.Stats
	if len(st.Instances) > 0 {
		b.WriteString("instances (by last span received):\n")
		wi, ws := 0, 0
		othersSpoke := false
		for _, in := range st.Instances {
			wi, ws = max(wi, len(in.Instance)), max(ws, len(in.Service))
			othersSpoke = othersSpoke || !in.LastSeen.Before(f.started)
		}
		for _, in := range st.Instances {
			fmt.Fprintf(b, "  %-*s  %-*s  %12s  last seen %s ago", wi, in.Instance, ws, in.Service, english.Plural(int(in.Spans), "span"), ago(f.at, in.LastSeen))
			if othersSpoke && in.LastSeen.Before(f.started) {
				fmt.Fprintf(b, "  <- quiet: nothing during the %s this assertion waited, while others sent spans", round(f.at.Sub(f.started)))
			}
			b.WriteString("\n")
		}
	}
	if len(st.Senders) > 0 {
		b.WriteString("senders (by last request):")
		senders := st.Senders
		if len(senders) > maxSenders {
			fmt.Fprintf(b, " %d quieter ones not shown;", len(senders)-maxSenders)
			senders = senders[len(senders)-maxSenders:]
		}
		for i, s := range senders {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(b, " %s %s/%s %s ago", s.Sender, english.Plural(int(s.Requests), "request"), english.Plural(int(s.Spans), "span"), ago(f.at, s.LastSeen))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "sink: %s stored, %d accepted in %s\n", english.Plural(st.Stored, "span"), st.Spans, english.Plural(int(st.Requests), "request"))
	if st.Evicted > 0 {
		fmt.Fprintf(b, "WARNING: the sink evicted %d spans (it was full); the spans asked for may have been among them\n", st.Evicted)
	}
	if st.DecodeErrors > 0 {
		fmt.Fprintf(b, "WARNING: %d requests did not decode; their spans are lost\n", st.DecodeErrors)
	}
	if n := st.RefusedTotal(); n > 0 {
		reasons := make([]string, 0, len(st.Refused))
		for _, k := range slices.Sorted(mapKeys(st.Refused)) {
			reasons = append(reasons, fmt.Sprintf("%s: %d", k, st.Refused[k]))
		}
		fmt.Fprintf(b, "WARNING: %d requests were refused (%s)\n", n, strings.Join(reasons, ", "))
	}
	if st.Rejected > 0 {
		fmt.Fprintf(b, "WARNING: %d spans were rejected for all-zero IDs\n", st.Rejected)
	}
	for _, e := range st.LastErrors {
		fmt.Fprintf(b, "  error sent to a client: %s\n", e)
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// spanLine is a span in one line: name, instance, id, start.
func spanLine(s spanstore.Span) string {
	return fmt.Sprintf("%s [%s] span %s started %s", s.Name, s.Instance(), s.SpanID, clock(s.Start))
}

// clock is a wall-clock time to the millisecond, the resolution at which
// instances' clocks can be compared at all.
func clock(t time.Time) string { return t.Format("15:04:05.000") }

func ago(now, t time.Time) string { return round(now.Sub(t)).String() }

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
