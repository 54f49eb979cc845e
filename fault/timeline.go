package fault

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// timeline is a ledger's attempts in arrival order (ties keep the ledger's
// order), with the attempts that carried each span: what the analyses work
// on.
type timeline struct {
	t0       time.Time
	att      []Attempt
	uses     map[SpanRef][]int // indices into att, ascending
	order    []SpanRef         // every span once, in first-seen order
	rejected []map[SpanRef]bool
}

func newTimeline(attempts []Attempt) *timeline {
	tl := &timeline{att: slices.Clone(attempts), uses: map[SpanRef][]int{}}
	slices.SortStableFunc(tl.att, func(a, b Attempt) int { return a.Time.Compare(b.Time) })
	if len(tl.att) > 0 {
		tl.t0 = tl.att[0].Time
	}
	tl.rejected = make([]map[SpanRef]bool, len(tl.att))
	for i, a := range tl.att {
		if len(a.Rejected) > 0 {
			tl.rejected[i] = make(map[SpanRef]bool, len(a.Rejected))
			for _, s := range a.Rejected {
				tl.rejected[i][s] = true
			}
		}
		for _, s := range a.Spans {
			u, seen := tl.uses[s]
			if !seen {
				tl.order = append(tl.order, s)
			}
			if len(u) == 0 || u[len(u)-1] != i {
				tl.uses[s] = append(u, i)
			}
		}
	}
	return tl
}

// stored reports whether attempt i stored span s.
func (tl *timeline) stored(i int, s SpanRef) bool {
	return !tl.att[i].Answer.Refuses() && !tl.rejected[i][s]
}

// permanent reports whether attempt i's not storing s was final: a
// refusal exporters do not retry, or a partial success's rejection.
func (tl *timeline) permanent(i int) bool {
	a := tl.att[i].Answer
	return a.kind == KindPartial || a.Refuses() && !a.Retryable()
}

// History is spans that went through the same attempts, with those
// attempts in arrival order.
type History struct {
	Spans    []SpanRef
	Attempts []Attempt
}

// histories groups spans by the attempts that carried them, in the order
// the spans were first seen.
func (tl *timeline) histories(spans []SpanRef) []History {
	var out []History
	byKey := map[string]int{}
	for _, s := range spans {
		key := fmt.Sprint(tl.uses[s])
		i, ok := byKey[key]
		if !ok {
			i = len(out)
			byKey[key] = i
			h := History{}
			for _, j := range tl.uses[s] {
				h.Attempts = append(h.Attempts, tl.att[j])
			}
			out = append(out, h)
		}
		out[i].Spans = append(out[i].Spans, s)
	}
	return out
}

func writeHistories(b *strings.Builder, hs []History, t0 time.Time) {
	for _, h := range hs {
		fmt.Fprintf(b, "\n  %s:", describeSpans(h.Spans))
		for _, a := range h.Attempts {
			b.WriteString("\n    " + describeAttempt(a, t0))
		}
	}
}

// describeSpans is "2 spans (t/s, t/s)", naming at most three.
func describeSpans(spans []SpanRef) string {
	const show = 3
	names := make([]string, 0, show)
	for _, s := range spans[:min(len(spans), show)] {
		names = append(names, s.String())
	}
	more := ""
	if len(spans) > show {
		more = fmt.Sprintf(" and %d more", len(spans)-show)
	}
	return fmt.Sprintf("%s (%s%s)", plural(len(spans), "span"), strings.Join(names, ", "), more)
}

// describeAttempt is one line of a report: "+1.2s from 127.0.0.1:40000
// (worker-rust-1) grpc traces, 3 spans: refused Unavailable, RetryInfo 1s
// [injected]".
func describeAttempt(a Attempt, t0 time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s from %s", rel(a.Time, t0), orNone(a.Sender))
	if len(a.Instances) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(a.Instances, ", "))
	}
	if a.Transport != "" {
		fmt.Fprintf(&b, " %s", a.Transport)
	}
	if a.Signal != "" {
		fmt.Fprintf(&b, " %s", a.Signal)
	}
	unit := "span"
	if a.Signal != "" && a.Signal != Traces {
		unit = "item"
	}
	fmt.Fprintf(&b, ", %s: %s", plural(a.count(), unit), outcome(a, t0))
	return b.String()
}

func outcome(a Attempt, t0 time.Time) string {
	ans := a.Answer
	var s string
	switch ans.kind {
	case KindOK, KindDelay:
		s = "accepted"
	case KindPartial:
		n := len(a.Rejected)
		if n == 0 {
			n, _ = ans.PartialSuccess(a.count())
		}
		s = fmt.Sprintf("partial success, %d of %d rejected", n, a.count())
		if ans.message != "" {
			s += fmt.Sprintf(" (%q)", ans.message)
		}
	case KindGRPC:
		s = "refused " + ans.code.String()
		if ans.retry > 0 {
			s += ", RetryInfo " + ans.retry.String()
		}
	case KindHTTP:
		s = fmt.Sprintf("refused HTTP %d", ans.status)
		if at, ok := ans.retryNotBefore(a.Time); ok && ans.date {
			s += fmt.Sprintf(", Retry-After %s (%s)", at.Format(http.TimeFormat), rel(at, t0))
		} else if ok {
			s += ", Retry-After " + ans.retry.String()
		}
	case KindHold:
		s = "held until the client gave up, then refused "
		if a.Transport == TransportHTTP {
			s += "HTTP 504"
		} else {
			s += "DeadlineExceeded"
		}
	case KindDrop:
		s = "connection dropped without an answer"
	default:
		s = ans.kind.String()
	}
	if ans.Refuses() && !ans.Retryable() {
		s += " (permanent)"
	}
	switch {
	case a.Fault.kind == KindDelay:
		s += fmt.Sprintf(" after an injected %s delay", a.Fault.wait)
	case a.Fault.kind != KindOK:
		s += " [injected]"
	}
	return s
}

// rel is t relative to t0: "+0s", "+1.203s".
func rel(t, t0 time.Time) string { return "+" + t.Sub(t0).String() }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func orNone(s string) string {
	if s == "" {
		return "(unknown sender)"
	}
	return s
}
