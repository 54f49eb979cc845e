package waterfall_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/spanstore"
)

var dataRE = regexp.MustCompile(`(?s)<script type="application/json" id="tp-data">(.*?)</script>`)

type embedded struct {
	Title       string `json:"title"`
	Report      string `json:"report"`
	Correlation string `json:"correlation"`
	Highlight   []struct {
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
		Event   string `json:"event"`
		Note    string `json:"note"`
	} `json:"highlight"`
	Spans []json.RawMessage `json:"spans"`
}

func pageData(t *testing.T, html []byte) embedded {
	t.Helper()
	m := dataRE.FindAllSubmatch(html, -1)
	require.Len(t, m, 1, "one data element")
	var d embedded
	require.NoError(t, json.Unmarshal(m[0][1], &d))
	return d
}

func TestWritePageEmbedsTheSpans(t *testing.T) {
	p, _ := failurePage(t)
	var b bytes.Buffer
	require.NoError(t, waterfall.WritePage(&b, p))
	html := b.Bytes()
	d := pageData(t, html)
	assert.Equal(t, p.Title, d.Title)
	assert.Equal(t, p.Report, d.Report)
	assert.Equal(t, "order-A1", d.Correlation)
	require.Len(t, d.Spans, len(p.Spans))
	for i, raw := range d.Spans {
		s, corrs, err := spanstore.DecodeSpanJSON(raw)
		require.NoError(t, err)
		assert.Equal(t, p.Spans[i].SpanID, s.SpanID)
		assert.Equal(t, p.Spans[i].Name, s.Name)
		assert.ElementsMatch(t, []string{"order-A1", "task-order-A1"}, corrs, "the trace's correlations, from CorrelationsOf")
	}
	require.Len(t, d.Highlight, len(p.Highlight))
	assert.Equal(t, p.Highlight[0].SpanID.String(), d.Highlight[0].SpanID)
	assert.Equal(t, "named in the report", d.Highlight[0].Note)

	// Self-contained: nothing to fetch, and the policy forbids fetching.
	assert.Contains(t, string(html), `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"`)
	for _, re := range []string{`<script[^>]+src=`, `<link[^>]+href=`, `@import`, `url\(http`} {
		assert.NotRegexp(t, re, string(html))
	}
	assert.Equal(t, 2, strings.Count(string(html), "<script"), "the data and the page's script")
}

func TestWritePageEscapesData(t *testing.T) {
	const evil = "</script><script>alert(1)</script>"
	s := spanstore.Span{TraceID: spanstore.TraceID{1}, SpanID: spanstore.SpanID{2}, Name: evil,
		Attributes: spanstore.Attributes{{Key: "x", Value: spanstore.StringValue("<!-- " + evil)}}}
	var b bytes.Buffer
	require.NoError(t, waterfall.WritePage(&b, waterfall.Page{Title: evil, Report: evil, Correlation: evil, Spans: []spanstore.Span{s},
		Highlight: []waterfall.SpanRef{{TraceID: s.TraceID, SpanID: s.SpanID, Note: evil, Event: evil}}}))
	html := b.String()
	assert.NotContains(t, html, "<script>alert")
	assert.NotContains(t, html, "<!-- ")
	assert.Contains(t, html, "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; · traceproof</title>")
	d := pageData(t, b.Bytes())
	assert.Equal(t, evil, d.Title)
	assert.Equal(t, evil, d.Report)
	back, _, err := spanstore.DecodeSpanJSON(d.Spans[0])
	require.NoError(t, err)
	assert.Equal(t, evil, back.Name)
	assert.Equal(t, "<!-- "+evil, back.Attributes.Str("x"))
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.html")
	require.NoError(t, waterfall.WriteFile(path, waterfall.Page{}))
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	d := pageData(t, html)
	assert.Empty(t, d.Spans)
	assert.Contains(t, string(html), "<title>traceproof</title>")
	assert.Error(t, waterfall.WriteFile(filepath.Join(t.TempDir(), "missing", "dir", "x.html"), waterfall.Page{}))
}
