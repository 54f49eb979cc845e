package fault

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
)

// ParseError is a rule that [ParseRule] cannot read or [Rule.Validate]
// finds impossible.
type ParseError struct {
	Rule string // the rule's text
	Word string // the offending word as written, "" for the rule as a whole
	Msg  string // what is wrong, naming the word
}

func (e *ParseError) Error() string { return fmt.Sprintf("fault rule %q: %s", e.Rule, e.Msg) }

// problem is a ParseError before it knows its rule.
type problem struct{ word, msg string }

func problemf(word, format string, args ...any) *problem {
	return &problem{word: word, msg: fmt.Sprintf(format, args...)}
}

// ParseRule reads one rule in the syntax the package documentation
// describes, e.g. "grpc traces first=3 -> unavailable".
func ParseRule(text string) (Rule, error) {
	r, p := parse(text)
	if p != nil {
		return Rule{}, &ParseError{Rule: text, Word: p.word, Msg: p.msg}
	}
	return r, nil
}

// Rules is a list of rules that is also a repeatable command-line flag:
//
//	var rules fault.Rules
//	fs.Var(&rules, "fault", "inject a fault: `RULE` (repeatable)")
type Rules []Rule

// Set parses one more rule.
func (rs *Rules) Set(text string) error {
	r, err := ParseRule(text)
	if err != nil {
		return err
	}
	*rs = append(*rs, r)
	return nil
}

// String is the rules' text, separated by "; ".
func (rs *Rules) String() string {
	if rs == nil {
		return ""
	}
	s := make([]string, len(*rs))
	for i, r := range *rs {
		s[i] = r.String()
	}
	return strings.Join(s, "; ")
}

// token is one word of a rule: "grpc", "first=3", `message="a b"`.
type token struct {
	raw    string // as written
	key    string // before '=', or the whole word
	value  string // after '=', unquoted
	eq     bool   // the word has '='
	quoted bool   // the value was a quoted string
}

const (
	wantSelector = `want grpc, http, traces, metrics, logs, first=N, every=K, window=FROM..UNTIL, prob=P, seed=S, sender=PATTERN, instance=PATTERN or correlation=PATTERN`
	wantAnswer   = `want a gRPC code (unavailable, resource-exhausted, deadline-exceeded, invalid-argument, ...), an HTTP status (429, 502, 503, 504, 400, ...), partial, delay=D, hold or drop`
	wantOption   = `want retry=D, retry-after=D, retry-after-date=D, rejected=N, message=TEXT or max=D`
)

var (
	selectorKeys = map[string]string{ // key → how to write it
		"first": "first=N", "every": "every=K", "window": "window=FROM..UNTIL", "prob": "prob=P", "seed": "seed=S",
		"sender": "sender=PATTERN", "instance": "instance=PATTERN", "correlation": "correlation=PATTERN",
	}
	optionKeys = map[string]string{
		"retry": "retry=D", "retry-after": "retry-after=D", "retry-after-date": "retry-after-date=D",
		"rejected": "rejected=N", "message": "message=TEXT", "max": "max=D",
	}
	transportWords = map[string]Transport{"grpc": TransportGRPC, "http": TransportHTTP}
	signalWords    = map[string]Signal{"traces": Traces, "metrics": Metrics, "logs": Logs}
)

func parse(text string) (Rule, *problem) {
	toks, p := tokenize(text)
	if p != nil {
		return Rule{}, p
	}
	if len(toks) == 0 {
		return Rule{}, problemf("", `empty rule; want SELECTORS -> ANSWER, e.g. "grpc first=3 -> unavailable"`)
	}
	arrow := -1
	for i, t := range toks {
		switch {
		case t.raw == "->":
			if arrow >= 0 {
				return Rule{}, problemf("->", `a second "->"; a rule is SELECTORS -> ANSWER`)
			}
			arrow = i
		case strings.Contains(t.key, "->") || !t.quoted && strings.Contains(t.raw, "->"):
			return Rule{}, problemf(t.raw, `%s: put spaces around "->"`, t.raw)
		}
	}
	if arrow < 0 {
		return Rule{}, problemf("", `missing "->" between the selectors and the answer, e.g. "grpc first=3 -> unavailable"`)
	}
	var r Rule
	words := map[string]string{} // key → the word that set it, for messages
	for _, t := range toks[:arrow] {
		if p := parseSelector(&r, t, words); p != nil {
			return Rule{}, p
		}
	}
	rest := toks[arrow+1:]
	if len(rest) == 0 {
		return Rule{}, problemf("->", `nothing after "->"; %s`, wantAnswer)
	}
	if p := parseAnswer(&r, rest[0], words); p != nil {
		return Rule{}, p
	}
	for _, t := range rest[1:] {
		if p := parseOption(&r, t, words); p != nil {
			return Rule{}, p
		}
	}
	if p := r.problem(words); p != nil {
		return Rule{}, p
	}
	return r, nil
}

