package waterfall_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tpassert "github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/spanstore"
)

// failurePage runs a real domain-event assertion against the fixture (it
// fails: payment.processed's durable publish errored), and builds the page
// the way a failing assertion's dump does: the report, the correlation's
// spans, the near misses and matches highlighted.
func failurePage(t *testing.T) (waterfall.Page, *tpassert.Failure) {
	t.Helper()
	st := loadFixture(failingTask("order-A1"), []fxTrace{routeTrace("order-B7", "payment.failed", "Durable", "worker-rust-2", 40*time.Millisecond, "")})
	checker := tpassert.Check(st, tpassert.WithTimeout(100*time.Millisecond), tpassert.WithSettle(10*time.Millisecond))
	_, err := domainevent.Check(checker).Published(context.Background(), "order-A1",
		domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"), domainevent.Fast("inventory.updated"), domainevent.Fast("notification.sent"))
	var f *tpassert.Failure
	require.True(t, errors.As(err, &f), "the fixture's assertion must fail with a *assert.Failure, got %v", err)
	return pageOf(f, st), f
}

// pageOf builds a failure's page as assert's dump does: the report without
// its text tree, the spans, and highlighted what the verdict names, the
// matches and the near misses.
func pageOf(f *tpassert.Failure, st *spanstore.Store) waterfall.Page {
	var hl []waterfall.SpanRef
	for _, s := range f.Named {
		hl = append(hl, waterfall.Ref(s, "named in the report"))
	}
	for _, s := range f.Matched {
		hl = append(hl, waterfall.Ref(s, "matched the assertion's query"))
	}
	for _, n := range f.NearMisses {
		hl = append(hl, waterfall.Ref(n.Span, "near miss: misses ["+n.Missed+"]; saw "+n.Seen))
	}
	return waterfall.Page{
		Title:          "TestOrderWorkflow/payment_step",
		Report:         reportWithoutTree(f.Error()),
		Spans:          f.Spans,
		Highlight:      hl,
		Correlation:    "order-A1",
		Generated:      fixtureEpoch.Add(2 * time.Second),
		CorrelationsOf: st.TraceCorrelations,
	}
}

// spanOf finds the span named name of the trace of event.
func spanOf(t *testing.T, p waterfall.Page, name, event string) spanstore.Span {
	t.Helper()
	var trace spanstore.TraceID
	for _, s := range p.Spans {
		if s.Attributes.Str("event_name") == event {
			trace = s.TraceID
		}
	}
	for _, s := range p.Spans {
		if s.TraceID == trace && s.Name == name {
			return s
		}
	}
	t.Fatalf("no %s in the trace of %s", name, event)
	return spanstore.Span{}
}

// reportWithoutTree drops the text tree from a failure's message: the page
// draws the spans itself. (The integration renders the report without it.)
func reportWithoutTree(msg string) string {
	var out []string
	inTree := false
	head := regexp.MustCompile(`^\S.*\(\d+ spans? in \d+ traces?\):$`)
	for _, l := range strings.Split(msg, "\n") {
		switch {
		case head.MatchString(l):
			inTree = true
			continue
		case inTree && strings.HasPrefix(l, "  "):
			continue
		}
		inTree = false
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func writePage(t *testing.T, p waterfall.Page) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "failure.html")
	require.NoError(t, waterfall.WriteFile(path, p))
	return path
}

// rowInfo is what the page drew for one span row.
type rowInfo struct {
	Key, Instance, Tag, Name string
	Stripe, Bar, BarImage    string
	Error, Highlight         bool
	HLEvents                 []string
}

const rowsJS = `[...document.querySelectorAll(".span-row")].map(r => ({
	Key: r.dataset.key, Instance: r.dataset.instance,
	Tag: r.querySelector(".inst-tag").textContent,
	Name: r.querySelector(".span-name").textContent,
	Stripe: getComputedStyle(r.querySelector(".stripe")).backgroundColor,
	Bar: getComputedStyle(r.querySelector(".bar")).backgroundColor,
	BarImage: getComputedStyle(r.querySelector(".bar")).backgroundImage,
	Error: r.classList.contains("error"), Highlight: r.classList.contains("highlight"),
	HLEvents: [...r.querySelectorAll(".ev-mark.hl")].map(m => m.dataset.event),
}))`

const legendJS = `Object.fromEntries([...document.querySelectorAll(".legend-item.instance")].map(i =>
	[i.dataset.instance, {color: getComputedStyle(i.querySelector(".swatch")).backgroundColor, count: +i.querySelector(".count").textContent}]))`

type legendEntry struct {
	Color string
	Count int
}

func key(s spanstore.Span) string { return s.TraceID.String() + ":" + s.SpanID.String() }

func TestFailurePageInBrowser(t *testing.T) {
	p, _ := failurePage(t)
	path := writePage(t, p)
	ctx := browser(t)
	do(t, ctx, "load the page", chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS(".span-row")))
	screenshot(t, ctx, "page")

	rows := eval[[]rowInfo](t, ctx, rowsJS)
	require.Len(t, rows, len(p.Spans), "one row per span of the correlation")
	want := map[string]spanstore.Span{}
	for _, s := range p.Spans {
		want[key(s)] = s
	}
	hl := map[string]waterfall.SpanRef{}
	for _, r := range p.Highlight {
		hl[r.TraceID.String()+":"+r.SpanID.String()] = r
	}
	require.Len(t, hl, 1, "the verdict names payment.processed's route_event")
	named := p.Highlight[0]
	assert.Equal(t, "route_event", want[named.TraceID.String()+":"+named.SpanID.String()].Name)
	legend := eval[map[string]legendEntry](t, ctx, legendJS)
	assert.Len(t, legend, 3, "three instances in the legend")
	colors := map[string]string{}
	for inst, e := range legend {
		assert.NotContains(t, colors, e.Color, "instances %s and %s share a colour", inst, colors[e.Color])
		colors[e.Color] = inst
	}
	counts := map[string]int{}
	for _, r := range rows {
		s, ok := want[r.Key]
		require.True(t, ok, "row %s is not a span of the page", r.Key)
		delete(want, r.Key)
		counts[s.Instance()]++
		assert.Equal(t, s.Name, r.Name)
		assert.Equal(t, s.Instance(), r.Instance)
		assert.Equal(t, s.Instance(), r.Tag, "the row's instance label")
		assert.Equal(t, legend[s.Instance()].Color, r.Stripe, "row %s is coloured as its instance in the legend", s.Name)
		isErr := s.Status.Code == spanstore.StatusError
		assert.Equal(t, isErr, r.Error, "row %s error mark", s.Name)
		if isErr {
			assert.Contains(t, r.BarImage, "rgb(220, 38, 38)", "an error's bar is red")
		} else {
			assert.Equal(t, legend[s.Instance()].Color, r.Bar, "bar of %s in its instance's colour", s.Name)
		}
		ref, isHL := hl[r.Key]
		assert.Equal(t, isHL, r.Highlight, "row %s highlight", s.Name)
		if ref.Event != "" {
			assert.Equal(t, []string{ref.Event}, r.HLEvents, "the failing event's mark on %s is highlighted", s.Name)
		} else {
			assert.Empty(t, r.HLEvents)
		}
	}
	assert.Empty(t, want, "spans without a row")
	for inst, e := range legend {
		assert.Equal(t, counts[inst], e.Count, "legend count of %s", inst)
	}
	assert.Equal(t, 4, eval[int](t, ctx, `document.querySelectorAll(".trace-row").length`), "one header per trace")
	assert.Equal(t, 8, eval[int](t, ctx, `document.querySelectorAll(".span-row .ev-mark").length`), "a mark per span event")

	report := eval[string](t, ctx, `document.getElementById("report").textContent`)
	assert.Equal(t, strings.TrimSuffix(p.Report, "\n"), strings.TrimSuffix(report, "\n"), "the report, verbatim")
	assert.Contains(t, eval[string](t, ctx, `document.querySelector("#report .r-bad").textContent`), "✗ payment.processed")

	// A click opens the span's details.
	do(t, ctx, "open the failing publish", chromedp.Click(chromedp.CSS(`.span-row.error[data-key$=":`+spanOf(t, p, "publish_event", "payment.processed").SpanID.String()+`"] .span-name`)),
		chromedp.WaitVisible(chromedp.CSS("#detail.open")))
	screenshot(t, ctx, "detail")
	type detailInfo struct {
		Name, Status    string
		Attrs, Resource map[string]string
		Events          []string
	}
	d := eval[detailInfo](t, ctx, `(() => {
		const el = document.getElementById("detail");
		const kv = sel => Object.fromEntries([...el.querySelectorAll(sel + " table.kv tr")].map(tr => [tr.cells[0] ? tr.querySelector("th").textContent : "", tr.querySelector("td").textContent]));
		return {Name: el.querySelector(".detail-name").textContent,
			Status: el.querySelector(".status-msg").textContent,
			Attrs: kv(".d-attrs"), Resource: kv(".d-resource"),
			Events: [...el.querySelectorAll(".ev-item .ev-n")].map(e => e.textContent)};
	})()`)
	assert.Equal(t, "publish_event", d.Name)
	assert.Equal(t, map[string]string{"event_name": "payment.processed", "namespace": "domain_events_rust", "correlation_id": "order-A1"}, d.Attrs)
	assert.Equal(t, []string{"Publishing domain event"}, d.Events)
	assert.Equal(t, "worker-rust-2", d.Resource["service.instance.id"])
	assert.Equal(t, "tasker-core", d.Resource["service.name"])
	assert.Contains(t, d.Status, "pgmq send failed: connection reset by peer")
	assert.Equal(t, "publish_event", eval[string](t, ctx, `document.querySelector(".span-row.selected .span-name").textContent`))

	// The named span's details say why it is highlighted.
	do(t, ctx, "open the named route_event", chromedp.Click(chromedp.CSS(".span-row.highlight .span-name")))
	waitFor(t, ctx, "the note", `document.querySelector("#detail .note")?.textContent === "named in the report"`)
	assert.Equal(t, "route_event", eval[string](t, ctx, `document.querySelector("#detail .detail-name").textContent`))

	// Another click shows another span; Escape closes the panel.
	do(t, ctx, "open a fast publish", chromedp.Click(chromedp.CSS(".span-row:not(.error) .span-name")))
	waitFor(t, ctx, "the panel to show route_event", `document.querySelector("#detail .detail-name").textContent === "route_event"`)
	do(t, ctx, "press Escape", chromedp.KeyEvent(kb.Escape))
	waitFor(t, ctx, "the panel to close", `!document.getElementById("detail").classList.contains("open")`)
}

