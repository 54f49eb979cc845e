package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

type serveConfig struct {
	grpcAddr, httpAddr string
	out                string
	print              string
	token              string
	maxSpans           int
	maxMessageBytes    int
	quiet              time.Duration
	correlationKeys    string
	faults             fault.Rules
}

func newServeFlags() (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{}
	fs := newFlagSet("serve")
	fs.StringVar(&c.grpcAddr, "grpc", "127.0.0.1:4317", "OTLP/gRPC listen `ADDR`; port 0 picks a free port, \"\" turns gRPC off")
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:4318", "OTLP/HTTP listen `ADDR` (POST /v1/traces); port 0 picks a free port, \"\" turns HTTP off")
	fs.StringVar(&c.out, "out", "", "append every trace request to `FILE` as one OTLP/JSON line, as it arrives")
	fs.StringVar(&c.print, "print", "lines", "print `MODE`: lines (a line per span as it arrives), tree (each trace once quiet) or none")
	fs.StringVar(&c.token, "token", "", "require \"Authorization: Bearer `T`\" on every request (401 / Unauthenticated otherwise)")
	fs.IntVar(&c.maxSpans, "max-spans", spanstore.DefaultMaxSpans, "keep at most `N` spans in memory, evicting the oldest; sets a soft memory limit of 1 KiB a span plus 96 MiB (GOMEMLIMIT overrides)")
	fs.IntVar(&c.maxMessageBytes, "max-message-bytes", otlpsink.DefaultMaxMessageBytes, "refuse requests over `N` bytes, decompressed (413 / ResourceExhausted)")
	fs.DurationVar(&c.quiet, "quiet", time.Second, "with --print tree: print a trace once no span arrived for it for `DURATION`")
	fs.StringVar(&c.correlationKeys, "correlation-keys", strings.Join(spanstore.DefaultCorrelationKeys(), ","), "comma-separated attribute `KEYS` whose value correlates a span with a task")
	fs.Var(&c.faults, "fault", "answer the OTLP requests `RULE` selects with a fault instead, e.g. \"grpc traces first=2 -> unavailable\" or \"http every=3 -> 503 retry-after=1s\" (repeatable, checked in order; see docs/faults.md)")
	return fs, c
}

func serveUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: traceproof serve [flags]

Runs an OTLP sink on loopback: OTLP/gRPC and OTLP/HTTP (protobuf or JSON,
optionally gzip) traces, plus metrics and logs (counted only). It prints
"traceproof: listening grpc=ADDR http=URL" first, then spans as they arrive.
The HTTP port also serves the remote API under /api/v1/ (docs/remote.md),
for traceproof wait and check, remote.Dial and tests in other languages; it
wants the same --token.
SIGINT or SIGTERM stops it: pending trees and the --out file are flushed and
a summary goes to stderr.

