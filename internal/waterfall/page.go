package waterfall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// Page is what [WritePage] draws.
type Page struct {
	// Title heads the page and names the browser tab: the test's name, or
	// the dump file's.
	Title string
	// Report is the failure's text report (what was asked, what was found,
	// the checklist, near misses), shown above the waterfall as it is. Span
	// and trace IDs in it become links to their rows. Empty for a plain dump.
	Report string
	// Spans are drawn: every trace of the correlation, on one timeline.
	Spans []spanstore.Span
	// Highlight marks the spans the report names (matches, near misses, the
	// failing span), and optionally one of their events.
	Highlight []SpanRef
	// Correlation is the correlation value the page is about, if any.
	Correlation string
	// Generated is when the page was made (default: now).
	Generated time.Time
	// CorrelationsOf returns the correlation values of a trace, shown in a
	// span's details; nil leaves them out. [spanstore.Store.TraceCorrelations]
	// fits.
	CorrelationsOf func(spanstore.TraceID) []string
}

// SpanRef names a span to highlight.
type SpanRef struct {
	TraceID spanstore.TraceID
	SpanID  spanstore.SpanID
	// Event, when set, highlights the span's event of that name too.
	Event string
	// Note says why the span is highlighted ("near miss: misses
	// [event_name = payment.processed]; saw payment.failed"), shown in its
	// details and tooltip.
	Note string
}

// Ref is the SpanRef of s with a note.
func Ref(s spanstore.Span, note string) SpanRef {
	return SpanRef{TraceID: s.TraceID, SpanID: s.SpanID, Note: note}
}

// pageData is the JSON embedded in the page; the script draws from it.
type pageData struct {
	Title       string            `json:"title"`
	Report      string            `json:"report,omitempty"`
	Correlation string            `json:"correlation,omitempty"`
	Generated   string            `json:"generated"`
	Highlight   []highlightJSON   `json:"highlight,omitempty"`
	Spans       []json.RawMessage `json:"spans"`
}

type highlightJSON struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
	Event   string `json:"event,omitempty"`
	Note    string `json:"note,omitempty"`
}

// WritePage writes p as one HTML file: styles, script and data inline, so it
// opens from disk and needs no network. Span data sits in a
// <script type="application/json"> element, JSON-escaped so that no span
// name or attribute can close it.
func WritePage(w io.Writer, p Page) error {
	if p.Generated.IsZero() {
		p.Generated = time.Now()
	}
	d := pageData{
		Title:       p.Title,
		Report:      p.Report,
		Correlation: p.Correlation,
		Generated:   p.Generated.UTC().Format(time.RFC3339Nano),
		Spans:       make([]json.RawMessage, 0, len(p.Spans)),
	}
	for _, h := range p.Highlight {
		d.Highlight = append(d.Highlight, highlightJSON{TraceID: h.TraceID.String(), SpanID: h.SpanID.String(), Event: h.Event, Note: h.Note})
	}
	corrs := map[spanstore.TraceID][]string{}
	for _, s := range p.Spans {
		var c []string
		if p.CorrelationsOf != nil {
			var ok bool
			if c, ok = corrs[s.TraceID]; !ok {
				c = p.CorrelationsOf(s.TraceID)
				corrs[s.TraceID] = c
			}
		}
		d.Spans = append(d.Spans, spanstore.AppendJSON(nil, s, c))
	}
	data, err := json.Marshal(d) // HTML-safe: '<', '>', '&', U+2028/9 escaped
	if err != nil {
		return fmt.Errorf("waterfall: encoding page data: %w", err)
	}
	var b bytes.Buffer
	err = pageTemplate.Execute(&b, pageView{
		Title:  p.Title,
		Style:  template.CSS(assetStyle),
		Script: template.JS(assetWaterfallJS + "\n" + assetPageJS),
		Data:   template.JS(data),
	})
	if err != nil {
		return fmt.Errorf("waterfall: rendering page: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// WriteFile writes p's page to path (mode 0644).
func WriteFile(path string, p Page) error {
	var b bytes.Buffer
	if err := WritePage(&b, p); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

type pageView struct {
	Title  string
	Style  template.CSS
	Script template.JS
	Data   template.JS
}