// TestReportLinksSelectSpans: span IDs in the report are links to their rows.
func TestReportLinksSelectSpans(t *testing.T) {
	p, _ := failurePage(t)
	var target spanstore.Span
	for _, s := range p.Spans {
		if s.Name == "send_json_message" {
			target = s
		}
	}
	p.Report = "expected something\nnear misses (spans that met every condition but one):\n  send_json_message [worker-rust-2] span " + target.SpanID.String() + " started 09:14:02.006\n  unknown span 0123456789abcdef is not a link\n"
	pub := spanOf(t, p, "publish_event", "payment.processed")
	p.Highlight = []waterfall.SpanRef{waterfall.Ref(target, "near miss"), {TraceID: pub.TraceID, SpanID: pub.SpanID, Event: "Publishing domain event", Note: "its last event"}}
	path := writePage(t, p)
	ctx := browser(t)
	do(t, ctx, "load the page", chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("#report a.idlink")))
	assert.Equal(t, []string{"Publishing domain event"}, eval[[]string](t, ctx, `[...document.querySelectorAll(".ev-mark.hl")].map(m => m.dataset.event)`),
		"the highlighted event's mark, and only it")
	assert.Equal(t, key(pub), eval[string](t, ctx, `document.querySelector(".ev-mark.hl").closest(".span-row").dataset.key`))
	assert.Equal(t, []string{target.SpanID.String()}, eval[[]string](t, ctx, `[...document.querySelectorAll("#report a.idlink")].map(a => a.textContent)`))
	do(t, ctx, "follow the link", chromedp.Click(chromedp.CSS("#report a.idlink")), chromedp.WaitVisible(chromedp.CSS("#detail.open")))
	assert.Equal(t, key(target), eval[string](t, ctx, `document.querySelector(".span-row.selected").dataset.key`))
	assert.Equal(t, "send_json_message", eval[string](t, ctx, `document.querySelector("#detail .detail-name").textContent`))
	screenshot(t, ctx, "linked")
}

