package fault

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseRule: ParseRule never panics; what it rejects it rejects with a
// ParseError that quotes the rule; what it accepts is valid, and its String
// reads back as the same rule, which writes the same text. Deciding and
// answering with the rule does not panic either. The seed corpus is in
// testdata/fuzz/FuzzParseRule.
func FuzzParseRule(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseRule(text)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Rule != text || pe.Msg == "" {
				t.Fatalf("ParseRule(%q): error %#v", text, err)
			}
			if !strings.HasPrefix(err.Error(), "fault rule "+strconv.Quote(text)+": ") {
				t.Fatalf("ParseRule(%q): message %q does not quote the rule", text, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRule(%q) = %#v, which Validate rejects: %v", text, r, err)
		}
		s := r.String()
		again, err := ParseRule(s)
		if err != nil {
			t.Fatalf("ParseRule(%q) = %#v, whose String %q does not parse: %v", text, r, s, err)
		}
		if again != r {
			t.Fatalf("ParseRule(%q) = %#v, but ParseRule(%q) = %#v", text, r, s, again)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String is not canonical: %q, then %q", s, s2)
		}

		in, err := NewInjector(t0, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range []Transport{TransportGRPC, TransportHTTP} {
			req := Request{Time: t0, Transport: tr, Signal: Traces, Sender: "127.0.0.1:1", Instances: []string{"i"}, Correlations: []string{"c"}}
			a, ok := in.Decide(req)
			if !ok || a.Kind() == KindDrop {
				continue
			}
			_ = a.GRPCError()
			a.WriteHTTP(httptest.NewRecorder(), "application/x-protobuf")
			_, _ = a.PartialSuccess(3)
		}
	})
}