Flags:
`)
	fs, _ := newServeFlags()
	writeFlags(&b, fs)
	return b.String()
}

func (c *cli) serve(ctx context.Context, args []string) int {
	fs, cfg := newServeFlags()
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c.parseError("serve", err, serveUsage())
	}
	if len(pos) > 0 {
		return c.parseError("serve", fmt.Errorf("unexpected argument %q", pos[0]), serveUsage())
	}
	switch cfg.print {
	case "lines", "tree", "none":
	default:
		return c.parseError("serve", fmt.Errorf("--print %q: want lines, tree or none", cfg.print), serveUsage())
	}
	if cfg.quiet <= 0 {
		return c.parseError("serve", fmt.Errorf("--quiet %s: want a positive duration", cfg.quiet), serveUsage())
	}
	keys := splitList(cfg.correlationKeys)
	if len(keys) == 0 {
		return c.parseError("serve", fmt.Errorf("--correlation-keys: want at least one key"), serveUsage())
	}

	stderr := &lockedWriter{w: c.stderr}
	var out *outFile
	if cfg.out != "" {
		f, err := os.OpenFile(cfg.out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "traceproof serve: %v\n", err)
			return exitError
		}
		out = &outFile{f: f, name: cfg.out, stderr: stderr}
	}

	po := newOutput(c.stdout)
	var pr spanPrinter
	switch cfg.print {
	case "lines":
		pr = newLinePrinter(po, keys)
	case "tree":
		pr = newTreePrinter(po, cfg.quiet)
	}

	setMemoryLimit(cfg.maxSpans)
	storeOpts := []spanstore.Option{spanstore.WithMaxSpans(cfg.maxSpans), spanstore.WithCorrelationKeys(keys...)}
	if pr != nil {
		storeOpts = append(storeOpts, spanstore.WithOnIngest(pr.add))
	}
	st := spanstore.New(storeOpts...)
	api := newAPI(st, cfg.token)
	opts := []otlpsink.Option{
		otlpsink.WithGRPCAddr(cfg.grpcAddr),
		otlpsink.WithHTTPAddr(cfg.httpAddr),
		otlpsink.WithMaxMessageBytes(cfg.maxMessageBytes),
		otlpsink.WithStore(st),
		api.option(),
	}
	// The live view at the HTTP root: correlations, waterfalls pushed as
	// spans arrive, senders and refusals.
	var live *liveView
	if cfg.httpAddr != "" {
		live = newLiveView(st, cfg.token)
		opts = append(opts, live.options()...)
	}
	refusedOpt, printRefusals := serveRefusals(stderr) // each refusal on stderr as it happens
	opts = append(opts, refusedOpt)
	if cfg.token != "" {
		opts = append(opts, otlpsink.WithToken(cfg.token))
	}
	if out != nil {
		opts = append(opts, otlpsink.WithOnTraces(out.write))
	}
	if len(cfg.faults) > 0 {
		opts = append(opts, otlpsink.WithFaults(cfg.faults...))
	}

	// Spans may arrive as soon as New listens; holding the output until the
	// listening line is written keeps that line first.
	po.mu.Lock()
	sink, err := otlpsink.New(opts...)
	if err != nil {
		po.mu.Unlock()
		if out != nil {
			out.f.Close()
		}
		var pe *fault.ParseError
		if errors.As(err, &pe) {
			return c.parseError("serve", err, serveUsage())
		}
		fmt.Fprintf(stderr, "traceproof serve: %v\n", err)
		return exitError
	}
	api.setSink(sink)
	if tp, ok := pr.(*treePrinter); ok {
		tp.store = sink.Store()
	}
	if live != nil {
		live.setSink(sink)
	}
	grpcShown, httpShown := "off", "off"
	if a := sink.GRPCAddr(); a != "" {
		grpcShown = a
	}
	if u := sink.HTTPURL(); u != "" {
		httpShown = u
	}
	fmt.Fprintf(po.w, "traceproof: listening grpc=%s http=%s\n", grpcShown, httpShown)
	po.flushLocked()
	po.mu.Unlock()

	if cfg.token == "" {
		for _, a := range []string{sink.GRPCAddr(), sink.HTTPAddr()} {
			if a != "" && !isLoopback(a) {
				fmt.Fprintf(stderr, "traceproof serve: warning: %s is reachable beyond loopback and --token is not set\n", a)
			}
		}
	}
	if out != nil {
		fmt.Fprintf(stderr, "traceproof serve: appending trace requests to %s\n", cfg.out)
	}
	if live != nil {
		fmt.Fprintf(stderr, "traceproof serve: live view at %s/%s\n", sink.HTTPURL(), tokenQuery(cfg.token))
	}
	for i, r := range cfg.faults {
		fmt.Fprintf(stderr, "traceproof serve: injecting faults: %s\n", otlpsink.RuleLabel(i, r))
	}

	<-ctx.Done()

	// Close lets requests in flight finish, so every span the sink
	// acknowledged is printed and written below. The API's waits and open
	// live pages would hold it up: they end first.
	api.close()
	if live != nil {
		live.close()
	}
	closeErr := sink.Close()
	if pr != nil {
		pr.close()
	}
	code := exitOK
	if closeErr != nil {
		fmt.Fprintf(stderr, "traceproof serve: stopping the receivers: %v\n", closeErr)
	}
	outNote := ""
	if out != nil {
		n, failed, err := out.close()
		outNote = fmt.Sprintf("; %s written to %s", english.Plural(n, "request"), cfg.out)
		if failed > 0 || err != nil {
			if err == nil {
				err = fmt.Errorf("%d requests not written", failed)
			}
			fmt.Fprintf(stderr, "traceproof serve: %s is incomplete: %v\n", cfg.out, err)
			code = exitError
		}
	}
	printRefusals(sink.Stats())
	fmt.Fprintf(stderr, "traceproof: stopped; %s%s\n", summary(sink.Stats()), outNote)
	for i, rs := range sink.FaultStats() {
		fmt.Fprintf(stderr, "traceproof: fault %s answered %s of the %d it selected from\n",
			otlpsink.RuleLabel(i, rs.Rule), english.Plural(rs.Fired, "request"), rs.Matched)
	}
	return code
}

// Memory a full store needs: a span of the kind real workers send costs
// about 800 bytes in the store (docs/BENCHMARKS.md), and the process needs
// some more for requests in flight and the runtime.
const (
	memoryPerSpan = 1 << 10
	memoryBase    = 96 << 20
)

// setMemoryLimit gives the Go runtime a soft memory limit sized for a full
// store, unless GOMEMLIMIT set one. Without it the heap grows to twice the
// live heap between collections (GOGC=100): ~1.6 GiB resident for a 0.8 GB
// store. With it the collector runs earlier as the limit nears, so the
// resident size stays near the live heap; a store of much bigger spans
// reaches the limit before its cap and is then collected more often (the
// runtime caps that at about half the CPU), which is what GOMEMLIMIT is
// for. It returns the limit in effect.
func setMemoryLimit(maxSpans int) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	if maxSpans <= 0 {
		maxSpans = spanstore.DefaultMaxSpans
	}
	limit := int64(memoryBase) + int64(maxSpans)*memoryPerSpan
	debug.SetMemoryLimit(limit)
	return limit
}

// summary renders Stats on one line.
func summary(st spanstore.Stats) string {
	var b strings.Builder
	instances := make([]string, 0, len(st.Instances))
	for _, in := range st.Instances {
		instances = append(instances, in.Instance)
	}
	slices.Sort(instances)
	fmt.Fprintf(&b, "%s in %s", english.Plural(st.Spans, "span"), english.Plural(st.Requests, "request"))
	if len(instances) > 0 {
		fmt.Fprintf(&b, " from %s (%s)", english.Plural(len(instances), "instance"), strings.Join(instances, ", "))
	}
	if len(st.ByTransport) > 0 {
		var parts []string
		for _, k := range slices.Sorted(mapKeys(st.ByTransport)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, st.ByTransport[k]))
		}
		fmt.Fprintf(&b, " [%s]", strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "; %d rejected, %d evicted, %d decode errors, %d refused", st.Rejected, st.Evicted, st.DecodeErrors, st.RefusedTotal())
	if len(st.Refused) > 0 {
		var parts []string
		for _, k := range slices.Sorted(mapKeys(st.Refused)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, st.Refused[k]))
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	if st.MetricPoints+st.LogRecords > 0 {
		fmt.Fprintf(&b, "; %d metric points, %d log records counted", st.MetricPoints, st.LogRecords)
	}
	return b.String()
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// outFile appends trace requests to a file, one OTLP/JSON line each. Requests
// arrive concurrently: each is encoded on its own goroutine and written with a
// single unbuffered write under the mutex, so lines never interleave and a
// line is in the file once its sender has its answer.
type outFile struct {
	name   string
	stderr io.Writer

	mu       sync.Mutex
	f        *os.File
	written  int
	failed   int
	firstErr error
	closed   bool
}

func (o *outFile) write(td ptrace.Traces, _ spanstore.Origin) {
	var buf bytes.Buffer
	err := spanstore.WriteTracesJSON(&buf, td)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	if err == nil {
		_, err = o.f.Write(buf.Bytes())
	}
	if err != nil {
		o.failed++
		if o.firstErr == nil {
			o.firstErr = err
			fmt.Fprintf(o.stderr, "traceproof serve: writing %s: %v\n", o.name, err)
		}
		return
	}
	o.written++
}

func (o *outFile) close() (written, failed int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	err = o.firstErr
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	return o.written, o.failed, err
}

// lockedWriter serializes writes from concurrent request goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// tokenQuery is the live view's URL query for a token: the page passes it
// on to its API and stream.
func tokenQuery(token string) string {
	if token == "" {
		return ""
	}
	return "?token=" + url.QueryEscape(token)
}
