package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

// dumpExtras are dump's flags for damaged files and for what trees show.
type dumpExtras struct {
	strict                bool
	times, kind, services bool
}

func (e *dumpExtras) addFlags(fs *flag.FlagSet) {
	fs.BoolVar(&e.strict, "strict", false, "exit 1 when a line of a FILE does not load (the other lines are still shown)")
	fs.BoolVar(&e.times, "times", false, "show each span's start time (and each trace's date)")
	fs.BoolVar(&e.kind, "kind", false, "show each span's kind (server, client, producer, consumer, internal)")
	fs.BoolVar(&e.services, "service", false, "show each span's service.name beside its instance")
}

func (e *dumpExtras) treeOptions(color bool) spantext.TreeOptions {
	return spantext.TreeOptions{Color: color, Times: e.times, Kind: e.kind, Service: e.services}
}

// damage counts the lines of the dumped files that did not load.
type damage struct{ lines int }

// loadReport loads one file into st and reports each line that did not
// load on stderr, by number, with what is wrong with it; the rest load.
// The error is for reading only.
func (c *cli) loadReport(st *spanstore.Store, r io.Reader, name string, d *damage) error {
	rep, err := st.LoadOTLPJSONReport(r, name)
	for i := range rep.Errors {
		fmt.Fprintf(c.stderr, "traceproof dump: %v\n", &rep.Errors[i])
	}
	if n := rep.BadLines - len(rep.Errors); n > 0 {
		fmt.Fprintf(c.stderr, "traceproof dump: %s: and %d more lines that did not load\n", name, n)
	}
	if rep.BadLines > 0 {
		d.lines += rep.BadLines
		rest := "no spans in its other lines"
		if rep.Spans > 0 {
			rest = fmt.Sprintf("the %s of its other lines are shown", english.Plural(rep.Spans, "span"))
		}
		fmt.Fprintf(c.stderr, "traceproof dump: %s: %s did not load; %s (OTLP/JSON files hold one {\"resourceSpans\":[...]} object per line)\n",
			name, english.Plural(rep.BadLines, "line"), rest)
	}
	return err
}
