package fault

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Request is what the receiver knows of a request when it asks an
// [Injector] for a decision: call Decide after decoding the body (instances
// and correlation values come from it), before storing anything.
type Request struct {
	// Time is when the request arrived; zero means now.
	Time      time.Time
	Transport Transport
	Signal    Signal
	// Sender is the peer address, "127.0.0.1:51234".
	Sender string
	// Instances are the service.instance.id values of the request's
	// resources; Correlations the correlation values its spans carry.
	Instances    []string
	Correlations []string
}

func (r Request) at() time.Time {
	if r.Time.IsZero() {
		return time.Now()
	}
	return r.Time
}

// Injector decides which requests get which fault. It is safe for
// concurrent use; a nil *Injector injects nothing.
type Injector struct {
	start time.Time
	mu    sync.Mutex
	rules []ruleState
}

type ruleState struct {
	rule           Rule
	label          string
	draws          *rand.PCG
	matched, fired int
}

// NewInjector checks rules ([Rule.Validate]) and returns an injector whose
// windows count from start, the sink's start.
func NewInjector(start time.Time, rules ...Rule) (*Injector, error) {
	in := &Injector{start: start, rules: make([]ruleState, len(rules))}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rule %d of %d: %w", i+1, len(rules), err)
		}
		in.rules[i] = ruleState{rule: r, label: fmt.Sprintf("rule %d (%s)", i+1, r)}
		if r.Prob > 0 {
			in.rules[i].draws = rand.NewPCG(r.Seed, 0)
		}
	}
	return in, nil
}

// Decide checks the rules in order and returns the answer of the first that
// selects req, or false when none does (the receiver answers as usual). A
// rule that answers a request hides it from the rules after it: their
// counters do not see it.
//
// The answer's default message names the rule, and an HTTP-date
// Retry-After is fixed here, relative to req.Time, so that the header and
// the [Ledger]'s record of it agree.
func (in *Injector) Decide(req Request) (Answer, bool) {
	if in == nil {
		return Answer{}, false
	}
	t := req.at()
	elapsed := t.Sub(in.start)
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := range in.rules {
		rs := &in.rules[i]
		r := rs.rule
		if !r.match(req, elapsed) {
			continue
		}
		rs.matched++
		n := rs.matched
		fire := (r.First == 0 || n <= r.First) && (r.Every == 0 || n%r.Every == 0)
		if rs.draws != nil {
			// Draw for every request that passes the filters, so that the
			// n-th such request always gets the n-th number.
			fire = unitFloat(rs.draws.Uint64()) < r.Prob && fire
		}
		if !fire {
			continue
		}
		rs.fired++
		a := r.Answer
		a.rule = rs.label
		if a.kind == KindHTTP && a.date && a.retry > 0 {
			a.retryAt = retryDate(t, a.retry)
		}
		return a, true
	}
	return Answer{}, false
}

// unitFloat maps a PCG output to [0, 1) with 53 bits, spelled out here
// rather than left to math/rand so that a seed's sequence never changes.
func unitFloat(u uint64) float64 { return float64(u>>11) / (1 << 53) }

// RuleStats says how often a rule saw and answered requests.
type RuleStats struct {
	Rule Rule
	// Matched counts the requests that reached the rule and passed its
	// filters; Fired those it answered.
	Matched, Fired int
}

// Stats is a snapshot of every rule's counts, in rule order.
func (in *Injector) Stats() []RuleStats {
	if in == nil {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	s := make([]RuleStats, len(in.rules))
	for i, rs := range in.rules {
		s[i] = RuleStats{Rule: rs.rule, Matched: rs.matched, Fired: rs.fired}
	}
	return s
}
