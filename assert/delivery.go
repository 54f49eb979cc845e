package assert

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/internal/english"
)

// Ledger is a record of delivery attempts: every request a sink received,
// with its spans and the answer it got, as otlpsink's Sink.Ledger keeps it.
// The delivery assertions ([Checker.Delivered], [Checker.RetriesHonoured])
// read it.
type Ledger interface {
	// Attempts is a snapshot of the attempts kept.
	Attempts() []fault.Attempt
	// Changed returns a channel closed when an attempt is added. The
	// assertions ask for it before they read Attempts, so nothing added in
	// between is missed.
	Changed() <-chan struct{}
	// Dropped counts attempts the ledger forgot to stay within its limits:
	// evidence lost, so the assertions refuse to judge.
	Dropped() int
}

// Delivery is what a delivery assertion read from a ledger when it gave its
// verdict: the attempts, and the fault package's three analyses of them.
type Delivery struct {
	Attempts   []fault.Attempt
	Lost       fault.LostReport
	Duplicates fault.DuplicatesReport
	Retries    fault.RetriesReport
	// Dropped counts the attempts the ledger had forgotten.
	Dropped int
}

// DeliveryOption refines a delivery assertion.
type DeliveryOption interface{ applyDelivery(*deliveryConfig) }

type deliveryConfig struct{ noDuplicates bool }

type deliveryOptionFunc func(*deliveryConfig)

func (f deliveryOptionFunc) applyDelivery(c *deliveryConfig) { f(c) }

// NoDuplicates makes [Checker.Delivered] fail when a span was stored more
// than once: a retry of a request the sink had in fact stored (a client that
// timed out on a slow answer, then sent again). Without it duplicates are
// reported (in [Delivery].Duplicates, and logged by the test form) but
// allowed, since OTLP delivery is at least once.
func NoDuplicates() DeliveryOption {
	return deliveryOptionFunc(func(c *deliveryConfig) { c.noDuplicates = true })
}

// Delivered proves from the ledger that nothing the sink refused was lost
// and that every retry came as the sink's answers asked. It waits, woken by
// each new attempt, until every span that a refused request carried was
// stored by a later attempt (spans whose last refusal was permanent, or a
// partial success's rejection, are not expected back: they are listed in
// [Delivery].Lost.Permanent), then keeps watching for the settle window for
// a late duplicate or a retry that breaks an answer. It fails at the
// Checker's timeout with the spans still missing; when no retry sooner than
// a RetryInfo or Retry-After asked, or after a permanent refusal or a
// partial success, came; with [NoDuplicates], when a span was stored twice;
// when the ledger dropped attempts; and when no refused span was ever
// recovered, since a run without a retry proves nothing.
func (c *Checker) Delivered(ctx context.Context, l Ledger, opts ...DeliveryOption) (Delivery, error) {
	var cfg deliveryConfig
	for _, o := range opts {
		o.applyDelivery(&cfg)
	}
	asked := "every span of a refused request to be stored by a later attempt (nothing lost), and no retry sooner than the sink asked or after an answer that forbids one"
	if cfg.noDuplicates {
		asked += ", and no span stored twice"
	}
	return c.judgeLedger(ctx, l, asked, func(d Delivery) Judgement {
		j := Judgement{Complete: d.Lost.OK() || d.Dropped > 0}
		dups := len(d.Duplicates.Duplicates) > 0
		viol := len(d.Retries.Violations) > 0
		j.Failed = !d.Lost.OK() || viol || cfg.noDuplicates && dups || d.Dropped > 0
		j.Found = firstLine(d.Lost.String())
		j.Lines = append(j.Lines, restLines(d.Lost.String())...)
		if viol {
			j.Found += "; " + firstLine(d.Retries.String())
			j.Lines = append(j.Lines, restLines(d.Retries.String())...)
		}
		if dups {
			verdict := "allowed without NoDuplicates"
			if cfg.noDuplicates {
				j.Found += "; " + firstLine(d.Duplicates.String())
				verdict = "forbidden by NoDuplicates"
			}
			j.Lines = append(j.Lines, firstLine(d.Duplicates.String())+" ("+verdict+"):")
			j.Lines = append(j.Lines, restLines(d.Duplicates.String())...)
		}
		return j
	})
}

