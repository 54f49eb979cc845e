package fault

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The analyses read a ledger's attempts (Ledger.Attempts) and identify data
// by span: they see traces, not metrics or logs. A span is the same span
// whichever connection carries it, since exporters reconnect (a new source
// port) after a dropped connection and may spread retries over several
// connections; the reports name each attempt's sender. None passes on
// nothing: each needs the evidence its claim is about.

// LostReport says whether every refused span was stored in the end.
type LostReport struct {
	// Refused counts the distinct spans that at least one attempt did not
	// store (refused, or rejected by a partial success).
	Refused int
	// Recovered counts those stored by some attempt.
	Recovered int
	// Lost are refused spans never stored whose last refusal was one that
	// exporters retry.
	Lost []History
	// Permanent are refused spans never stored whose last refusal was
	// permanent, or a partial success's rejection: not expected to be
	// retried.
	Permanent []History

	t0       time.Time
	attempts int
}

// OK reports that no span was lost and at least one refused span was
// recovered: a run in which no retry succeeded proves nothing.
func (r LostReport) OK() bool { return len(r.Lost) == 0 && r.Recovered > 0 }

// Lost checks that every span refused by one attempt was stored by another.
func Lost(attempts []Attempt) LostReport {
	tl := newTimeline(attempts)
	r := LostReport{t0: tl.t0, attempts: len(tl.att)}
	var lost, permanent []SpanRef
	for _, s := range tl.order {
		refusedBy, storedBy := -1, -1
		for _, i := range tl.uses[s] {
			if tl.stored(i, s) {
				storedBy = i
			} else {
				refusedBy = i
			}
		}
		switch {
		case refusedBy < 0:
		case storedBy >= 0:
			r.Refused++
			r.Recovered++
		case tl.permanent(refusedBy):
			r.Refused++
			permanent = append(permanent, s)
		default:
			r.Refused++
			lost = append(lost, s)
		}
	}
	r.Lost, r.Permanent = tl.histories(lost), tl.histories(permanent)
	return r
}

func (r LostReport) String() string {
	var b strings.Builder
	nLost, nPerm := countSpans(r.Lost), countSpans(r.Permanent)
	switch {
	case r.Refused == 0:
		fmt.Fprintf(&b, "nothing to prove: none of %s refused a span; did the fault rules fire?", plural(r.attempts, "attempt"))
	case nLost > 0:
		fmt.Fprintf(&b, "%d of %d refused spans were lost: never stored, though their last refusal was one exporters retry:", nLost, r.Refused)
		writeHistories(&b, r.Lost, r.t0)
		if r.Recovered > 0 {
			fmt.Fprintf(&b, "\n%s stored by a later attempt", count(r.Recovered, "refused span was", "refused spans were"))
		}
	case r.Recovered == 0:
		fmt.Fprintf(&b, "nothing to prove: no refused span was retried and stored")
	default:
		fmt.Fprintf(&b, "no span lost: %s stored by a later attempt", count(r.Recovered, "refused span was", "refused spans were"))
	}
	if nPerm > 0 {
		fmt.Fprintf(&b, "\n%s refused permanently, not expected to be retried:", plural(nPerm, "span"))
		writeHistories(&b, r.Permanent, r.t0)
	}
	return b.String()
}

// DuplicatesReport says whether any span was stored more than once: a
// retry of a request the sink had in fact stored.
type DuplicatesReport struct {
	// Stored counts the distinct spans stored at least once.
	Stored int
	// Duplicates are the spans stored more than once, with every attempt
	// that carried them.
	Duplicates []History

	t0       time.Time
	attempts int
}

// OK reports that spans were stored, each once.
func (r DuplicatesReport) OK() bool { return r.Stored > 0 && len(r.Duplicates) == 0 }

// Duplicates finds the spans stored by more than one attempt.
func Duplicates(attempts []Attempt) DuplicatesReport {
	tl := newTimeline(attempts)
	r := DuplicatesReport{t0: tl.t0, attempts: len(tl.att)}
	var dup []SpanRef
	for _, s := range tl.order {
		n := 0
		for _, i := range tl.uses[s] {
			if tl.stored(i, s) {
				n++
			}
		}
		if n > 0 {
			r.Stored++
		}
		if n > 1 {
			dup = append(dup, s)
		}
	}
	r.Duplicates = tl.histories(dup)
	return r
}

func (r DuplicatesReport) String() string {
	var b strings.Builder
	switch n := countSpans(r.Duplicates); {
	case r.Stored == 0:
		fmt.Fprintf(&b, "nothing to prove: none of %s stored a span", plural(r.attempts, "attempt"))
	case n > 0:
		fmt.Fprintf(&b, "%d of %d stored spans were stored more than once (retries of requests the sink had stored):", n, r.Stored)
		writeHistories(&b, r.Duplicates, r.t0)
	default:
		fmt.Fprintf(&b, "no duplicates: %s", count(r.Stored, "stored span was stored once", "stored spans were each stored once"))
	}
	return b.String()
}

