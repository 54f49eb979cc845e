package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/internal/waterfall"
	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

type dumpConfig struct {
	correlation     string
	traceID         string
	format          string
	correlationKeys string
	dumpExtras
}

func newDumpFlags() (*flag.FlagSet, *dumpConfig) {
	c := &dumpConfig{}
	fs := newFlagSet("dump")
	fs.StringVar(&c.correlation, "correlation", "", "only the traces holding a span correlated with `VALUE` (a correlation ID, a task UUID)")
	fs.StringVar(&c.traceID, "trace", "", "only the trace with this `ID` (32 hex digits)")
	fs.StringVar(&c.format, "format", "tree", "output `FORMAT`: tree, json (OTLP/JSON lines, one per trace, which dump reads back), or html (one self-contained page: every trace on one timeline, coloured by instance)")
	fs.StringVar(&c.correlationKeys, "correlation-keys", strings.Join(spanstore.DefaultCorrelationKeys(), ","), "comma-separated attribute `KEYS` whose value correlates a span with a task")
	c.dumpExtras.addFlags(fs)
	return fs, c
}

func dumpUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: traceproof dump FILE... [flags]

Reads OTLP/JSON lines (one export request per line, {"resourceSpans":[...]}),
as written by "traceproof serve --out", by a failing test into
TRACEPROOF_DUMP_DIR, or by the OpenTelemetry Collector's file exporter, and
renders the selected spans as one tree per trace. FILE "-" reads stdin.
Lines holding metrics or logs are skipped. A line that does not load is
reported on stderr by number, saying what is wrong with it, and the other
lines are still shown; --strict makes that exit 1. With --format html it
writes one page that opens from disk: "traceproof dump F --format html >
task.html".

Flags:
`)
	fs, _ := newDumpFlags()
	writeFlags(&b, fs)
	return b.String()
}

func (c *cli) dump(args []string) int {
	fs, cfg := newDumpFlags()
	files, err := parseArgs(fs, args)
	if err != nil {
		return c.parseError("dump", err, dumpUsage())
	}
	if len(files) == 0 {
		return c.parseError("dump", fmt.Errorf("no FILE given (use - for stdin)"), dumpUsage())
	}
	var filter spanstore.Filter
	filter.Correlation = cfg.correlation
	if cfg.traceID != "" {
		id, err := spanstore.ParseTraceID(strings.ToLower(strings.TrimSpace(cfg.traceID)))
		if err != nil {
			return c.parseError("dump", fmt.Errorf("--trace %q: %v", cfg.traceID, err), dumpUsage())
		}
		filter.TraceID = id
	}
	if cfg.format != "tree" && cfg.format != "json" && cfg.format != "html" {
		return c.parseError("dump", fmt.Errorf("--format %q: want tree, json or html", cfg.format), dumpUsage())
	}
	keys := splitList(cfg.correlationKeys)
	if len(keys) == 0 {
		return c.parseError("dump", fmt.Errorf("--correlation-keys: want at least one key"), dumpUsage())
	}

	st := spanstore.New(spanstore.WithCorrelationKeys(keys...))
	var dmg damage
	for _, name := range files {
		if err := c.load(st, name, &dmg); err != nil {
			fmt.Fprintf(c.stderr, "traceproof dump: %v\n", err)
			return exitError
		}
	}

	spans := st.Spans(filter)
	if len(spans) == 0 {
		fmt.Fprintf(c.stderr, "traceproof dump: %s\n", noSpansNote(st, filter, keys, files))
	}
	w := bufio.NewWriterSize(c.stdout, 64<<10)
	switch cfg.format {
	case "tree":
		err = spantext.WriteTree(w, spans, cfg.treeOptions(useColor(c.stdout)))
	case "json":
		for _, tr := range spansByTrace(spans) {
			if err = spanstore.WriteOTLPJSON(w, tr.spans); err != nil {
				break
			}
		}
	case "html":
		err = waterfall.WritePage(w, waterfall.Page{
			Title:          dumpTitle(files, filter),
			Spans:          spans,
			Correlation:    cfg.correlation,
			CorrelationsOf: st.TraceCorrelations,
		})
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "traceproof dump: writing output: %v\n", err)
		return exitError
	}
	if dmg.lines > 0 && cfg.strict {
		return exitError
	}
	return exitOK
}

// dumpTitle names an HTML dump's page: its files, and the selection.
func dumpTitle(files []string, f spanstore.Filter) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
		if f == "-" {
			names[i] = "stdin"
		}
	}
	title := strings.Join(names, ", ")
	if !f.TraceID.IsZero() {
		title += " · trace " + f.TraceID.String()
	}
	return title
}

// load reads one file (or stdin for "-") into st. Errors name the file; a
// line that does not decode is reported by number and counted in d.
func (c *cli) load(st *spanstore.Store, name string, d *damage) error {
	if name == "-" {
		return c.loadReport(st, c.stdin, "<stdin>", d)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory; name the dump files in it (e.g. %s)", name, filepath.Join(name, "*.otlp.json"))
	}
	return c.loadReport(st, f, name, d)
}

// noSpansNote explains an empty selection: what the files do hold, and which
// correlation values they carry, so a typo or the wrong file shows at once.
func noSpansNote(st *spanstore.Store, f spanstore.Filter, keys, files []string) string {
	all := st.Spans(spanstore.Filter{})
	what := strings.Join(files, ", ")
	if len(all) == 0 {
		return fmt.Sprintf("no spans in %s", what)
	}
	traces := map[spanstore.TraceID]bool{}
	var values []string
	seen := map[string]bool{}
	for i := range all {
		traces[all[i].TraceID] = true
		if v := correlationOf(&all[i], keys); v != "" && !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	}
	note := fmt.Sprintf("no spans match %s; %s holds %s in %s", f, what, english.Plural(len(all), "span"), english.Plural(len(traces), "trace"))
	if len(values) > 0 {
		const shown = 8
		slices.Sort(values)
		more := ""
		if len(values) > shown {
			more = fmt.Sprintf(" and %d more", len(values)-shown)
			values = values[:shown]
		}
		note += fmt.Sprintf(", correlated with %s%s", strings.Join(values, ", "), more)
	}
	return note
}