// TestPageScriptInjection: a span name, attribute, title or report holding
// markup is shown as text and runs nothing.
func TestPageScriptInjection(t *testing.T) {
	const evil = "</script><script>alert(1)</script>"
	st := spanstore.New()
	st.Ingest(fxTrace{key: "evil", instance: "<img src=x onerror=alert(2)>", spans: []fxSpan{
		{name: evil, dur: time.Millisecond, attrs: kvs{"correlation_id", "evil-1", "payload", evil, "<b>key</b>", "v"},
			events: []fxEvent{{name: evil, offset: time.Microsecond}}},
	}}.traces(), spanstore.Origin{Sender: "test"})
	p := waterfall.Page{Title: evil, Report: "expected " + evil + "\n", Spans: st.Correlated("evil-1"), Correlation: evil,
		Highlight: []waterfall.SpanRef{{TraceID: fxTraceID("evil"), SpanID: fxSpanID("evil", evil), Event: evil, Note: evil}}}
	path := writePage(t, p)
	ctx := browser(t)
	do(t, ctx, "load the page", chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS(".span-row")))
	assert.Equal(t, evil, eval[string](t, ctx, `document.querySelector(".span-row .span-name").textContent`))
	assert.Equal(t, evil+" · traceproof", eval[string](t, ctx, `document.title`))
	assert.Equal(t, 2, eval[int](t, ctx, `document.scripts.length`), "no script element but the data and the page's own")
	assert.Zero(t, eval[int](t, ctx, `document.querySelectorAll("img, [onerror], #app b b").length`), "no markup from the data")
	do(t, ctx, "open the span", chromedp.Click(chromedp.CSS(".span-row .span-name")), chromedp.WaitVisible(chromedp.CSS("#detail.open")))
	assert.Equal(t, evil, eval[string](t, ctx, `document.querySelector("#detail .d-attrs tr:nth-child(2) td").textContent`))
	assert.Equal(t, "<b>key</b>", eval[string](t, ctx, `document.querySelector("#detail .d-attrs tr:nth-child(3) th").textContent`))
	assert.Zero(t, eval[int](t, ctx, `document.querySelectorAll("img, [onerror], #detail b").length`))
	screenshot(t, ctx, "evil")
}