// tokenize splits a rule at white space. A value that starts with '"'
// right after "key=" is a Go string literal and may hold spaces.
func tokenize(text string) ([]token, *problem) {
	var toks []token
	i := 0
	for i < len(text) {
		if r, n := utf8.DecodeRuneInString(text[i:]); unicode.IsSpace(r) {
			i += n
			continue
		}
		start, eq, quoted := i, -1, false
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if unicode.IsSpace(r) {
				break
			}
			i += n
			if r != '=' || eq >= 0 {
				continue
			}
			eq = i - 1
			if i < len(text) && text[i] == '"' {
				end := closingQuote(text, i)
				if end < 0 {
					return nil, problemf(text[start:], "%s: unterminated quoted value", text[start:])
				}
				i, quoted = end+1, true
				if i < len(text) {
					if r, _ := utf8.DecodeRuneInString(text[i:]); !unicode.IsSpace(r) {
						raw := text[start:]
						if j := strings.IndexFunc(text[i:], unicode.IsSpace); j >= 0 {
							raw = text[start : i+j]
						}
						return nil, problemf(raw, "%s: text after the closing quote", raw)
					}
				}
				break
			}
		}
		t := token{raw: text[start:i], key: text[start:i]}
		if eq >= 0 {
			t.key, t.value, t.eq, t.quoted = text[start:eq], text[eq+1:i], true, quoted
			if quoted {
				v, err := strconv.Unquote(t.value)
				if err != nil {
					return nil, problemf(t.raw, "%s: malformed quoted value (Go string syntax)", t.raw)
				}
				t.value = v
			}
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// closingQuote is the index of the '"' that closes the string literal
// opening at text[open], or -1.
func closingQuote(text string, open int) int {
	for j := open + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// quoteValue writes a value so that tokenize reads it back unchanged.
func quoteValue(s string) string {
	if s == "" || s[0] == '"' || strings.Contains(s, "->") || !utf8.ValidString(s) ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !strconv.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

func parseSelector(r *Rule, t token, words map[string]string) *problem {
	if tr, ok := transportWords[t.key]; ok {
		if t.eq {
			return problemf(t.raw, "%s: %s takes no value", t.raw, t.key)
		}
		if prev, ok := words["transport"]; ok {
			return problemf(t.raw, "%s: the rule already selects %s; a rule has one transport (write one rule for each)", t.raw, prev)
		}
		r.Transport, words["transport"] = tr, t.raw
		return nil
	}
	if sig, ok := signalWords[t.key]; ok {
		if t.eq {
			return problemf(t.raw, "%s: %s takes no value", t.raw, t.key)
		}
		if prev, ok := words["signal"]; ok {
			return problemf(t.raw, "%s: the rule already selects %s; a rule has one signal (write one rule for each)", t.raw, prev)
		}
		r.Signal, words["signal"] = sig, t.raw
		return nil
	}
	how, ok := selectorKeys[t.key]
	switch {
	case !ok && isAnswerWord(t):
		return problemf(t.raw, `%s: an answer; it goes after "->"`, t.raw)
	case !ok && optionKeys[t.key] != "":
		return problemf(t.raw, `%s: an answer option; it goes after "->" and the answer`, t.raw)
	case !ok:
		return problemf(t.raw, "%s: unknown selector; %s", t.raw, wantSelector)
	case !t.eq:
		return problemf(t.raw, "%s: needs a value, %s", t.raw, how)
	}
	if prev, ok := words[t.key]; ok {
		return problemf(t.raw, "%s: %s= given twice (also %s)", t.raw, t.key, prev)
	}
	words[t.key] = t.raw
	v := t.value
	switch t.key {
	case "first", "every":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return problemf(t.raw, "%s: want a count of 1 or more", t.raw)
		}
		if t.key == "first" {
			r.First = n
		} else {
			r.Every = n
		}
	case "window":
		from, until, ok := strings.Cut(v, "..")
		if !ok {
			return problemf(t.raw, "%s: want window=FROM..UNTIL (either may be left out), e.g. window=0s..5s", t.raw)
		}
		if from == "" && until == "" {
			return problemf(t.raw, "%s: give a start, an end or both, e.g. window=0s..5s", t.raw)
		}
		var err error
		if from != "" {
			if r.From, err = time.ParseDuration(from); err != nil {
				return problemf(t.raw, "%s: %q is not a duration (e.g. 500ms, 2s)", t.raw, from)
			}
		}
		if until != "" {
			if r.Until, err = time.ParseDuration(until); err != nil {
				return problemf(t.raw, "%s: %q is not a duration (e.g. 500ms, 2s)", t.raw, until)
			}
			if r.Until <= r.From {
				return problemf(t.raw, "%s: the window ends at or before its start", t.raw)
			}
		}
		if r.From < 0 || r.Until < 0 {
			return problemf(t.raw, "%s: the window starts before the sink did; offsets are 0 or more", t.raw)
		}
	case "prob":
		p, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil && !isRangeErr(err):
			return problemf(t.raw, "%s: not a number; want a probability above 0 and at most 1", t.raw)
		case p == 0:
			return problemf(t.raw, "%s: a rule that never fires; want a probability above 0 and at most 1", t.raw)
		case !(p > 0 && p <= 1):
			return problemf(t.raw, "%s: outside [0,1]", t.raw)
		}
		r.Prob = p
	case "seed":
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return problemf(t.raw, "%s: want a whole number from 0 to %d", t.raw, uint64(1<<64-1))
		}
		r.Seed = s
	case "sender", "instance", "correlation":
		if v == "" {
			return problemf(t.raw, "%s: empty pattern; leave the selector out to match everything", t.raw)
		}
		switch t.key {
		case "sender":
			r.Sender = v
		case "instance":
			r.Instance = v
		default:
			r.Correlation = v
		}
	}
	return nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// isAnswerWord reports whether t would be read as an answer after "->".
func isAnswerWord(t token) bool {
	if _, ok := codesByName[t.key]; ok && !t.eq {
		return true
	}
	switch t.key {
	case "partial", "hold", "drop", "delay":
		return true
	}
	return allDigits(t.raw)
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func parseAnswer(r *Rule, t token, words map[string]string) *problem {
	words["answer"] = t.raw
	if c, ok := codesByName[t.key]; ok && !t.eq {
		if c == codes.OK {
			return problemf(t.raw, "%s: the real answer, not a fault", t.raw)
		}
		r.Answer = GRPC(c)
		return nil
	}
	if allDigits(t.raw) {
		s, err := strconv.Atoi(t.raw)
		if err != nil || s < 400 || s > 599 {
			return problemf(t.raw, "HTTP status %s is not an error status; want 400 to 599", t.raw)
		}
		r.Answer = HTTP(s)
		return nil
	}
	switch t.key {
	case "partial", "hold", "drop":
		if t.eq {
			hint := ""
			switch t.key {
			case "partial":
				hint = "; write partial rejected=N"
			case "hold":
				hint = "; write hold max=D"
			}
			return problemf(t.raw, "%s: %s takes no value%s", t.raw, t.key, hint)
		}
		switch t.key {
		case "partial":
			r.Answer = Answer{kind: KindPartial}
		case "hold":
			r.Answer = Hold(0)
		default:
			r.Answer = Drop()
		}
		return nil
	case "delay":
		if !t.eq {
			return problemf(t.raw, "%s: needs a value, delay=D (e.g. delay=200ms)", t.raw)
		}
		d, p := positiveDuration(t)
		if p != nil {
			return p
		}
		r.Answer = Delay(d)
		return nil
	}
	if _, ok := selectorKeys[t.key]; ok || transportWords[t.key] != "" || signalWords[t.key] != "" {
		return problemf(t.raw, `%s: a selector; it goes before "->"`, t.raw)
	}
	if optionKeys[t.key] != "" {
		return problemf(t.raw, `%s: an answer option; the answer comes first, e.g. "-> unavailable retry=1s"`, t.raw)
	}
	return problemf(t.raw, "%s: unknown answer; %s", t.raw, wantAnswer)
}

func parseOption(r *Rule, t token, words map[string]string) *problem {
	how, ok := optionKeys[t.key]
	switch {
	case !ok && isAnswerWord(t):
		return problemf(t.raw, "%s: a second answer; the rule already answers %s", t.raw, words["answer"])
	case !ok && (selectorKeys[t.key] != "" || transportWords[t.key] != "" || signalWords[t.key] != ""):
		return problemf(t.raw, `%s: a selector; it goes before "->"`, t.raw)
	case !ok:
		return problemf(t.raw, "%s: unknown answer option; %s", t.raw, wantOption)
	case !t.eq:
		return problemf(t.raw, "%s: needs a value, %s", t.raw, how)
	}
	if prev, ok := words[t.key]; ok {
		return problemf(t.raw, "%s: %s= given twice (also %s)", t.raw, t.key, prev)
	}
	words[t.key] = t.raw
	a := &r.Answer
	switch t.key {
	case "retry", "max":
		d, p := positiveDuration(t)
		if p != nil {
			return p
		}
		if t.key == "retry" {
			if a.kind == KindHTTP {
				return problemf(t.raw, "%s: gRPC RetryInfo; an HTTP answer takes retry-after=D or retry-after-date=D", t.raw)
			}
			a.retry = d
		} else {
			if a.kind != KindHold {
				return problemf(t.raw, "%s: only hold takes max=", t.raw)
			}
			a.wait = d
		}
	case "retry-after", "retry-after-date":
		if a.kind == KindGRPC {
			return problemf(t.raw, "%s: an HTTP header; a gRPC answer takes retry=D (RetryInfo)", t.raw)
		}
		other := "retry-after-date"
		if t.key == other {
			other = "retry-after"
		}
		if prev, ok := words[other]; ok {
			return problemf(t.raw, "%s: %s already sets Retry-After; give one of the two", t.raw, prev)
		}
		d, p := positiveDuration(t)
		if p != nil {
			return p
		}
		a.retry, a.date = d, t.key == "retry-after-date"
	case "rejected":
		n, err := strconv.Atoi(t.value)
		if err != nil || n < 0 {
			return problemf(t.raw, "%s: want a count of 0 or more", t.raw)
		}
		if a.kind != KindPartial {
			return problemf(t.raw, "%s: only partial takes rejected=", t.raw)
		}
		a.rejected = n
	case "message":
		if t.value == "" {
			return problemf(t.raw, "%s: empty message; leave it out for the default", t.raw)
		}
		a.message = t.value
	}
	return nil
}

func positiveDuration(t token) (time.Duration, *problem) {
	d, err := time.ParseDuration(t.value)
	if err != nil {
		return 0, problemf(t.raw, "%s: %q is not a duration (e.g. 500ms, 2s)", t.raw, t.value)
	}
	if d <= 0 {
		return 0, problemf(t.raw, "%s: want a duration above 0", t.raw)
	}
	return d, nil
}

// problem finds what makes a rule impossible. words maps a key ("answer",
// "retry", "transport", ...) to the word that set it in a parsed rule, so
// that messages quote the rule as written; a key missing from it is named
// in the canonical form.
func (r Rule) problem(words map[string]string) *problem {
	word := func(key, canonical string) string {
		if w, ok := words[key]; ok {
			return w
		}
		return canonical
	}
	a := r.Answer
	aw := word("answer", a.String())
	if i := strings.Index(aw, " "); i >= 0 && words == nil {
		aw = aw[:i] // just the answer word, without its options
	}

	// Selectors (a parsed rule has passed these already).
	switch {
	case r.Transport != "" && r.Transport != TransportGRPC && r.Transport != TransportHTTP:
		return problemf(string(r.Transport), "%s: unknown transport; want grpc or http", r.Transport)
	case r.Signal != "" && r.Signal != Traces && r.Signal != Metrics && r.Signal != Logs:
		return problemf(string(r.Signal), "%s: unknown signal; want traces, metrics or logs", r.Signal)
	case r.First < 0:
		w := fmt.Sprintf("first=%d", r.First)
		return problemf(w, "%s: want a count of 1 or more", w)
	case r.Every < 0:
		w := fmt.Sprintf("every=%d", r.Every)
		return problemf(w, "%s: want a count of 1 or more", w)
	case r.From < 0 || r.Until < 0:
		w := "window=" + r.From.String() + ".." + r.Until.String()
		return problemf(w, "%s: the window starts before the sink did; offsets are 0 or more", w)
	case r.Until != 0 && r.Until <= r.From:
		w := "window=" + r.From.String() + ".." + r.Until.String()
		return problemf(w, "%s: the window ends at or before its start", w)
	case r.Prob != 0 && !(r.Prob > 0 && r.Prob <= 1):
		w := "prob=" + strconv.FormatFloat(r.Prob, 'g', -1, 64)
		return problemf(w, "%s: outside [0,1]", w)
	}
	if r.Prob == 0 {
		if w, ok := words["seed"]; ok || r.Seed != 0 {
			if !ok {
				w = "seed=" + strconv.FormatUint(r.Seed, 10)
			}
			return problemf(w, "%s without prob=: a seed only fixes the draws of prob=P", w)
		}
	}

	// The answer on its own.
	switch a.kind {
	case KindOK:
		return problemf("", `no answer: the rule must say what the sink does (its Answer is the zero Answer, the real success)`)
	case KindGRPC:
		if a.code == codes.OK {
			return problemf("ok", "ok: the real answer, not a fault")
		}
		if _, ok := codeNames[a.code]; !ok {
			return problemf(aw, "%s: unknown gRPC code", aw)
		}
	case KindHTTP:
		if a.status < 400 || a.status > 599 {
			return problemf(aw, "HTTP status %d is not an error status; want 400 to 599", a.status)
		}
	case KindPartial:
		if _, ok := words["rejected"]; words != nil && !ok {
			return problemf(aw, "%s: say how many items it rejects, e.g. partial rejected=2", aw)
		}
		if a.rejected < 0 {
			w := fmt.Sprintf("rejected=%d", a.rejected)
			return problemf(w, "%s: want a count of 0 or more", w)
		}
		if a.rejected == 0 && a.message == "" {
			w := word("rejected", "rejected=0")
			return problemf(w, "%s: a partial success that rejects nothing needs a message=TEXT (OTLP's warning form)", w)
		}
	case KindDelay:
		if a.wait <= 0 {
			return problemf(aw, "%s: want a duration above 0", aw)
		}
	case KindHold:
		if a.wait < 0 {
			w := "max=" + a.wait.String()
			return problemf(w, "%s: want a duration above 0", w)
		}
	case KindDrop:
	default:
		return problemf(aw, "%s: unknown answer kind", aw)
	}

	// The answer against the selectors.
	if at := a.transport(); r.Transport != "" && at != "" && at != r.Transport {
		if at == TransportHTTP {
			return problemf(aw, "HTTP status %s on a gRPC-only rule", aw)
		}
		return problemf(aw, "gRPC code %s on an HTTP-only rule", aw)
	}

	// The answer's options.
	if a.retry != 0 {
		switch a.kind {
		case KindGRPC:
			rw := word("retry", "retry="+a.retry.String())
			if a.date {
				return problemf("retry-after-date="+a.retry.String(), "retry-after-date=%s: an HTTP header; a gRPC answer takes retry=D (RetryInfo)", a.retry)
			}
			if a.retry < 0 {
				return problemf(rw, "%s: want a duration above 0", rw)
			}
			if !retryableCode(a.code) && a.code != codes.ResourceExhausted {
				return problemf(rw, "%s on %s, a permanent refusal: exporters do not retry it", rw, aw)
			}
		case KindHTTP:
			key := "retry-after"
			if a.date {
				key = "retry-after-date"
			}
			rw := word(key, key+"="+a.retry.String())
			if a.retry < 0 {
				return problemf(rw, "%s: want a duration above 0", rw)
			}
			if a.retry%time.Second != 0 {
				return problemf(rw, "%s: Retry-After counts whole seconds", rw)
			}
			if !retryableStatus(a.status) {
				return problemf(rw, "%s on HTTP %d, a permanent refusal: exporters do not retry it", rw, a.status)
			}
		default:
			if w, ok := words["retry-after"]; ok {
				return problemf(w, "%s: only an HTTP status takes retry-after=", w)
			}
			if w, ok := words["retry-after-date"]; ok {
				return problemf(w, "%s: only an HTTP status takes retry-after-date=", w)
			}
			rw := word("retry", "retry="+a.retry.String())
			return problemf(rw, "%s: only a gRPC code takes retry=", rw)
		}
	}
	if w, ok := words["rejected"]; ok && a.kind != KindPartial {
		return problemf(w, "%s: only partial takes rejected=", w)
	}
	if a.message != "" && (a.kind == KindDelay || a.kind == KindDrop) {
		mw := word("message", "message="+quoteValue(a.message))
		return problemf(mw, "%s: %s sends no message of its own; only a refusal, hold or partial carries one", mw, aw)
	}
	return nil
}
