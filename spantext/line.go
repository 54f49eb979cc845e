package spantext

import (
	"strconv"
	"unicode/utf8"

	"github.com/traceproof/traceproof/spanstore"
)

// Lines formats spans one per line, as `traceproof serve` prints them on
// arrival:
//
//	09:26:53.589  worker-rust-1  tasker-core  publish_event      1.5ms  corr-1
//
// Its columns (instance, service, name) widen as wider values arrive, up to
// a cap, so that a stream stays aligned without knowing its values in
// advance. A Lines is not safe for concurrent use.
type Lines struct {
	// Color adds ANSI colours (for terminals only).
	Color  bool
	widths [3]int
}

const (
	maxColumnWidth = 40
	durationWidth  = 9
)

// NewLines returns a line formatter with narrow starting columns.
func NewLines(color bool) *Lines { return &Lines{Color: color, widths: [3]int{13, 11, 17}} }

// Append appends s's line, ending in a newline, to b. corr is the
// correlation value to show ("-" when empty).
func (l *Lines) Append(b []byte, s *spanstore.Span, corr string) []byte {
	cols := [3]string{s.Instance(), s.Service(), s.Name}
	for i, v := range cols {
		if v == "" {
			v, cols[i] = "-", "-"
		}
		if n := utf8.RuneCountInString(v); n > l.widths[i] {
			l.widths[i] = min(n, maxColumnWidth)
		}
	}
	if corr == "" {
		corr = "-"
	}
	p := palette(l.Color)
	b = p.on(b, ansiDim)
	b = s.Start.Local().AppendFormat(b, "15:04:05.000")
	b = p.off(b)
	b = append(b, "  "...)
	b = p.on(b, ansiCyan)
	b = appendPadded(b, cols[0], l.widths[0])
	b = p.off(b)
	b = append(b, "  "...)
	b = appendPadded(b, cols[1], l.widths[1])
	b = append(b, "  "...)
	b = p.on(b, ansiBold)
	b = appendPadded(b, cols[2], l.widths[2])
	b = p.off(b)
	b = append(b, "  "...)
	d := FormatDuration(s.Duration())
	for range durationWidth - utf8.RuneCountInString(d) {
		b = append(b, ' ')
	}
	b = append(b, d...)
	b = append(b, "  "...)
	b = append(b, corr...)
	if s.Status.Code == spanstore.StatusError {
		b = append(b, "  "...)
		b = p.on(b, ansiRed)
		b = append(b, "ERROR"...)
		if s.Status.Message != "" {
			b = append(b, ' ')
			b = strconv.AppendQuote(b, s.Status.Message)
		}
		b = p.off(b)
	}
	return append(b, '\n')
}

// appendPadded appends s left-aligned in width runes; a longer s is cut
// with "…".
func appendPadded(b []byte, s string, width int) []byte {
	n := utf8.RuneCountInString(s)
	if n > width {
		for _, r := range []rune(s)[:width-1] {
			b = utf8.AppendRune(b, r)
		}
		return append(b, "…"...)
	}
	b = append(b, s...)
	for range width - n {
		b = append(b, ' ')
	}
	return b
}
