package spantext

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/spanstore"
)

// TreeOptions tunes WriteTree.
type TreeOptions struct {
	// Color adds ANSI colours (for terminals only).
	Color bool
	// Now, when set, lets the header say how long ago each trace arrived.
	Now time.Time
	// Kind shows each span's kind (internal, server, client, producer,
	// consumer) after its name.
	Kind bool
	// Service shows each span's service.name beside its instance.
	Service bool
	// Times shows each span's start time (and each trace's date), in
	// Location (time.Local when nil).
	Times    bool
	Location *time.Location
}

// WriteTree renders spans as one tree per trace: each span with its instance,
// duration, status, attributes and events, children indented under their
// parent by start time. A span whose parent is not among spans is shown as an
// orphan under its trace, naming the missing parent. Traces are ordered by
// their first start time.
func WriteTree(w io.Writer, spans []spanstore.Span, opt TreeOptions) error {
	var b strings.Builder
	p := treePrinter{b: &b, opt: opt}
	byTrace := map[spanstore.TraceID][]spanstore.Span{}
	var order []spanstore.TraceID
	for _, s := range spans {
		if _, ok := byTrace[s.TraceID]; !ok {
			order = append(order, s.TraceID)
		}
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	first := func(id spanstore.TraceID) time.Time {
		return slices.MinFunc(byTrace[id], func(a, b spanstore.Span) int { return a.Start.Compare(b.Start) }).Start
	}
	slices.SortStableFunc(order, func(a, b spanstore.TraceID) int { return first(a).Compare(first(b)) })
	for _, id := range order {
		p.trace(id, byTrace[id])
	}
	if len(spans) == 0 {
		b.WriteString("(no spans)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TreeString is WriteTree into a string.
func TreeString(spans []spanstore.Span, opt TreeOptions) string {
	var b strings.Builder
	_ = WriteTree(&b, spans, opt)
	return b.String()
}

type treePrinter struct {
	b   *strings.Builder
	opt TreeOptions
}

func (p *treePrinter) c(code, s string) string { return palette(p.opt.Color).wrap(code, s) }

func (p *treePrinter) trace(id spanstore.TraceID, spans []spanstore.Span) {
	byID := make(map[spanstore.SpanID]bool, len(spans))
	children := map[spanstore.SpanID][]spanstore.Span{}
	var roots, orphans []spanstore.Span
	instances := map[string]bool{}
	for _, s := range spans {
		byID[s.SpanID] = true
		instances[instanceLabel(&s)] = true
	}
	for _, s := range spans {
		switch {
		case s.IsRoot():
			roots = append(roots, s)
		case byID[s.ParentSpanID]:
			children[s.ParentSpanID] = append(children[s.ParentSpanID], s)
		default:
			orphans = append(orphans, s)
		}
	}
	byStart := func(a, b spanstore.Span) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Seq, b.Seq)) }
	slices.SortFunc(roots, byStart)
	slices.SortFunc(orphans, byStart)
	for _, cs := range children {
		slices.SortFunc(cs, byStart)
	}
	fmt.Fprintf(p.b, "%s %s (%s; %s)%s", p.c(ansiBold, "trace"), id, english.Plural(len(spans), "span"), strings.Join(slices.Sorted(maps.Keys(instances)), ", "), p.traceDate(spans))
	if !p.opt.Now.IsZero() {
		last := slices.MaxFunc(spans, func(a, b spanstore.Span) int { return a.Received.Compare(b.Received) }).Received
		fmt.Fprintf(p.b, " last arrival %s ago", p.opt.Now.Sub(last).Round(time.Millisecond))
	}
	p.b.WriteString("\n")
	for i, r := range roots {
		p.span(r, children, "", i == len(roots)-1 && len(orphans) == 0)
	}
	for i, o := range orphans {
		p.b.WriteString(p.c(ansiYell, fmt.Sprintf("  orphan: parent %s never arrived\n", o.ParentSpanID)))
		p.span(o, children, "", i == len(orphans)-1)
	}
}

func (p *treePrinter) span(s spanstore.Span, children map[spanstore.SpanID][]spanstore.Span, indent string, last bool) {
	branch, next := "├─ ", "│  "
	if last {
		branch, next = "└─ ", "   "
	}
	status := ""
	switch s.Status.Code {
	case spanstore.StatusError:
		status = " " + p.c(ansiRed, "ERROR")
		if s.Status.Message != "" {
			status += p.c(ansiRed, " "+fmt.Sprintf("%q", s.Status.Message))
		}
	case spanstore.StatusOK:
		status = " ok"
	}
	x := p.extras(&s)
	fmt.Fprintf(p.b, "%s%s%s%s %s %s%s%s", indent, branch, p.c(ansiBold, s.Name), x.kind,
		p.c(ansiCyan, "["+x.label+"]"), x.start, FormatDuration(s.Duration()), status)
	if len(s.Attributes) > 0 {
		p.b.WriteString("  " + p.c(ansiDim, s.Attributes.String()))
	}
	p.b.WriteString("\n")
	kids := children[s.SpanID]
	for _, e := range s.Events {
		fmt.Fprintf(p.b, "%s%s· %s", indent, next, e.Name)
		if len(e.Attributes) > 0 {
			p.b.WriteString("  " + p.c(ansiDim, e.Attributes.String()))
		}
		p.b.WriteString("\n")
	}
	for i, k := range kids {
		p.span(k, children, indent+next, i == len(kids)-1)
	}
}

// FormatDuration rounds a span duration to 3-4 significant digits for
// display: 512ns, 150µs, 1.25ms, 2.4s.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return d.Round(time.Microsecond / 10).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
