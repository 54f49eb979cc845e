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
	// Named are the spans the verdict speaks of (extras, duplicates, the
	// spans an expectation found wanting); pages highlight them.
	Named []spanstore.Span
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
	nearGroups     []nearGroup
	started, at    time.Time
	dumpErr        error
	attempts       int // requests a delivery ledger saw
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
	f.renderNothingArrived(b)
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
	f.renderNearMisses(b)
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

// renderNearMisses groups the near misses by the condition they failed, so
// that ten spans failing the same way read as one line with a count.
func (f *Failure) renderNearMisses(b *strings.Builder) {
	if len(f.nearGroups) == 0 {
		return
	}
	b.WriteString("near misses (spans that met every condition but one):\n")
	for _, g := range f.nearGroups {
		fmt.Fprintf(b, "  %s\n", g)
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
			if othersSpoke && in.LastSeen.Before(f.started) && quiet(in, f.at) {
				fmt.Fprintf(b, "  <- quiet: nothing for %s", round(f.at.Sub(in.LastSeen)))
				if in.MaxGap > 0 {
					fmt.Fprintf(b, ", longer than its usual gap (%s)", round(in.MaxGap))
				}
				b.WriteString(", while others sent spans")
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
	if n := sum(st.UnknownPaths); n > 0 {
		paths := make([]string, 0, len(st.UnknownPaths))
		for _, k := range slices.Sorted(mapKeys(st.UnknownPaths)) {
			paths = append(paths, fmt.Sprintf("%s: %d", quote(k), st.UnknownPaths[k]))
		}
		fmt.Fprintf(b, "WARNING: %d requests went to paths the sink does not serve (%s): %s\n", n, strings.Join(paths, ", "), pathFix)
	}
	if st.Rejected > 0 {
		fmt.Fprintf(b, "WARNING: %d spans were rejected for all-zero IDs\n", st.Rejected)
	}
	if n := sum(st.Faults); n > 0 {
		fired := make([]string, 0, len(st.Faults))
		for _, k := range slices.SortedFunc(mapKeys(st.Faults), byRuleNumber) {
			if st.Faults[k] > 0 {
				fired = append(fired, fmt.Sprintf("%s: %d", k, st.Faults[k]))
			}
		}
		fmt.Fprintf(b, "WARNING: fault rules answered %s instead of the sink (%s); what they refused is stored only if the exporter retried it (see the sink's Ledger)\n", english.Plural(int(n), "request"), strings.Join(fired, ", "))
	}
	for _, e := range st.LastErrors {
		fmt.Fprintf(b, "  recent error: %s\n", e)
	}
}

// pathFix is the fix for requests to unknown paths.
const pathFix = "OTLP/HTTP exporters post to /v1/traces, /v1/metrics and /v1/logs; OTEL_EXPORTER_OTLP_ENDPOINT takes the base URL " +
	"and the SDK appends the path, but OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and Go's otlptracehttp.WithEndpointURL take the full URL " +
	"(otlpsink's Sink.TracesURL())"

// minQuiet is the shortest silence called quiet: exporters batch, and a
// batch span processor flushes every few hundred milliseconds.
const minQuiet = 2 * time.Second

// quiet says whether an instance has been silent for longer than its own
// export cadence (the longest gap seen between its requests), and at least
// minQuiet.
func quiet(in spanstore.InstanceStats, now time.Time) bool {
	return now.Sub(in.LastSeen) > max(minQuiet, in.MaxGap)
}

// renderNothingArrived leads the report when no span has arrived from any
// sender: then the telemetry path, not the system under test, is the first
// suspect, and the report says where exporters must point. (A sender that
// went silent during the check is flagged quiet in the instances list.)
func (f *Failure) renderNothingArrived(b *strings.Builder) {
	st := f.Stats
	if st.Spans > 0 || f.attempts > 0 || sum(st.Faults) > 0 {
		return // something did arrive; what happened to it is below
	}
	b.WriteString("NOTHING ARRIVED: the sink has received no span from any sender; check the exporters first.\n")
	for _, e := range st.Endpoints {
		transport, addr, _ := strings.Cut(e, " ")
		switch transport {
		case "grpc":
			fmt.Fprintf(b, "  gRPC: OTEL_EXPORTER_OTLP_ENDPOINT=http://%s OTEL_EXPORTER_OTLP_PROTOCOL=grpc (Go: otlptracegrpc.WithEndpoint(%q), WithInsecure())\n", addr, addr)
		case "http":
			fmt.Fprintf(b, "  HTTP: OTEL_EXPORTER_OTLP_ENDPOINT=%s OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (Go: otlptracehttp.WithEndpointURL(%q))\n", addr, addr+"/v1/traces")
		default:
			fmt.Fprintf(b, "  %s\n", e)
		}
	}
	if len(st.Endpoints) > 0 {
		b.WriteString("  and OTEL_TRACES_EXPORTER=otlp; a short OTEL_BSP_SCHEDULE_DELAY (otlpsink's ExporterEnv sets both) makes spans arrive sooner.\n")
	}
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
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
