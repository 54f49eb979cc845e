package assert_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/spanstore"
)

func TestNotDescribesItself(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		m    assert.Matcher
		want string
	}{
		{assert.Not("Fast"), `!= "Fast"`},
		{assert.Not(3), `!= 3`},
		{assert.Not(assert.Matches(`^order\.`)), `not matching /^order\./`},
		{assert.Not(assert.Contains("x")), `not containing "x"`},
		{assert.Not(assert.GreaterThan(2)), `not > 2`},
		{assert.Not(assert.Not("a")), `not != "a"`},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
	q := S().AttrIn(assert.InSpan, "delivery_mode", assert.Not("Fast")).WithoutAttrIn(assert.InSpan, "correlation_id").WithoutAttr("x")
	if got, want := q.String(), `spans with span attribute delivery_mode != "Fast" without span attribute correlation_id without attribute x`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestNotAndWithoutAttrSelect(t *testing.T) {
	t.Parallel()
	st := spanstore.New()
	asserttest.Ingest(st, "w-1", asserttest.Span{Name: "a", Attrs: []any{"mode", "Fast", "n", 3},
		Events: []asserttest.Event{{Name: "e", Attrs: []any{"mode", "Durable"}}}})
	asserttest.Ingest(st, "w-2", asserttest.Span{Name: "b", Attrs: []any{"mode", "Durable", "n", "3"}})
	asserttest.Ingest(st, "w-3", asserttest.Span{Name: "c"})

	wantFind(t, st, S().AttrIn(assert.InSpan, "mode", assert.Not("Fast")), "b@w-2")
	// A span without the key has no value to differ: c is not selected.
	wantFind(t, st, S().Attr("n", assert.Not(3)), "b@w-2") // "3" is a string, not 3
	wantFind(t, st, S().Attr("n", assert.Not(3.0)), "b@w-2")
	// With InAny, any value that differs will do: a's event says Durable.
	wantFind(t, st, S().Attr("mode", assert.Not("Fast")), "a@w-1", "b@w-2")
	wantFind(t, st, S().Attr("mode", assert.Not(assert.Matches("^(Fast|Durable)$"))))
	wantFind(t, st, S().Attr("mode", assert.Not(assert.Contains("ura"))), "a@w-1")
	wantFind(t, st, S().Attr("n", assert.Not(assert.AtLeast(3))), "b@w-2") // a string is never >= 3
	wantFind(t, st, S().Attr("mode", assert.Not(assert.Exists())))

	wantFind(t, st, S().WithoutAttr("mode"), "c@w-3")
	wantFind(t, st, S().WithoutAttrIn(assert.InEvents, "mode"), "b@w-2", "c@w-3")
	wantFind(t, st, S().WithoutAttrIn(assert.InSpan, "mode"), "c@w-3")
	wantFind(t, st, S().WithoutAttrIn(assert.InResource, "service.instance.id"))
	wantFind(t, st, S().WithoutAttrIn(assert.InResource, "mode"), "a@w-1", "b@w-2", "c@w-3")
}

func TestWithoutAttrNearMissShowsTheValues(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := spanstore.New()
		asserttest.Ingest(st, "w-1", asserttest.Span{Name: "publish", Attrs: []any{"correlation_id", "c-1"}})
		_, err := assert.Check(st, assert.WithTimeout(time.Second)).Eventually(context.Background(),
			S().Named("publish").WithoutAttrIn(assert.InSpan, "correlation_id"), 1)
		if err == nil {
			t.Fatal("Eventually passed on a span that has the attribute")
		}
		for _, want := range []string{
			`expected at least 1 span named "publish" without span attribute correlation_id within 1s`,
			`missed [without span attribute correlation_id]; saw correlation_id = "c-1"`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("report lacks %q:\n%s", want, err)
			}
		}
	})
}