// TestUpdateDocsScreenshot writes docs/img/failure-page.png when
// TRACEPROOF_UPDATE_SCREENSHOTS=1; otherwise it still renders the page and
// saves the screenshot under the screenshot directory.
func TestUpdateDocsScreenshot(t *testing.T) {
	p, _ := failurePage(t)
	path := writePage(t, p)
	ctx := browser(t)
	do(t, ctx, "load the page and open the failing span",
		chromedp.EmulateViewport(1440, 900, chromedp.EmulateScale(2)), // sharp on high-density screens
		chromedp.Navigate("file://"+path),
		chromedp.WaitVisible(chromedp.CSS(".span-row.highlight")),
		chromedp.Click(chromedp.CSS(".span-row.error .span-name")),
		chromedp.WaitVisible(chromedp.CSS("#detail.open")),
	)
	hlKey := eval[string](t, ctx, `document.querySelector(".span-row.selected").dataset.key`)
	shot := screenshot(t, ctx, "docs")
	if os.Getenv("TRACEPROOF_UPDATE_SCREENSHOTS") == "1" {
		png, err := os.ReadFile(shot)
		require.NoError(t, err)
		dst := filepath.Join("..", "..", "docs", "img", "failure-page.png")
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, png, 0o644))
		t.Logf("wrote %s", dst)
	}
	assert.NotEmpty(t, hlKey)
}
