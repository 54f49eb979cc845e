package assert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

// WriteDump writes the failure's spans into dir as OTLP/JSON (name.otlp.json,
// readable by `traceproof dump` and spanstore.LoadFile), as a text tree
// headed by the report (name.tree.txt), and as a self-contained waterfall
// page (name.html: every trace of the correlation on one timeline, the
// report on top, its spans highlighted), and records the file names in
// DumpFiles, which Error then names. name is sanitized into a file name (a
// test's t.Name() holds slashes); when a test fails more than once, later
// dumps are numbered rather than overwrite the first.
func (f *Failure) WriteDump(dir, name string) error {
	err := f.writeDump(dir, name)
	f.dumpErr = err
	return err
}

func (f *Failure) writeDump(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, sanitize(name))
	var jf *os.File
	var suffix string
	for i := 1; ; i++ {
		if i > 1 {
			suffix = fmt.Sprintf("-%d", i)
		}
		var err error
		jf, err = os.OpenFile(base+suffix+".otlp.json", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i == 1000 {
			return err
		}
	}
	werr := spanstore.WriteOTLPJSON(jf, f.Spans)
	if err := errors.Join(werr, jf.Close()); err != nil {
		return err
	}
	treePath := base + suffix + ".tree.txt"
	var b strings.Builder
	f.render(&b, false)
	b.WriteString("\n")
	b.WriteString(spantext.TreeString(f.Spans, spantext.TreeOptions{Now: f.at}))
	if err := os.WriteFile(treePath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	htmlPath := base + suffix + ".html"
	var rep strings.Builder
	f.render(&rep, false)
	page := waterfall.Page{Title: name, Report: rep.String(), Spans: f.Spans, Highlight: f.highlights(), Generated: f.at}
	if err := waterfall.WriteFile(htmlPath, page); err != nil {
		return err
	}
	f.DumpFiles = []string{jf.Name(), treePath, htmlPath}
	return nil
}

// highlights are the spans the page marks: those the verdict names, those
// that matched, and the near misses, each with why.
func (f *Failure) highlights() []waterfall.SpanRef {
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
	return hl
}

// sanitize keeps letters, digits, '.', '-' and '_', and turns the rest (the
// '/' of subtests, spaces, '#') into '_'.
func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	s := strings.TrimLeft(string(b), ".")
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		s = "traceproof"
	}
	return s
}