// RetriesHonoured proves from the ledger that exporters retried as the
// sink's answers asked: no retry (a later attempt carrying any of the same
// spans) sooner than a RetryInfo or Retry-After delay, and none at all after
// a permanent refusal or a partial success. It waits, woken by each new
// attempt, until some answer constrained a retry and every answer that asked
// for a delay was followed by a retry (so the wait can be measured), then
// keeps watching for the settle window: make it longer than the exporter's
// backoff (WithSettle) to see a forbidden retry that comes late. It fails on
// a broken answer, at the timeout when an answer asking for a delay got no
// retry to measure or no answer constrained one, and when the ledger dropped
// attempts.
func (c *Checker) RetriesHonoured(ctx context.Context, l Ledger, _ ...DeliveryOption) (Delivery, error) {
	asked := "no retry sooner than a RetryInfo or Retry-After asked, and none after a permanent refusal or a partial success"
	return c.judgeLedger(ctx, l, asked, func(d Delivery) Judgement {
		waiting := unmeasured(d.Attempts)
		r := d.Retries
		j := Judgement{
			Complete: r.Checked > 0 && len(waiting) == 0 || d.Dropped > 0,
			Failed:   !r.OK() || len(waiting) > 0 || d.Dropped > 0,
			Found:    firstLine(r.String()),
			Lines:    restLines(r.String()),
		}
		if len(waiting) > 0 {
			j.Found += fmt.Sprintf("; %s asked for a retry delay but no retry came to measure it against", english.Plural(len(waiting), "answer"))
			t0 := firstTime(d.Attempts)
			for _, a := range waiting {
				j.Lines = append(j.Lines, "no retry after: "+attemptLine(a, t0))
			}
		}
		return j
	})
}

// judgeLedger is the loop under the delivery assertions: judgeOnce, looking
// at the ledger instead of spans.
func (c *Checker) judgeLedger(ctx context.Context, l Ledger, asked string, judge func(Delivery) Judgement) (Delivery, error) {
	w := c.begin(ctx)
	defer w.cancel()
	var d Delivery
	look := func(time.Time) (Judgement, <-chan struct{}) {
		ch := l.Changed()
		d = readLedger(l)
		j := judge(d)
		if d.Dropped > 0 {
			j.Found = fmt.Sprintf("cannot judge: the ledger forgot its %d oldest attempts to stay within its limits, and with them evidence "+
				"(raise them with otlpsink.WithLedgerLimits, or Reset the ledger between tests); %s", d.Dropped, j.Found)
		}
		return j, ch
	}
	out := c.judgeOnce(w, look, true)
	j := out.j
	if j.Complete && !j.Failed && out.interrupted == "" {
		return d, nil
	}
	found := j.Found
	switch {
	case out.interrupted != "":
		found += ", but " + out.interrupted
	case !out.complete:
		found += " (" + w.ended() + ")"
	}
	f := &Failure{
		Asked:   fmt.Sprintf("%s (waiting up to %s for the evidence, then %s for late retries)", asked, round(w.limit), round(c.settle)),
		Found:   found,
		Details: append(j.Lines, ledgerSummary(d)...),
		Stats:   c.src.Stats(),
		started: w.start, at: time.Now(),
		// The ledger saw requests even when the sink stored no span.
		attempts: len(d.Attempts),
	}
	return d, f
}

func readLedger(l Ledger) Delivery {
	att := l.Attempts()
	return Delivery{
		Attempts:   att,
		Lost:       fault.Lost(att),
		Duplicates: fault.Duplicates(att),
		Retries:    fault.Retries(att),
		Dropped:    l.Dropped(),
	}
}

