package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

// Exit codes of wait and check, for scripts: a failed check is 1, and
// everything that is not a verdict (a wrong command line, a server that
// cannot be reached or refuses the token, a query it rejects) is 2.
const (
	exitFailed  = 1
	exitNoCheck = 2
)

// Environment variables wait and check read for their flags' defaults, so
// that a script does not repeat them, nor put the token on a command line.
const (
	envServer = "TRACEPROOF_SERVER"
	envToken  = "TRACEPROOF_TOKEN"
)

// remoteFlags are the flags every remote command takes.
type remoteFlags struct {
	server, token string
	timeout       time.Duration
}

func (r *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.server, "server", os.Getenv(envServer), "the HTTP `URL` of traceproof serve (default $"+envServer+")")
	fs.StringVar(&r.token, "token", "", "the bearer token traceproof serve was started with (default $"+envToken+")")
	fs.DurationVar(&r.timeout, "timeout", assert.DefaultTimeout, "how long to wait for the spans, times $TRACEPROOF_TIMEOUT_SCALE")
}

// check validates the flags; token falls back to the environment here, so
// that usage does not print it.
func (r *remoteFlags) check() error {
	if r.server == "" {
		return fmt.Errorf("--server is required (or set %s): the HTTP address of traceproof serve, e.g. http://127.0.0.1:4318", envServer)
	}
	if r.token == "" {
		r.token = os.Getenv(envToken)
	}
	if r.timeout <= 0 || r.timeout > remote.MaxTimeout {
		return fmt.Errorf("--timeout %s: want a duration above 0 and at most %s", r.timeout, remote.MaxTimeout)
	}
	return nil
}

type waitConfig struct {
	remoteFlags
	count, limit int
	format       string
}

func newWaitFlags() (*flag.FlagSet, *waitConfig) {
	c := &waitConfig{}
	fs := newFlagSet("wait")
	c.register(fs)
	fs.IntVar(&c.count, "count", 1, "wait for at least `N` matching spans")
	fs.IntVar(&c.limit, "limit", 1000, "print at most `N` of the matching spans")
	fs.StringVar(&c.format, "format", "lines", "how to print the spans: lines, tree, or json (one span per line, the API's JSON form)")
	return fs, c
}

func waitUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: traceproof wait --server URL [flags] QUERY

Waits until QUERY (the text form, see docs/remote.md) selects at least
--count spans in a running traceproof serve, and prints them. Woken by the
server as spans arrive; it never polls.

  traceproof wait --server http://127.0.0.1:4318 \
    '{ name = "publish_event" && correlation = "order-A1" && span.event_name = "payment.processed" }'

Exit status: 0 when the spans arrived, 1 when they did not within --timeout
(the report, as a Go assertion prints it, goes to stdout), 2 for a wrong
command line, a query the server rejects, or a server that cannot be reached
or refuses the token.