// RetriesReport says whether exporters retried as the sink's answers
// asked: not before a RetryInfo or Retry-After delay, and never after a
// permanent refusal or a partial success.
type RetriesReport struct {
	// Checked counts the answers (to requests with spans) that constrain a
	// retry: one with a retry delay, a permanent refusal, a partial success.
	Checked int
	// Violations are the retries that broke one, in arrival order of the
	// answers.
	Violations []Violation

	t0       time.Time
	attempts int
}

// Violation is a retry that broke an answer.
type Violation struct {
	// Answered is the attempt whose answer constrained the retry; Retry the
	// later attempt carrying some of the same spans, Spans.
	Answered, Retry Attempt
	Spans           []SpanRef
	// After is the time from Answered to Retry; Asked the wait the answer
	// asked for, 0 when it allowed no retry at all.
	After, Asked time.Duration
	// Reason says what was broken.
	Reason string
}

// OK reports that some answer constrained retries and none was broken.
func (r RetriesReport) OK() bool { return r.Checked > 0 && len(r.Violations) == 0 }

// Retries checks every retry against the answer before it. A retry is a
// later attempt that carries any of the same spans.
func Retries(attempts []Attempt) RetriesReport {
	tl := newTimeline(attempts)
	r := RetriesReport{t0: tl.t0, attempts: len(tl.att)}
	for i, a := range tl.att {
		ans := a.Answer
		forbid := ans.kind == KindPartial || ans.Refuses() && !ans.Retryable()
		notBefore, wait := time.Time{}, false
		if !forbid && ans.Refuses() {
			notBefore, wait = ans.retryNotBefore(a.Time)
		}
		if !forbid && !wait || len(a.Spans) == 0 {
			continue
		}
		r.Checked++
		for _, j := range tl.later(i) {
			b := tl.att[j]
			v := Violation{Answered: a, Retry: b, Spans: overlap(a.Spans, b.Spans), After: b.Time.Sub(a.Time)}
			switch {
			case ans.kind == KindPartial:
				v.Reason = "retried after a partial success, which exporters must not retry"
			case forbid:
				v.Reason = fmt.Sprintf("retried after a permanent refusal (%s), which exporters must not retry", refusalName(a))
			case b.Time.Before(notBefore):
				v.Asked = ans.retry
				if ans.date {
					v.Reason = fmt.Sprintf("retried at %s; Retry-After asked for %s (%s)", rel(b.Time, tl.t0), notBefore.Format(http.TimeFormat), rel(notBefore, tl.t0))
				} else {
					name := "Retry-After"
					if ans.kind == KindGRPC {
						name = "RetryInfo"
					}
					v.Reason = fmt.Sprintf("retried after %s; %s asked for %s", v.After, name, ans.retry)
				}
			default:
				continue
			}
			r.Violations = append(r.Violations, v)
		}
	}
	return r
}

// later lists the attempts after i that carry any of attempt i's spans.
func (tl *timeline) later(i int) []int {
	var js []int
	for _, s := range tl.att[i].Spans {
		for _, j := range tl.uses[s] {
			if j > i {
				js = append(js, j)
			}
		}
	}
	slices.Sort(js)
	return slices.Compact(js)
}

func overlap(a, b []SpanRef) []SpanRef {
	in := make(map[SpanRef]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	var out []SpanRef
	for _, s := range a {
		if in[s] {
			out = append(out, s)
			delete(in, s)
		}
	}
	return out
}

func refusalName(a Attempt) string {
	switch a.Answer.kind {
	case KindGRPC:
		return a.Answer.code.String()
	case KindHTTP:
		return fmt.Sprintf("HTTP %d", a.Answer.status)
	}
	return a.Answer.kind.String()
}

func (r RetriesReport) String() string {
	var b strings.Builder
	switch {
	case r.Checked == 0:
		fmt.Fprintf(&b, "nothing to prove: none of %s got an answer that asks for a retry delay or for no retry", plural(r.attempts, "attempt"))
	case len(r.Violations) > 0:
		fmt.Fprintf(&b, "%s broke the sink's answer (of %s that asked for a retry delay or for no retry):",
			count(len(r.Violations), "retry", "retries"), plural(r.Checked, "answer"))
		for _, v := range r.Violations {
			fmt.Fprintf(&b, "\n  %s: %s", describeSpans(v.Spans), v.Reason)
			b.WriteString("\n    " + describeAttempt(v.Answered, r.t0))
			b.WriteString("\n    " + describeAttempt(v.Retry, r.t0))
		}
	default:
		fmt.Fprintf(&b, "retries honoured: %s asked for a retry delay or for no retry, and no retry broke one", plural(r.Checked, "answer"))
	}
	return b.String()
}

func countSpans(hs []History) int {
	n := 0
	for _, h := range hs {
		n += len(h.Spans)
	}
	return n
}

// count is "1 retry", "2 retries".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