// unmeasured lists the attempts with spans whose answer asked for a retry
// delay and that no later attempt retried: the delay cannot be checked.
func unmeasured(attempts []fault.Attempt) []fault.Attempt {
	att := slices.Clone(attempts)
	slices.SortStableFunc(att, func(a, b fault.Attempt) int { return a.Time.Compare(b.Time) })
	last := map[fault.SpanRef]int{} // the last attempt carrying each span
	for i, a := range att {
		for _, s := range a.Spans {
			last[s] = i
		}
	}
	var out []fault.Attempt
	for i, a := range att {
		ans := a.Answer
		if len(a.Spans) == 0 || !ans.Refuses() || !ans.Retryable() || ans.RetryDelay() <= 0 {
			continue
		}
		retried := false
		for _, s := range a.Spans {
			if last[s] > i {
				retried = true
				break
			}
		}
		if !retried {
			out = append(out, a)
		}
	}
	return out
}

// ledgerSummary says what the ledger holds, for a report that must tell "the
// exporter gave up" from "the fault rules never fired".
func ledgerSummary(d Delivery) []string {
	senders := map[string]int{}
	refused, injected := 0, 0
	for _, a := range d.Attempts {
		senders[cmp.Or(a.Sender, "(unknown sender)")]++
		if a.Answer.Refuses() {
			refused++
		}
		if a.Fault.Kind() != fault.KindOK {
			injected++
		}
	}
	line := fmt.Sprintf("ledger: %s, %d refused, %d met a fault rule", english.Plural(len(d.Attempts), "attempt"), refused, injected)
	if len(senders) > 0 {
		var parts []string
		for _, s := range slices.Sorted(maps.Keys(senders)) {
			parts = append(parts, fmt.Sprintf("%s (%d)", s, senders[s]))
		}
		line += "; senders: " + strings.Join(parts, ", ")
	}
	if d.Dropped > 0 {
		line += fmt.Sprintf("; %d older attempts dropped", d.Dropped)
	}
	return []string{line}
}

func firstTime(att []fault.Attempt) time.Time {
	var t0 time.Time
	for _, a := range att {
		if t0.IsZero() || a.Time.Before(t0) {
			t0 = a.Time
		}
	}
	return t0
}

// attemptLine describes an attempt the fault package's reports do not
// cover, in their style.
func attemptLine(a fault.Attempt, t0 time.Time) string {
	who := cmp.Or(a.Sender, "(unknown sender)")
	if len(a.Instances) > 0 {
		who += " (" + strings.Join(a.Instances, ", ") + ")"
	}
	return fmt.Sprintf("+%s from %s %s %s, %s: answered %s, asking for a retry after %s",
		a.Time.Sub(t0), who, a.Transport, a.Signal, english.Plural(len(a.Spans), "span"), a.Answer, a.Answer.RetryDelay())
}

// firstLine is a report's verdict: its first line, without the colon that
// introduces the lines after it.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimSuffix(first, ":")
}

// restLines are a report's lines after the first, indentation kept.
func restLines(s string) []string {
	_, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return nil
	}
	return strings.Split(rest, "\n")
}

// Delivered proves nothing the sink refused was lost and every retry came
// as asked; see [Checker.Delivered]. It returns what the ledger showed, and
// logs the duplicates it allowed.
func (a *Assertions) Delivered(l Ledger, opts ...DeliveryOption) Delivery {
	a.t.Helper()
	d, err := a.c.Delivered(a.ctx(), l, opts...)
	if a.report(err) && len(d.Duplicates.Duplicates) > 0 {
		if lg, ok := a.t.(interface{ Logf(string, ...any) }); ok {
			lg.Logf("%s (allowed: delivery is at least once; NoDuplicates forbids them)", d.Duplicates)
		}
	}
	return d
}

// RetriesHonoured proves exporters retried as the sink's answers asked; see
// [Checker.RetriesHonoured].
func (a *Assertions) RetriesHonoured(l Ledger, opts ...DeliveryOption) Delivery {
	a.t.Helper()
	d, err := a.c.RetriesHonoured(a.ctx(), l, opts...)
	a.report(err)
	return d
}

// byRuleNumber orders [spanstore.Stats].Faults' keys, "rule 2 (...)" before
// "rule 10 (...)".
func byRuleNumber(a, b string) int {
	num := func(s string) int {
		n := 0
		for _, c := range strings.TrimPrefix(s, "rule ") {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	return cmp.Or(cmp.Compare(num(a), num(b)), strings.Compare(a, b))
}
