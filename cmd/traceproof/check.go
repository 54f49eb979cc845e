package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/remote"
)

// checkKind is one kind of `traceproof check`: the API check it runs and
// what its positional arguments are.
type checkKind struct {
	api  string // the check's name in the API
	args string // its positional arguments, for usage
	what string
}

var checkKinds = map[string]checkKind{
	"published":     {"published", "EVENT[:MODE]...", "the task of --correlation published exactly these domain events, each once (MODE: fast, durable, broadcast)"},
	"includes":      {"includes", "EVENT[:MODE]...", "the task of --correlation published at least these domain events"},
	"not-published": {"not_published", "EVENT...", "the task of --correlation published none of these events within --window"},
	"exactly":       {"exactly", "QUERY", "QUERY selects exactly --count spans, and no more arrive within --settle"},
	"once-per":      {"once_per", "QUERY", "the spans QUERY selects occur exactly once per value of --key (and each of --values occurs)"},
	"never":         {"never", "QUERY", "QUERY selects no span within --window"},
	"in-order":      {"in_order", "QUERY QUERY...", "the queries' spans started in the order given"},
	"eventually":    {"eventually", "QUERY", "QUERY selects at least --count spans (as traceproof wait, printing nothing)"},
}

var checkOrder = []string{"published", "includes", "not-published", "exactly", "once-per", "never", "in-order", "eventually"}

type checkConfig struct {
	remoteFlags
	correlation string
	count       int
	countSet    bool // --count was given (0 is a count)
	key, values string
	window      time.Duration
	settle      time.Duration
	allowEmpty  bool
}

func newCheckFlags() (*flag.FlagSet, *checkConfig) {
	c := &checkConfig{}
	fs := newFlagSet("check")
	c.register(fs)
	fs.StringVar(&c.correlation, "correlation", "", "published, includes, not-published: the task's correlation `ID`")
	fs.IntVar(&c.count, "count", 0, "exactly, eventually: how many spans `N` (eventually: at least, default 1)")
	fs.StringVar(&c.key, "key", "", "once-per: the attribute `KEY` whose values must occur once each")
	fs.StringVar(&c.values, "values", "", "once-per: comma-separated `VALUES` that must each occur")
	fs.DurationVar(&c.window, "window", 0, "never, not-published: how long to watch, times $TRACEPROOF_TIMEOUT_SCALE (`DURATION`, required)")
	fs.DurationVar(&c.settle, "settle", assert.DefaultSettle, "published, exactly, once-per: how long to watch for extras once complete, times $TRACEPROOF_TIMEOUT_SCALE")
	fs.BoolVar(&c.allowEmpty, "allow-empty", false, "never, not-published, exactly 0, published of nothing: pass over a correlation with no span at all")
	return fs, c
}

func checkUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: traceproof check KIND --server URL [flags] ARGS...

Runs one of traceproof's checks in a running traceproof serve, with the Go
API's meaning and report. QUERY is the text form (see docs/remote.md).

`)
	for _, k := range checkOrder {
		ck := checkKinds[k]
		fmt.Fprintf(&b, "  %-14s %s\n", k, ck.args)
		for _, line := range wrap(ck.what, 60) {
			fmt.Fprintf(&b, "  %-14s   %s\n", "", line)
		}
	}
	b.WriteString(`
  traceproof check published --server http://127.0.0.1:4318 --correlation order-A1 \
    order.validated:fast payment.processed:durable inventory.updated:fast notification.sent:fast
  traceproof check not-published --correlation order-A1 --window 1s payment.failed

Exit status: 0 when the check passes, 1 when it fails (the report, as a Go
assertion prints it, goes to stdout), 2 for a wrong command line, a request
the server rejects, or a server that cannot be reached or refuses the token.

