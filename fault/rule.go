package fault

import (
	"strconv"
	"strings"
	"time"
)

// Transport is the OTLP transport a request came over.
type Transport string

// The transports a rule can select.
const (
	TransportGRPC Transport = "grpc"
	TransportHTTP Transport = "http"
)

// Signal is the OTLP signal a request carries.
type Signal string

// The signals a rule can select.
const (
	Traces  Signal = "traces"
	Metrics Signal = "metrics"
	Logs    Signal = "logs"
)

// Rule says which requests get a fault and what the fault is. Every
// selector that is set must hold (AND); the zero value of a selector selects
// everything. Build one as a literal or with [ParseRule]; [NewInjector]
// checks it with [Rule.Validate]. Rules are comparable values.
type Rule struct {
	// Transport and Signal select by how and what a request carries; ""
	// selects all. An answer that exists on one transport only (a gRPC code,
	// an HTTP status) restricts the rule to that transport by itself.
	Transport Transport
	Signal    Signal

	// From and Until are a window relative to the injector's start: a
	// request at From is in it, one at Until is not. Until 0 leaves the
	// window open-ended.
	From, Until time.Duration

	// Sender, Instance and Correlation are patterns in which '*' matches any
	// run of characters and everything else itself. Sender matches the peer
	// address ("127.0.0.1:*", "[::1]:*"); Instance a service.instance.id and
	// Correlation a correlation value of the request: a request matches when
	// one of its instances (values) does. "" selects all.
	Sender      string
	Instance    string
	Correlation string

	// First, Every and Prob count the requests that reach the rule and pass
	// the selectors above, n = 1, 2, ...: First N selects n <= N, Every K
	// selects n = K, 2K, ..., and Prob P selects the n-th request when the
	// n-th number of a generator seeded with Seed is below P, so a seed
	// always selects the same positions. 0 disables each; Prob is in (0, 1].
	First int
	Every int
	Prob  float64
	Seed  uint64

	// Answer is what a selected request gets.
	Answer Answer
}

// effectiveTransport is the transport the rule applies to: its own, or the
// one its answer exists on.
func (r Rule) effectiveTransport() Transport {
	if r.Transport != "" {
		return r.Transport
	}
	return r.Answer.transport()
}

// String is the rule in the text syntax [ParseRule] reads, in canonical
// order: ParseRule(r.String()) == r for every valid rule.
func (r Rule) String() string {
	var w []string
	if r.Transport != "" {
		w = append(w, string(r.Transport))
	}
	if r.Signal != "" {
		w = append(w, string(r.Signal))
	}
	if r.From != 0 || r.Until != 0 {
		win := "window=" + r.From.String() + ".."
		if r.Until != 0 {
			win += r.Until.String()
		}
		w = append(w, win)
	}
	if r.Sender != "" {
		w = append(w, "sender="+quoteValue(r.Sender))
	}
	if r.Instance != "" {
		w = append(w, "instance="+quoteValue(r.Instance))
	}
	if r.Correlation != "" {
		w = append(w, "correlation="+quoteValue(r.Correlation))
	}
	if r.First != 0 {
		w = append(w, "first="+strconv.Itoa(r.First))
	}
	if r.Every != 0 {
		w = append(w, "every="+strconv.Itoa(r.Every))
	}
	if r.Prob != 0 {
		w = append(w, "prob="+strconv.FormatFloat(r.Prob, 'g', -1, 64))
	}
	if r.Seed != 0 {
		w = append(w, "seed="+strconv.FormatUint(r.Seed, 10))
	}
	w = append(w, "->", r.Answer.String())
	return strings.Join(w, " ")
}

// Validate reports what makes the rule impossible, with the same messages
// [ParseRule] gives for its text.
func (r Rule) Validate() error {
	if p := r.problem(nil); p != nil {
		return &ParseError{Rule: r.String(), Word: p.word, Msg: p.msg}
	}
	return nil
}

// match reports whether the rule's filters (everything but the counters)
// hold for req, which arrived elapsed after the injector started.
func (r Rule) match(req Request, elapsed time.Duration) bool {
	if t := r.effectiveTransport(); t != "" && t != req.Transport {
		return false
	}
	if r.Signal != "" && r.Signal != req.Signal {
		return false
	}
	if elapsed < r.From || r.Until != 0 && elapsed >= r.Until {
		return false
	}
	if r.Sender != "" && !glob(r.Sender, req.Sender) {
		return false
	}
	return anyGlob(r.Instance, req.Instances) && anyGlob(r.Correlation, req.Correlations)
}

func anyGlob(pattern string, values []string) bool {
	if pattern == "" {
		return true
	}
	for _, v := range values {
		if glob(pattern, v) {
			return true
		}
	}
	return false
}

// glob reports whether s matches pattern, in which '*' matches any run of
// bytes and every other byte itself. Unlike path.Match it gives '[' no
// meaning, so IPv6 senders ("[::1]:4317") need no escaping.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			if c := pattern[px]; c == '*' {
				starPx, starSx = px, sx+1
				px++
				continue
			} else if sx < len(s) && s[sx] == c {
				px++
				sx++
				continue
			}
		}
		if starPx >= 0 && starSx <= len(s) {
			px, sx = starPx+1, starSx
			starSx++
			continue
		}
		return false
	}
	return true
}
