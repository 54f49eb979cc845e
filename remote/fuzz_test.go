package remote_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/traceproof/traceproof/remote"
)

// maxText is the text form's length limit: String may write a query
// longer than the text it was parsed from (spaces, escapes), and a text
// over the limit does not parse.
const maxText = 64 << 10

// FuzzParseQuery: ParseQuery never panics; its errors are *QueryErrors with
// a column inside the text (or just past its end); what it accepts builds,
// runs, prints as text that parses back to the same Query and prints the
// same again, and survives JSON both ways. The seed corpus is
// testdata/fuzz/FuzzParseQuery; the test's own cases are seeds too.
func FuzzParseQuery(f *testing.F) {
	fx := newFixture()
	for _, c := range queryCases(fx) {
		f.Add(c.text)
		f.Add(c.missText)
	}
	f.Fuzz(func(t *testing.T, text string) {
		q, err := remote.ParseQuery(text)
		if err != nil {
			var qe *remote.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("error %v is a %T, not a *QueryError", err, err)
			}
			if n := utf8.RuneCountInString(text); qe.Column < 1 || qe.Column > n+1 || qe.Msg == "" {
				t.Fatalf("error %q: column %d outside 1..%d", qe, qe.Column, n+1)
			}
			return
		}
		aq, err := q.Build()
		if err != nil {
			t.Fatalf("ParseQuery accepted what Build rejects: %v", err)
		}
		aq.Find(fx.store)
		roundTrip(t, q)
	})
}

// FuzzQueryJSON: decoding JSON never panics; its errors are JSON syntax
// errors or *QueryErrors; what decodes encodes back to itself; what builds
// runs, and prints as text that parses back to the same Query.
func FuzzQueryJSON(f *testing.F) {
	fx := newFixture()
	for _, c := range queryCases(fx) {
		f.Add([]byte(c.json))
		f.Add([]byte(c.miss))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var q remote.Query
		if err := json.Unmarshal(data, &q); err != nil {
			var qe *remote.QueryError
			var se *json.SyntaxError
			if !errors.As(err, &se) && (!errors.As(err, &qe) || qe.Msg == "") {
				t.Fatalf("error %v is a %T, neither a *json.SyntaxError nor a *QueryError", err, err)
			}
			return
		}
		b, err := json.Marshal(q)
		if err != nil {
			t.Fatalf("Marshal of a decoded query: %v", err)
		}
		var back remote.Query
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, q) {
			t.Fatalf("JSON round trip:\n%s\n-> %#v, %v\nwant %#v", b, back, err, q)
		}
		aq, err := q.Build()
		if err != nil {
			var qe *remote.QueryError
			if !errors.As(err, &qe) || qe.Column != 0 || qe.Msg == "" {
				t.Fatalf("Build error %v (%T): want a *QueryError without a column", err, err)
			}
			return
		}
		aq.Find(fx.store)
		roundTrip(t, q)
	})
}

// roundTrip checks a valid query through String and ParseQuery, and
// through JSON.
func roundTrip(t *testing.T, q remote.Query) {
	t.Helper()
	s := q.String()
	if len(s) <= maxText {
		again, err := remote.ParseQuery(s)
		if err != nil {
			t.Fatalf("ParseQuery(String()) of %#v:\n%s\n-> %v", q, s, err)
		}
		if !reflect.DeepEqual(again, q) {
			t.Fatalf("ParseQuery(String()):\n%s\n-> %#v\nwant %#v", s, again, q)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String() is not stable:\n%s\n%s", s, s2)
		}
	}
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back remote.Query
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, q) {
		t.Fatalf("JSON round trip:\n%s\n-> %#v, %v\nwant %#v", b, back, err, q)
	}
}