Flags:
`)
	fs, _ := newCheckFlags()
	writeFlags(&b, fs)
	return b.String()
}

func (c *cli) check(ctx context.Context, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return c.parseError("check", flag.ErrHelp, checkUsage())
		}
		return c.parseError("check", errors.New("KIND is required: one of "+strings.Join(checkOrder, ", ")), checkUsage())
	}
	name := strings.ReplaceAll(args[0], "_", "-")
	kind, ok := checkKinds[name]
	if !ok {
		return c.parseError("check", fmt.Errorf("unknown KIND %q: want one of %s", args[0], strings.Join(checkOrder, ", ")), checkUsage())
	}
	fs, cfg := newCheckFlags()
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return c.parseError("check", err, checkUsage())
	}
	fs.Visit(func(f *flag.Flag) { cfg.countSet = cfg.countSet || f.Name == "count" })
	req, wait, err := cfg.request(name, kind, pos)
	if err != nil {
		return c.parseError("check", fmt.Errorf("%s: %w", name, err), checkUsage())
	}
	var ans struct {
		OK     bool   `json:"ok"`
		Report string `json:"report"`
	}
	if code := c.call(ctx, "check", &cfg.remoteFlags, "/api/v1/check", req, wait, &ans); code != exitOK {
		return code
	}
	if !ans.OK {
		fmt.Fprintln(c.stdout, ans.Report)
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "pass: %s\n", describeCheck(name, cfg, pos))
	return exitOK
}

// request builds the API request of a check, and how long the server may
// take to answer it. Durations are scaled here, by the caller's
// TRACEPROOF_TIMEOUT_SCALE: the server takes them as given.
func (cfg *checkConfig) request(name string, kind checkKind, pos []string) (map[string]any, time.Duration, error) {
	if err := cfg.check(); err != nil {
		return nil, 0, err
	}
	timeout, settle, window := assert.Scaled(cfg.timeout), assert.Scaled(cfg.settle), assert.Scaled(cfg.window)
	req := map[string]any{"check": kind.api}
	var err error
	queries := func(n int) {
		switch {
		case n == 1 && len(pos) != 1:
			err = fmt.Errorf("want one QUERY, in quotes; got %d arguments", len(pos))
		case n > 1 && len(pos) < n:
			err = fmt.Errorf("want at least %d QUERY arguments; got %d", n, len(pos))
		}
		for _, q := range pos {
			if err == nil {
				err = checkQuery(q)
			}
		}
	}
	wait := timeout
	switch name {
	case "published", "includes", "not-published":
		if cfg.correlation == "" {
			return nil, 0, errors.New("--correlation is required")
		}
		req["correlation"] = cfg.correlation
		events := []any{}
		for _, p := range pos {
			ev, mode, hasMode := strings.Cut(p, ":")
			if ev == "" || (hasMode && mode == "") {
				return nil, 0, fmt.Errorf("event %q: want NAME or NAME:MODE (fast, durable, broadcast)", p)
			}
			if name == "not-published" {
				if hasMode {
					return nil, 0, fmt.Errorf("event %q: not-published takes names only", p)
				}
				events = append(events, ev)
				continue
			}
			e := map[string]string{"name": ev}
			if hasMode {
				e["delivery"] = mode
			}
			events = append(events, e)
		}
		if len(events) == 0 && name != "published" {
			return nil, 0, errors.New("name at least one EVENT")
		}
		req["events"] = events
	case "exactly", "eventually":
		queries(1)
		switch {
		case name == "exactly" && !cfg.countSet:
			err = errors.New("--count is required")
		case name == "eventually" && !cfg.countSet:
			cfg.count = 1
		}
		req["count"] = cfg.count
		if err == nil {
			req["query"] = pos[0]
		}
	case "once-per":
		queries(1)
		if cfg.key == "" && err == nil {
			err = errors.New("--key is required")
		}
		req["key"] = cfg.key
		if cfg.values != "" {
			req["values"] = splitList(cfg.values)
		}
		if err == nil {
			req["query"] = pos[0]
		}
	case "never":
		queries(1)
		if err == nil {
			req["query"] = pos[0]
		}
	case "in-order":
		queries(2)
		req["queries"] = pos
	}
	if err != nil {
		return nil, 0, err
	}
	takes := map[string]bool{}
	for _, f := range apiFields[kind.api] {
		takes[f] = true
	}
	if takes["timeout"] {
		req["timeout"] = timeout.String()
	}
	if takes["settle"] {
		req["settle"] = settle.String()
		wait += settle
	}
	if takes["window"] {
		if cfg.window <= 0 {
			return nil, 0, errors.New("--window is required: how long to watch, e.g. --window 1s")
		}
		if window > remote.MaxTimeout {
			return nil, 0, fmt.Errorf("--window %s: at most %s", cfg.window, remote.MaxTimeout)
		}
		req["window"] = window.String()
		wait = window
	}
	if cfg.allowEmpty {
		if !takes["allow_empty"] {
			return nil, 0, errors.New("--allow-empty does not apply")
		}
		req["allow_empty"] = true
	}
	// Flags of another kind would be ignored; say so instead.
	for flagName, field := range map[string]string{"correlation": "correlation", "count": "count", "key": "key", "values": "values", "window": "window"} {
		given := false
		switch flagName {
		case "correlation":
			given = cfg.correlation != ""
		case "count":
			given = cfg.countSet
		case "key":
			given = cfg.key != ""
		case "values":
			given = cfg.values != ""
		case "window":
			given = cfg.window != 0
		}
		if given && !takes[field] {
			return nil, 0, fmt.Errorf("--%s does not apply", flagName)
		}
	}
	return req, wait, nil
}

// apiFields are the fields each API check takes besides "check" (as
// remote's handler lists them).
var apiFields = map[string][]string{
	"eventually":    {"query", "count", "timeout"},
	"exactly":       {"query", "count", "timeout", "settle", "allow_empty"},
	"never":         {"query", "window", "allow_empty"},
	"once_per":      {"query", "key", "values", "timeout", "settle"},
	"in_order":      {"queries", "timeout"},
	"published":     {"correlation", "events", "timeout", "settle", "allow_empty"},
	"includes":      {"correlation", "events", "timeout"},
	"not_published": {"correlation", "events", "window", "allow_empty"},
}

// describeCheck says in a line what passed.
func describeCheck(name string, cfg *checkConfig, pos []string) string {
	switch name {
	case "published", "includes", "not-published":
		verb := map[string]string{"published": "published exactly", "includes": "published at least", "not-published": "did not publish"}[name]
		if len(pos) == 0 {
			return fmt.Sprintf("correlation %q published no domain event", cfg.correlation)
		}
		return fmt.Sprintf("correlation %q %s %s", cfg.correlation, verb, strings.Join(pos, ", "))
	case "exactly":
		return fmt.Sprintf("exactly %d spans: %s", cfg.count, pos[0])
	case "eventually":
		return fmt.Sprintf("at least %d spans: %s", cfg.count, pos[0])
	case "once-per":
		return fmt.Sprintf("once per %s: %s", cfg.key, pos[0])
	case "never":
		return fmt.Sprintf("no span within %s: %s", assert.Scaled(cfg.window), pos[0])
	}
	return "in order: " + strings.Join(pos, ", ")
}
