package waterfall_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// liveSink starts a sink with the live view mounted, as traceproof serve
// does, over st.
func liveSink(t *testing.T, st *spanstore.Store, token ...string) *otlpsink.Sink {
	t.Helper()
	var sink atomic.Pointer[otlpsink.Sink]
	stats := func() spanstore.Stats {
		if s := sink.Load(); s != nil {
			return s.Stats()
		}
		return st.Stats()
	}
	var lopts []waterfall.LiveOption
	opts := []otlpsink.Option{otlpsink.WithStore(st)}
	if len(token) > 0 {
		lopts = append(lopts, waterfall.WithToken(token[0]))
		opts = append(opts, otlpsink.WithToken(token[0]))
	}
	h := waterfall.LiveHandler(st, stats, lopts...)
	for _, p := range waterfall.LivePatterns {
		opts = append(opts, otlpsink.WithHandler(p, h))
	}
	s := otlpsink.Start(t, opts...)
	sink.Store(s)
	return s
}

// export sends td to the sink as a real OTLP/HTTP protobuf request, with
// the bearer token if one is given.
func export(t *testing.T, sink *otlpsink.Sink, td ptrace.Traces, token ...string) {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	req, err := http.NewRequest("POST", sink.HTTPURL()+"/v1/traces", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	if len(token) > 0 {
		req.Header.Set("Authorization", "Bearer "+token[0])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestLiveViewInBrowser(t *testing.T) {
	st := spanstore.New()
	sink := liveSink(t, st)
	for _, tr := range failingTask("order-A1") {
		export(t, sink, tr.traces())
	}
	ctx := browser(t)
	do(t, ctx, "open the live view on a task that has not started",
		chromedp.Navigate(sink.HTTPURL()+"/?c=order-L1"),
		chromedp.WaitVisible(chromedp.CSS("#conn.on")),
		chromedp.WaitVisible(chromedp.CSS(`.corr[data-value="order-A1"]`)),
	)
	assert.Zero(t, eval[int](t, ctx, `document.querySelectorAll(".span-row").length`))
	assert.Equal(t, "order-L1", eval[string](t, ctx, `document.getElementById("selected-value").textContent`))
	assert.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll(".corr:not(.all)").length`))
	screenshot(t, ctx, "empty")

	// Spans arrive: the waterfall and the list gain rows, pushed.
	task := failingTask("order-L1")
	export(t, sink, task[0].traces())
	waitFor(t, ctx, "order.validated's two spans", `document.querySelectorAll(".span-row").length === 2`)
	waitFor(t, ctx, "a row for order-L1 in the list", `!!document.querySelector('.corr[data-value="order-L1"]')`)
	assert.Equal(t, "order-L1", eval[string](t, ctx, `document.querySelector(".corr:not(.all)").dataset.value`), "the newest first")
	export(t, sink, task[1].traces())
	waitFor(t, ctx, "payment.processed's three spans", `document.querySelectorAll(".span-row").length === 5`)
	waitFor(t, ctx, "the list row to count them", `document.querySelector('.corr[data-value="order-L1"] .c-spans').textContent === "5 spans"`)
	assert.Equal(t, "2 errors", eval[string](t, ctx, `document.querySelector('.corr[data-value="order-L1"] .c-err').textContent`))
	rows := eval[[]rowInfo](t, ctx, rowsJS)
	legend := eval[map[string]legendEntry](t, ctx, legendJS)
	require.Len(t, legend, 2)
	errs := 0
	for _, r := range rows {
		assert.Equal(t, r.Instance, r.Tag)
		assert.Equal(t, legend[r.Instance].Color, r.Stripe, "row %s in its instance's colour", r.Name)
		if r.Error {
			errs++
		}
	}
	assert.Equal(t, 2, errs)
	assert.Equal(t, 3, legend["worker-rust-2"].Count)

	// A span of another task moves that task up, and adds nothing here.
	export(t, sink, routeTrace("order-A1", "order.shipped", "Fast", "worker-rust-3", 30*time.Millisecond, "").traces())
	waitFor(t, ctx, "order-A1 back on top", `document.querySelector(".corr:not(.all)").dataset.value === "order-A1"`)
	assert.Equal(t, 5, eval[int](t, ctx, `document.querySelectorAll(".span-row").length`))

	// The sink panel: the sender, and a refused request with its reason.
	waitFor(t, ctx, "the sender", `[...document.querySelectorAll("#sink tr.sender")].some(r => r.dataset.sender.startsWith("127.0.0.1:"))`)
	resp, err := http.Post(sink.HTTPURL()+"/v1/traces", "text/plain", strings.NewReader("hello"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	waitFor(t, ctx, "the refusal", `!!document.querySelector('#sink .refused-row[data-reason="content type"]')`)
	assert.Equal(t, "1", eval[string](t, ctx, `document.querySelector('#sink .refused-row[data-reason="content type"] .n').textContent`))
	assert.Contains(t, eval[string](t, ctx, `document.querySelector("#sink .errline").textContent`), "unsupported Content-Type")
	assert.Equal(t, "1 refused", eval[string](t, ctx, `document.getElementById("refused-total").textContent`))

	// Details on click, as on the failure page.
	do(t, ctx, "open send_json_message", chromedp.Click(chromedp.CSS(".span-row.error:last-child .span-name")), chromedp.WaitVisible(chromedp.CSS("#detail.open")))
	assert.Equal(t, "send_json_message", eval[string](t, ctx, `document.querySelector("#detail .detail-name").textContent`))
	assert.Contains(t, eval[string](t, ctx, `document.querySelector("#detail .d-attrs").textContent`), "pgmq")
	screenshot(t, ctx, "live")

	// Another correlation, picked in the list.
	do(t, ctx, "pick order-A1", chromedp.Click(chromedp.CSS(`.corr[data-value="order-A1"]`)))
	waitFor(t, ctx, "order-A1's spans", `document.querySelectorAll(".span-row").length === 11 && document.getElementById("selected-value").textContent === "order-A1"`)
	assert.Equal(t, "?c=order-A1", eval[string](t, ctx, `location.search`))
}

// TestLiveViewWithToken: opened as /?token=T, the page passes the token on
// to its API and its event stream.
func TestLiveViewWithToken(t *testing.T) {
	st := spanstore.New()
	sink := liveSink(t, st, "t0k en")
	ctx := browser(t)
	do(t, ctx, "open the live view with the token",
		chromedp.Navigate(sink.HTTPURL()+"/?token=t0k+en"),
		chromedp.WaitVisible(chromedp.CSS("#conn.on")),
	)
	export(t, sink, failingTask("order-T1")[0].traces(), "t0k en")
	waitFor(t, ctx, "the pushed row", `!!document.querySelector('.corr[data-value="order-T1"]')`)
	do(t, ctx, "pick it", chromedp.Click(chromedp.CSS(`.corr[data-value="order-T1"]`)))
	waitFor(t, ctx, "its spans", `document.querySelectorAll(".span-row").length === 2`)
	assert.Equal(t, "?token=t0k+en&c=order-T1", eval[string](t, ctx, `location.search`), "the token stays in the address")
	screenshot(t, ctx, "token")
}

// TestLiveViewManySpans: with 100,000 spans stored the page stays small: the
// list is paged, the waterfall draws a few hundred rows and offers more.
func TestLiveViewManySpans(t *testing.T) {
	st := spanstore.New()
	const tasks, perTask = 4900, 20
	for i := range tasks {
		st.Ingest(loadTrace(fmt.Sprintf("load-%04d", i), i, perTask), spanstore.Origin{Sender: fmt.Sprintf("10.0.0.%d:4317", i%4)})
	}
	for i := range 20 {
		st.Ingest(loadTrace("big-1", tasks+i, 100), spanstore.Origin{Sender: "10.0.0.9:4317"})
	}
	require.Equal(t, tasks*perTask+2000, st.Len())
	sink := liveSink(t, st)
	ctx := browser(t)
	do(t, ctx, "open the live view", chromedp.Navigate(sink.HTTPURL()+"/"), chromedp.WaitVisible(chromedp.CSS("#list-more")))
	// The stream's first stats fill the sink panel and move what is below
	// it: a click before that lands wherever the button was.
	waitFor(t, ctx, "the stream's first stats", `!!document.querySelector("#conn.on") && !!document.querySelector("#sink .sender")`)
	assert.Equal(t, 50, eval[int](t, ctx, `document.querySelectorAll(".corr:not(.all)").length`), "one page of the list")
	assert.Equal(t, "big-1", eval[string](t, ctx, `document.querySelector(".corr:not(.all)").dataset.value`))
	assert.Equal(t, fmt.Sprintf("Show more (%d)", tasks+1-50), eval[string](t, ctx, `document.getElementById("list-more").textContent`))
	do(t, ctx, "show more", chromedp.Click(chromedp.CSS("#list-more")))
	waitFor(t, ctx, "the second page", `document.querySelectorAll(".corr:not(.all)").length === 100`)

	do(t, ctx, "pick big-1", chromedp.Click(chromedp.CSS(`.corr[data-value="big-1"]`)))
	waitFor(t, ctx, "big-1's first rows", `document.querySelectorAll(".span-row").length === 300`)
	assert.Equal(t, "1,700 more spans not drawn", eval[string](t, ctx, `document.querySelector(".wf-more span").textContent`))
	do(t, ctx, "show more spans", chromedp.Click(chromedp.CSS(".wf-more .show-more")))
	waitFor(t, ctx, "300 more rows", `document.querySelectorAll(".span-row").length === 600`)
	screenshot(t, ctx, "big")

	do(t, ctx, "pick all recent spans", chromedp.Click(chromedp.CSS(`.corr.all`)))
	waitFor(t, ctx, "the latest spans, capped", `document.querySelectorAll(".span-row").length === 300 && !!document.querySelector(".wf-more")`)
	assert.Equal(t, "2,000 shown", eval[string](t, ctx, `document.querySelector("#content-h .facts").textContent`))
}

// loadTrace is a trace of n spans on one of four instances, its root
// carrying corr.
func loadTrace(corr string, i, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tasker-core")
	rs.Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("worker-rust-%d", i%4+1))
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	tid := pcommon.TraceID{byte(i >> 16), byte(i >> 8), byte(i), 1}
	at := fixtureEpoch.Add(time.Duration(i) * time.Millisecond)
	for j := range n {
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{byte(j >> 8), byte(j), 1})
		if j > 0 {
			sp.SetParentSpanID(pcommon.SpanID{0, 0, 1})
		} else {
			sp.Attributes().PutStr("correlation_id", corr)
		}
		sp.SetName(fmt.Sprintf("step-%d", j%7))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(j) * 50 * time.Microsecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(j)*50*time.Microsecond + 400*time.Microsecond)))
	}
	return td
}