Flags:
`)
	fs, _ := newWaitFlags()
	writeFlags(&b, fs)
	return b.String()
}

func (c *cli) wait(ctx context.Context, args []string) int {
	fs, cfg := newWaitFlags()
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c.parseError("wait", err, waitUsage())
	}
	if err == nil {
		err = cfg.check()
	}
	if err == nil {
		switch {
		case len(pos) == 0:
			err = errors.New("QUERY is required, e.g. '{ name = \"publish_event\" && correlation = \"order-A1\" }'")
		case len(pos) > 1:
			err = fmt.Errorf("one QUERY, in quotes; got %d arguments", len(pos))
		case cfg.count < 1 || cfg.count > 10_000:
			err = fmt.Errorf("--count %d: want 1 to 10000", cfg.count)
		case cfg.limit < 1 || cfg.limit > 10_000:
			err = fmt.Errorf("--limit %d: want 1 to 10000", cfg.limit)
		case cfg.format != "lines" && cfg.format != "tree" && cfg.format != "json":
			err = fmt.Errorf("--format %q: want lines, tree or json", cfg.format)
		}
	}
	if err == nil {
		err = checkQuery(pos[0])
	}
	if err != nil {
		return c.parseError("wait", err, waitUsage())
	}
	timeout := assert.Scaled(cfg.timeout)
	req := map[string]any{"query": pos[0], "count": cfg.count, "timeout": timeout.String(), "limit": cfg.limit}
	var ans struct {
		OK     bool              `json:"ok"`
		Found  int               `json:"found"`
		Spans  []json.RawMessage `json:"spans"`
		Report string            `json:"report"`
	}
	if code := c.call(ctx, "wait", &cfg.remoteFlags, "/api/v1/wait", req, timeout, &ans); code != exitOK {
		return code
	}
	if !ans.OK {
		fmt.Fprintln(c.stdout, ans.Report)
		return exitFailed
	}
	if err := c.printSpans(ans.Spans, cfg.format); err != nil {
		fmt.Fprintf(c.stderr, "traceproof wait: %v\n", err)
		return exitNoCheck
	}
	if ans.Found > len(ans.Spans) {
		fmt.Fprintf(c.stderr, "traceproof wait: %d spans matched; printed the first %d (--limit)\n", ans.Found, len(ans.Spans))
	}
	return exitOK
}

// checkQuery parses a text query here, so a typo is reported with its
// column before anything is sent.
func checkQuery(text string) error {
	if _, err := remote.ParseQuery(text); err != nil {
		return queryError(text, err)
	}
	return nil
}

// queryError shows where in the text a query error is, under the text.
func queryError(text string, err error) error {
	var qe *remote.QueryError
	if !errors.As(err, &qe) || qe.Column == 0 || strings.Contains(text, "\n") {
		return fmt.Errorf("QUERY: %w", err)
	}
	runes := []rune(text)
	col := min(qe.Column, len(runes)+1)
	pad := strings.Repeat(" ", utf8.RuneCountInString(string(runes[:col-1])))
	return fmt.Errorf("QUERY: %w\n  %s\n  %s^", err, text, pad)
}

// call posts body to path and decodes a 200 answer into out. It reports
// what is not a verdict (no server, a refused token, a rejected request) on
// stderr and returns exitNoCheck then. wait is how long the server may
// take before answering.
func (c *cli) call(ctx context.Context, cmd string, r *remoteFlags, path string, body any, wait time.Duration, out any) int {
	base, err := serverBase(r.server)
	if err != nil {
		fmt.Fprintf(c.stderr, "traceproof %s: %v\n", cmd, err)
		return exitNoCheck
	}
	b, err := json.Marshal(body)
	if err != nil {
		fmt.Fprintf(c.stderr, "traceproof %s: %v\n", cmd, err)
		return exitNoCheck
	}
	// The server answers by the deadline it was given; this only guards
	// against one that never does.
	ctx, cancel := context.WithTimeout(ctx, wait+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		fmt.Fprintf(c.stderr, "traceproof %s: %v\n", cmd, err)
		return exitNoCheck
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(c.stderr, "traceproof %s: cannot reach traceproof serve: %v\n", cmd, err)
		return exitNoCheck
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		fmt.Fprintf(c.stderr, "traceproof %s: reading the answer of %s: %v\n", cmd, base+path, err)
		return exitNoCheck
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			hint = "\n(pass --token, or set " + envToken + ", to the --token traceproof serve was started with)"
		case http.StatusNotFound:
			hint = "\n(--server must be traceproof serve's HTTP address, of a version with the remote API)"
		}
		fmt.Fprintf(c.stderr, "traceproof %s: %s %s: %s: %s%s\n", cmd, req.Method, base+path, resp.Status, msg, hint)
		return exitNoCheck
	}
	if err := json.Unmarshal(data, out); err != nil {
		fmt.Fprintf(c.stderr, "traceproof %s: decoding the answer of %s: %v\n", cmd, base+path, err)
		return exitNoCheck
	}
	return exitOK
}

// serverBase turns --server into a base URL: a scheme is added to a bare
// host:port, and a trailing /api/v1 is dropped.
func serverBase(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return "", fmt.Errorf("--server %q: want http://HOST:PORT", s)
	}
	return strings.TrimSuffix(strings.TrimRight(s, "/"), "/api/v1"), nil
}

// printSpans writes spans in the API's JSON form as lines, a tree, or the
// JSON itself.
func (c *cli) printSpans(raws []json.RawMessage, format string) error {
	if format == "json" {
		for _, raw := range raws {
			fmt.Fprintf(c.stdout, "%s\n", raw)
		}
		return nil
	}
	spans := make([]spanstore.Span, 0, len(raws))
	for _, raw := range raws {
		s, _, err := spanstore.DecodeSpanJSON(raw)
		if err != nil {
			return err
		}
		spans = append(spans, s)
	}
	if format == "tree" {
		return spantext.WriteTree(c.stdout, spans, spantext.TreeOptions{})
	}
	for _, s := range spans {
		fmt.Fprintf(c.stdout, "%s  %s  %s  %s  %s  trace=%s span=%s\n", s.Start.Local().Format("15:04:05.000"), s.Instance(),
			s.Service(), s.Name, spantext.FormatDuration(s.Duration()), s.TraceID, s.SpanID)
	}
	return nil
}
