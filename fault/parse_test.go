package fault

import (
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func TestParseRuleAccepts(t *testing.T) {
	tests := []struct {
		text      string
		want      Rule
		canonical string // "" when it is text itself
	}{
		// Every selector.
		{"grpc -> unavailable", Rule{Transport: TransportGRPC, Answer: GRPC(codes.Unavailable)}, ""},
		{"http -> 503", Rule{Transport: TransportHTTP, Answer: HTTP(503)}, ""},
		{"traces -> drop", Rule{Signal: Traces, Answer: Drop()}, ""},
		{"metrics -> drop", Rule{Signal: Metrics, Answer: Drop()}, ""},
		{"logs -> drop", Rule{Signal: Logs, Answer: Drop()}, ""},
		{"grpc traces first=3 -> unavailable", Rule{Transport: TransportGRPC, Signal: Traces, First: 3, Answer: GRPC(codes.Unavailable)}, ""},
		{"every=2 -> drop", Rule{Every: 2, Answer: Drop()}, ""},
		{"window=0s..5s -> delay=200ms", Rule{Until: 5 * time.Second, Answer: Delay(200 * time.Millisecond)}, ""},
		{"window=..5s -> drop", Rule{Until: 5 * time.Second, Answer: Drop()}, "window=0s..5s -> drop"},
		{"window=1.5s.. -> drop", Rule{From: 1500 * time.Millisecond, Answer: Drop()}, ""},
		{"window=2s..1m -> drop", Rule{From: 2 * time.Second, Until: time.Minute, Answer: Drop()}, "window=2s..1m0s -> drop"},
		{"window=0s.. -> drop", Rule{Answer: Drop()}, "-> drop"},
		{"prob=0.3 seed=7 -> drop", Rule{Prob: 0.3, Seed: 7, Answer: Drop()}, ""},
		{"prob=1 -> drop", Rule{Prob: 1, Answer: Drop()}, ""},
		{"prob=0.5 seed=0 -> drop", Rule{Prob: 0.5, Answer: Drop()}, "prob=0.5 -> drop"},
		{"sender=127.0.0.1:* -> drop", Rule{Sender: "127.0.0.1:*", Answer: Drop()}, ""},
		{"sender=[::1]:4317 -> drop", Rule{Sender: "[::1]:4317", Answer: Drop()}, ""},
		{"instance=worker-rust-* -> drop", Rule{Instance: "worker-rust-*", Answer: Drop()}, ""},
		{"correlation=order-A1 -> drop", Rule{Correlation: "order-A1", Answer: Drop()}, ""},
		{`correlation="order A1" -> drop`, Rule{Correlation: "order A1", Answer: Drop()}, ""},
		{`correlation="a->b" -> drop`, Rule{Correlation: "a->b", Answer: Drop()}, ""},
		{`instance=a"b -> drop`, Rule{Instance: `a"b`, Answer: Drop()}, ""},
		{`instance=a=b -> drop`, Rule{Instance: "a=b", Answer: Drop()}, ""},
		{"sender=127.0.0.1:* prob=0.3 seed=7 -> resource-exhausted retry=1s",
			Rule{Sender: "127.0.0.1:*", Prob: 0.3, Seed: 7, Answer: GRPC(codes.ResourceExhausted).WithRetry(time.Second)},
			"sender=127.0.0.1:* prob=0.3 seed=7 -> resource-exhausted retry=1s"},
		{"logs every=3 first=4 http window=1s..2s instance=i correlation=c sender=s -> 429",
			Rule{Transport: TransportHTTP, Signal: Logs, From: time.Second, Until: 2 * time.Second, Sender: "s", Instance: "i", Correlation: "c", First: 4, Every: 3, Answer: HTTP(429)},
			"http logs window=1s..2s sender=s instance=i correlation=c first=4 every=3 -> 429"},
		{"  grpc\t first=+3\n->  unavailable  ", Rule{Transport: TransportGRPC, First: 3, Answer: GRPC(codes.Unavailable)}, "grpc first=3 -> unavailable"},

		// Every answer.
		{"-> unavailable", Rule{Answer: GRPC(codes.Unavailable)}, ""},
		{"-> unavailable retry=2s", Rule{Answer: GRPC(codes.Unavailable).WithRetry(2 * time.Second)}, ""},
		{"-> resource-exhausted", Rule{Answer: GRPC(codes.ResourceExhausted)}, ""},
		{"-> resource-exhausted retry=1s", Rule{Answer: GRPC(codes.ResourceExhausted).WithRetry(time.Second)}, ""},
		{"-> deadline-exceeded", Rule{Answer: GRPC(codes.DeadlineExceeded)}, ""},
		{"-> invalid-argument", Rule{Answer: GRPC(codes.InvalidArgument)}, ""},
		{`-> invalid-argument message="bad data"`, Rule{Answer: GRPC(codes.InvalidArgument).WithMessage("bad data")}, ""},
		{"-> cancelled retry=1ms", Rule{Answer: GRPC(codes.Canceled).WithRetry(time.Millisecond)}, ""},
		{"-> aborted", Rule{Answer: GRPC(codes.Aborted)}, ""},
		{"-> out-of-range", Rule{Answer: GRPC(codes.OutOfRange)}, ""},
		{"-> data-loss", Rule{Answer: GRPC(codes.DataLoss)}, ""},
		{"-> unknown", Rule{Answer: GRPC(codes.Unknown)}, ""},
		{"-> not-found", Rule{Answer: GRPC(codes.NotFound)}, ""},
		{"-> already-exists", Rule{Answer: GRPC(codes.AlreadyExists)}, ""},
		{"-> permission-denied", Rule{Answer: GRPC(codes.PermissionDenied)}, ""},
		{"-> failed-precondition", Rule{Answer: GRPC(codes.FailedPrecondition)}, ""},
		{"-> unimplemented", Rule{Answer: GRPC(codes.Unimplemented)}, ""},
		{"-> internal", Rule{Answer: GRPC(codes.Internal)}, ""},
		{"-> unauthenticated", Rule{Answer: GRPC(codes.Unauthenticated)}, ""},
		{"-> 429", Rule{Answer: HTTP(429)}, ""},
		{"-> 429 retry-after=2s", Rule{Answer: HTTP(429).WithRetry(2 * time.Second)}, ""},
		{"-> 502 retry-after=1s", Rule{Answer: HTTP(502).WithRetry(time.Second)}, ""},
		{"-> 503 retry-after-date=3s", Rule{Answer: HTTP(503).WithRetryDate(3 * time.Second)}, ""},
		{"-> 504 retry-after=1m", Rule{Answer: HTTP(504).WithRetry(time.Minute)}, "-> 504 retry-after=1m0s"},
		{"-> 400", Rule{Answer: HTTP(400)}, ""},
		{`-> 400 message="no"`, Rule{Answer: HTTP(400).WithMessage("no")}, "-> 400 message=no"},
		{"-> 599", Rule{Answer: HTTP(599)}, ""},
		{`-> partial rejected=2 message="quota"`, Rule{Answer: Partial(2, "quota")}, "-> partial rejected=2 message=quota"},
		{"-> partial rejected=3", Rule{Answer: Partial(3, "")}, ""},
		{"-> partial message=careful rejected=0", Rule{Answer: Partial(0, "careful")}, "-> partial rejected=0 message=careful"},
		{`-> partial rejected=1 message="tab\there"`, Rule{Answer: Partial(1, "tab\there")}, ""},
		{"-> delay=200ms", Rule{Answer: Delay(200 * time.Millisecond)}, ""},
		{"-> hold", Rule{Answer: Hold(0)}, ""},
		{"-> hold max=5s", Rule{Answer: Hold(5 * time.Second)}, ""},
		{`-> hold message="slow"`, Rule{Answer: Hold(0).WithMessage("slow")}, "-> hold message=slow"},
		{"first=1 -> drop", Rule{First: 1, Answer: Drop()}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseRule(tt.text)
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tt.text, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRule(%q)\n got %#v\nwant %#v", tt.text, got, tt.want)
			}
			canonical := tt.canonical
			if canonical == "" {
				canonical = tt.text
			}
			if s := got.String(); s != canonical {
				t.Errorf("String() = %q, want %q", s, canonical)
			}
			again, err := ParseRule(got.String())
			if err != nil || again != got {
				t.Errorf("ParseRule(String()) = %v, %v; want the same rule", again, err)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestParseRuleRejects(t *testing.T) {
	tests := []struct{ text, word, msg string }{
		// The rule's shape.
		{"", "", `empty rule; want SELECTORS -> ANSWER, e.g. "grpc first=3 -> unavailable"`},
		{"   ", "", `empty rule; want SELECTORS -> ANSWER, e.g. "grpc first=3 -> unavailable"`},
		{"grpc unavailable", "", `missing "->" between the selectors and the answer, e.g. "grpc first=3 -> unavailable"`},
		{"grpc ->", "->", `nothing after "->"; want a gRPC code (unavailable, resource-exhausted, deadline-exceeded, invalid-argument, ...), an HTTP status (429, 502, 503, 504, 400, ...), partial, delay=D, hold or drop`},
		{"-> drop -> drop", "->", `a second "->"; a rule is SELECTORS -> ANSWER`},
		{"first=3->drop", "first=3->drop", `first=3->drop: put spaces around "->"`},
		{"first=3 ->drop", "->drop", `->drop: put spaces around "->"`},
		{`message="a -> drop`, `message="a -> drop`, `message="a -> drop: unterminated quoted value`},
		{`-> partial rejected=1 message="a"b`, `message="a"b`, `message="a"b: text after the closing quote`},
		{`-> partial rejected=1 message="\q"`, `message="\q"`, `message="\q": malformed quoted value (Go string syntax)`},

		// Selectors.
		{"frist=3 -> drop", "frist=3", "frist=3: unknown selector; want grpc, http, traces, metrics, logs, first=N, every=K, window=FROM..UNTIL, prob=P, seed=S, sender=PATTERN, instance=PATTERN or correlation=PATTERN"},
		{"GRPC -> drop", "GRPC", "GRPC: unknown selector; want grpc, http, traces, metrics, logs, first=N, every=K, window=FROM..UNTIL, prob=P, seed=S, sender=PATTERN, instance=PATTERN or correlation=PATTERN"},
		{"grpc=1 -> drop", "grpc=1", "grpc=1: grpc takes no value"},
		{"traces=yes -> drop", "traces=yes", "traces=yes: traces takes no value"},
		{"grpc http -> drop", "http", "http: the rule already selects grpc; a rule has one transport (write one rule for each)"},
		{"grpc grpc -> drop", "grpc", "grpc: the rule already selects grpc; a rule has one transport (write one rule for each)"},
		{"traces logs -> drop", "logs", "logs: the rule already selects traces; a rule has one signal (write one rule for each)"},
		{"unavailable -> drop", "unavailable", `unavailable: an answer; it goes after "->"`},
		{"503 -> drop", "503", `503: an answer; it goes after "->"`},
		{"retry=1s -> unavailable", "retry=1s", `retry=1s: an answer option; it goes after "->" and the answer`},
		{"first -> drop", "first", "first: needs a value, first=N"},
		{"sender -> drop", "sender", "sender: needs a value, sender=PATTERN"},
		{"first=0 -> drop", "first=0", "first=0: want a count of 1 or more"},
		{"first=-1 -> drop", "first=-1", "first=-1: want a count of 1 or more"},
		{"first=x -> drop", "first=x", "first=x: want a count of 1 or more"},
		{"first=99999999999999999999 -> drop", "first=99999999999999999999", "first=99999999999999999999: want a count of 1 or more"},
		{"first=2 first=3 -> drop", "first=3", "first=3: first= given twice (also first=2)"},
		{"every=0 -> drop", "every=0", "every=0: want a count of 1 or more"},
		{"every=1.5 -> drop", "every=1.5", "every=1.5: want a count of 1 or more"},
		{"window=5s -> drop", "window=5s", "window=5s: want window=FROM..UNTIL (either may be left out), e.g. window=0s..5s"},
		{"window=.. -> drop", "window=..", "window=..: give a start, an end or both, e.g. window=0s..5s"},
		{"window=x..5s -> drop", "window=x..5s", `window=x..5s: "x" is not a duration (e.g. 500ms, 2s)`},
		{"window=1s..5 -> drop", "window=1s..5", `window=1s..5: "5" is not a duration (e.g. 500ms, 2s)`},
		{"window=5s..1s -> drop", "window=5s..1s", "window=5s..1s: the window ends at or before its start"},
		{"window=1s..1s -> drop", "window=1s..1s", "window=1s..1s: the window ends at or before its start"},
		{"window=0s..0s -> drop", "window=0s..0s", "window=0s..0s: the window ends at or before its start"},
		{"window=-2s..1s -> drop", "window=-2s..1s", "window=-2s..1s: the window starts before the sink did; offsets are 0 or more"},
		{"window=-2s.. -> drop", "window=-2s..", "window=-2s..: the window starts before the sink did; offsets are 0 or more"},
		{"prob=1.5 -> drop", "prob=1.5", "prob=1.5: outside [0,1]"},
		{"prob=-0.1 -> drop", "prob=-0.1", "prob=-0.1: outside [0,1]"},
		{"prob=NaN -> drop", "prob=NaN", "prob=NaN: outside [0,1]"},
		{"prob=1e400 -> drop", "prob=1e400", "prob=1e400: outside [0,1]"},
		{"prob=0 -> drop", "prob=0", "prob=0: a rule that never fires; want a probability above 0 and at most 1"},
		{"prob=1e-400 -> drop", "prob=1e-400", "prob=1e-400: a rule that never fires; want a probability above 0 and at most 1"},
		{"prob=half -> drop", "prob=half", "prob=half: not a number; want a probability above 0 and at most 1"},
		{"seed=7 -> drop", "seed=7", "seed=7 without prob=: a seed only fixes the draws of prob=P"},
		{"seed=0 -> drop", "seed=0", "seed=0 without prob=: a seed only fixes the draws of prob=P"},
		{"prob=0.5 seed=-1 -> drop", "seed=-1", "seed=-1: want a whole number from 0 to 18446744073709551615"},
		{"sender= -> drop", "sender=", "sender=: empty pattern; leave the selector out to match everything"},
		{`instance="" -> drop`, `instance=""`, `instance="": empty pattern; leave the selector out to match everything`},
		{"correlation= -> drop", "correlation=", "correlation=: empty pattern; leave the selector out to match everything"},

		// Answers.
		{"-> unavailabel", "unavailabel", "unavailabel: unknown answer; want a gRPC code (unavailable, resource-exhausted, deadline-exceeded, invalid-argument, ...), an HTTP status (429, 502, 503, 504, 400, ...), partial, delay=D, hold or drop"},
		{"-> Unavailable", "Unavailable", "Unavailable: unknown answer; want a gRPC code (unavailable, resource-exhausted, deadline-exceeded, invalid-argument, ...), an HTTP status (429, 502, 503, 504, 400, ...), partial, delay=D, hold or drop"},
		{"-> ok", "ok", "ok: the real answer, not a fault"},
		{"-> 200", "200", "HTTP status 200 is not an error status; want 400 to 599"},
		{"-> 302", "302", "HTTP status 302 is not an error status; want 400 to 599"},
		{"-> 600", "600", "HTTP status 600 is not an error status; want 400 to 599"},
		{"-> 99999999999999999999", "99999999999999999999", "HTTP status 99999999999999999999 is not an error status; want 400 to 599"},
		{"-> partial=2", "partial=2", "partial=2: partial takes no value; write partial rejected=N"},
		{"-> hold=5s", "hold=5s", "hold=5s: hold takes no value; write hold max=D"},
		{"-> drop=1", "drop=1", "drop=1: drop takes no value"},
		{"-> delay", "delay", "delay: needs a value, delay=D (e.g. delay=200ms)"},
		{"-> delay=0s", "delay=0s", "delay=0s: want a duration above 0"},
		{"-> delay=-1s", "delay=-1s", "delay=-1s: want a duration above 0"},
		{"-> delay=soon", "delay=soon", `delay=soon: "soon" is not a duration (e.g. 500ms, 2s)`},
		{"-> first=3", "first=3", `first=3: a selector; it goes before "->"`},
		{"-> grpc", "grpc", `grpc: a selector; it goes before "->"`},
		{"-> retry=1s", "retry=1s", `retry=1s: an answer option; the answer comes first, e.g. "-> unavailable retry=1s"`},
		{"-> unavailable 503", "503", "503: a second answer; the rule already answers unavailable"},
		{"-> drop hold", "hold", "hold: a second answer; the rule already answers drop"},
		{"-> unavailable first=3", "first=3", `first=3: a selector; it goes before "->"`},
		{"-> unavailable http", "http", `http: a selector; it goes before "->"`},
		{"-> unavailable retries=1s", "retries=1s", "retries=1s: unknown answer option; want retry=D, retry-after=D, retry-after-date=D, rejected=N, message=TEXT or max=D"},
		{"-> unavailable retry", "retry", "retry: needs a value, retry=D"},
		{"-> unavailable retry=1s retry=2s", "retry=2s", "retry=2s: retry= given twice (also retry=1s)"},

		// Impossible combinations.
		{"grpc -> 429", "429", "HTTP status 429 on a gRPC-only rule"},
		{"grpc traces -> 503 retry-after=1s", "503", "HTTP status 503 on a gRPC-only rule"},
		{"http -> unavailable", "unavailable", "gRPC code unavailable on an HTTP-only rule"},
		{"-> unavailable retry=0s", "retry=0s", "retry=0s: want a duration above 0"},
		{"-> unavailable retry=-1s", "retry=-1s", "retry=-1s: want a duration above 0"},
		{"-> invalid-argument retry=1s", "retry=1s", "retry=1s on invalid-argument, a permanent refusal: exporters do not retry it"},
		{"-> internal retry=1s", "retry=1s", "retry=1s on internal, a permanent refusal: exporters do not retry it"},
		{"-> unavailable retry-after=1s", "retry-after=1s", "retry-after=1s: an HTTP header; a gRPC answer takes retry=D (RetryInfo)"},
		{"-> unavailable retry-after-date=1s", "retry-after-date=1s", "retry-after-date=1s: an HTTP header; a gRPC answer takes retry=D (RetryInfo)"},
		{"-> 503 retry=1s", "retry=1s", "retry=1s: gRPC RetryInfo; an HTTP answer takes retry-after=D or retry-after-date=D"},
		{"-> 400 retry-after=2s", "retry-after=2s", "retry-after=2s on HTTP 400, a permanent refusal: exporters do not retry it"},
		{"-> 500 retry-after-date=2s", "retry-after-date=2s", "retry-after-date=2s on HTTP 500, a permanent refusal: exporters do not retry it"},
		{"-> 503 retry-after=1500ms", "retry-after=1500ms", "retry-after=1500ms: Retry-After counts whole seconds"},
		{"-> 503 retry-after=0s", "retry-after=0s", "retry-after=0s: want a duration above 0"},
		{"-> 503 retry-after=2s retry-after-date=2s", "retry-after-date=2s", "retry-after-date=2s: retry-after=2s already sets Retry-After; give one of the two"},
		{"-> drop retry=1s", "retry=1s", "retry=1s: only a gRPC code takes retry="},
		{"-> partial rejected=1 retry-after=1s", "retry-after=1s", "retry-after=1s: only an HTTP status takes retry-after="},
		{"-> hold retry-after-date=1s", "retry-after-date=1s", "retry-after-date=1s: only an HTTP status takes retry-after-date="},
		{"-> partial", "partial", "partial: say how many items it rejects, e.g. partial rejected=2"},
		{`-> partial message="x"`, "partial", "partial: say how many items it rejects, e.g. partial rejected=2"},
		{"-> partial rejected=0", "rejected=0", "rejected=0: a partial success that rejects nothing needs a message=TEXT (OTLP's warning form)"},
		{"-> partial rejected=-1", "rejected=-1", "rejected=-1: want a count of 0 or more"},
		{"-> partial rejected=x", "rejected=x", "rejected=x: want a count of 0 or more"},
		{"-> unavailable rejected=1", "rejected=1", "rejected=1: only partial takes rejected="},
		{"-> unavailable max=1s", "max=1s", "max=1s: only hold takes max="},
		{"-> hold max=0s", "max=0s", "max=0s: want a duration above 0"},
		{"-> drop message=x", "message=x", "message=x: drop sends no message of its own; only a refusal, hold or partial carries one"},
		{"-> delay=1s message=x", "message=x", "message=x: delay=1s sends no message of its own; only a refusal, hold or partial carries one"},
		{`-> unavailable message=""`, `message=""`, `message="": empty message; leave it out for the default`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r, err := ParseRule(tt.text)
			if err == nil {
				t.Fatalf("ParseRule(%q) = %v, want an error", tt.text, r)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.Rule != tt.text || pe.Word != tt.word || pe.Msg != tt.msg {
				t.Errorf("ParseRule(%q):\n got rule %q word %q msg %q\nwant word %q msg %q", tt.text, pe.Rule, pe.Word, pe.Msg, tt.word, tt.msg)
			}
			if want := "fault rule " + strconv.Quote(tt.text) + ": " + tt.msg; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err, want)
			}
		})
	}
}

// The brief's example, as a whole message.
func TestParseErrorMessage(t *testing.T) {
	_, err := ParseRule("grpc -> 429")
	if got, want := err.Error(), `fault rule "grpc -> 429": HTTP status 429 on a gRPC-only rule`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Rules built in Go get the same checks as parsed ones, with the rule
// written in canonical form.
func TestValidate(t *testing.T) {
	tests := []struct {
		rule Rule
		msg  string
	}{
		{Rule{}, `fault rule "-> ok": no answer: the rule must say what the sink does (its Answer is the zero Answer, the real success)`},
		{Rule{Transport: "udp", Answer: Drop()}, `fault rule "udp -> drop": udp: unknown transport; want grpc or http`},
		{Rule{Signal: "profiles", Answer: Drop()}, `fault rule "profiles -> drop": profiles: unknown signal; want traces, metrics or logs`},
		{Rule{First: -1, Answer: Drop()}, `fault rule "first=-1 -> drop": first=-1: want a count of 1 or more`},
		{Rule{Every: -2, Answer: Drop()}, `fault rule "every=-2 -> drop": every=-2: want a count of 1 or more`},
		{Rule{From: -time.Second, Answer: Drop()}, `fault rule "window=-1s.. -> drop": window=-1s..0s: the window starts before the sink did; offsets are 0 or more`},
		{Rule{From: 2 * time.Second, Until: time.Second, Answer: Drop()}, `fault rule "window=2s..1s -> drop": window=2s..1s: the window ends at or before its start`},
		{Rule{Prob: 1.5, Answer: Drop()}, `fault rule "prob=1.5 -> drop": prob=1.5: outside [0,1]`},
		{Rule{Prob: -0.5, Answer: Drop()}, `fault rule "prob=-0.5 -> drop": prob=-0.5: outside [0,1]`},
		{Rule{Seed: 3, Answer: Drop()}, `fault rule "seed=3 -> drop": seed=3 without prob=: a seed only fixes the draws of prob=P`},
		{Rule{Answer: GRPC(codes.OK)}, `fault rule "-> ok": ok: the real answer, not a fault`},
		{Rule{Answer: GRPC(99)}, `fault rule "-> code(99)": code(99): unknown gRPC code`},
		{Rule{Answer: HTTP(200)}, `fault rule "-> 200": HTTP status 200 is not an error status; want 400 to 599`},
		{Rule{Transport: TransportGRPC, Answer: HTTP(429)}, `fault rule "grpc -> 429": HTTP status 429 on a gRPC-only rule`},
		{Rule{Transport: TransportHTTP, Answer: GRPC(codes.Unavailable).WithRetry(time.Second)}, `fault rule "http -> unavailable retry=1s": gRPC code unavailable on an HTTP-only rule`},
		{Rule{Answer: GRPC(codes.InvalidArgument).WithRetry(time.Second)}, `fault rule "-> invalid-argument retry=1s": retry=1s on invalid-argument, a permanent refusal: exporters do not retry it`},
		{Rule{Answer: GRPC(codes.Unavailable).WithRetry(-time.Second)}, `fault rule "-> unavailable retry=-1s": retry=-1s: want a duration above 0`},
		{Rule{Answer: GRPC(codes.Unavailable).WithRetryDate(time.Second)}, `fault rule "-> unavailable retry=1s": retry-after-date=1s: an HTTP header; a gRPC answer takes retry=D (RetryInfo)`},
		{Rule{Answer: HTTP(503).WithRetry(1500 * time.Millisecond)}, `fault rule "-> 503 retry-after=1.5s": retry-after=1.5s: Retry-After counts whole seconds`},
		{Rule{Answer: HTTP(503).WithRetryDate(-time.Second)}, `fault rule "-> 503 retry-after-date=-1s": retry-after-date=-1s: want a duration above 0`},
		{Rule{Answer: HTTP(413).WithRetry(time.Second)}, `fault rule "-> 413 retry-after=1s": retry-after=1s on HTTP 413, a permanent refusal: exporters do not retry it`},
		{Rule{Answer: Drop().WithRetry(time.Second)}, `fault rule "-> drop": retry=1s: only a gRPC code takes retry=`},
		{Rule{Answer: Partial(-1, "")}, `fault rule "-> partial rejected=-1": rejected=-1: want a count of 0 or more`},
		{Rule{Answer: Partial(0, "")}, `fault rule "-> partial rejected=0": rejected=0: a partial success that rejects nothing needs a message=TEXT (OTLP's warning form)`},
		{Rule{Answer: Delay(0)}, `fault rule "-> delay=0s": delay=0s: want a duration above 0`},
		{Rule{Answer: Hold(-time.Second)}, `fault rule "-> hold max=-1s": max=-1s: want a duration above 0`},
		{Rule{Answer: Drop().WithMessage("x")}, `fault rule "-> drop message=x": message=x: drop sends no message of its own; only a refusal, hold or partial carries one`},
		{Rule{Answer: Delay(time.Second).WithMessage("a b")}, `fault rule "-> delay=1s message=\"a b\"": message="a b": delay=1s sends no message of its own; only a refusal, hold or partial carries one`},
	}
	for _, tt := range tests {
		err := tt.rule.Validate()
		if err == nil {
			t.Errorf("%#v: Validate() = nil, want %q", tt.rule, tt.msg)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("Validate():\n got %q\nwant %q", err, tt.msg)
		}
		if _, nerr := NewInjector(time.Time{}, Rule{Answer: Drop()}, tt.rule); nerr == nil || nerr.Error() != "rule 2 of 2: "+tt.msg {
			t.Errorf("NewInjector: got %v, want %q", nerr, "rule 2 of 2: "+tt.msg)
		}
	}
}

func TestRulesFlag(t *testing.T) {
	var rules Rules
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&rules, "fault", "inject a fault")
	if err := fs.Parse([]string{"--fault", "grpc first=3 -> unavailable", "--fault", "http every=2 -> 503 retry-after=2s"}); err != nil {
		t.Fatal(err)
	}
	want := Rules{
		{Transport: TransportGRPC, First: 3, Answer: GRPC(codes.Unavailable)},
		{Transport: TransportHTTP, Every: 2, Answer: HTTP(503).WithRetry(2 * time.Second)},
	}
	if len(rules) != len(want) || rules[0] != want[0] || rules[1] != want[1] {
		t.Errorf("rules = %v, want %v", rules, want)
	}
	if got := rules.String(); got != "grpc first=3 -> unavailable; http every=2 -> 503 retry-after=2s" {
		t.Errorf("String() = %q", got)
	}
	err := fs.Parse([]string{"--fault", "grpc -> 429"})
	if err == nil || !strings.Contains(err.Error(), `fault rule "grpc -> 429": HTTP status 429 on a gRPC-only rule`) {
		t.Errorf("bad rule: got %v", err)
	}
	var nilRules *Rules
	if nilRules.String() != "" {
		t.Error("nil Rules should print as empty")
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"127.0.0.1:*", "127.0.0.1:4317", true},
		{"127.0.0.1:*", "127.0.0.2:4317", false},
		{"[::1]:*", "[::1]:51234", true},
		{"[::1]:*", "[::2]:51234", false},
		{"*", "", true},
		{"*", "anything", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*c", "acbc", true},
		{"*-1", "worker-rust-1", true},
		{"*-1", "worker-rust-11", false},
		{"*1", "worker-rust-11", true},
		{"*-1", "worker-rust-12", false},
		{"worker-*-1", "worker-rust-1", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"exactly", "exact", false},
		{"**", "x", true},
		{"a?", "ab", false}, // only '*' is special
		{"a?", "a?", true},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
