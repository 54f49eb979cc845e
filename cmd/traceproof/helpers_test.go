package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// binPath is the traceproof binary TestMain builds, with -race when the tests
// run with it, so the process tests check the real binary's races too.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "traceproof-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "traceproof")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot build the traceproof binary:", err)
		return 1
	}
	build := exec.Command(goBin, append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// binEnv is the environment of the binary under test: UTC, so printed times
// are the same everywhere; no colour; and, for a -race build, no second of
// sleep at exit (the race runtime's default, to let reports flush), while a
// race report still fails the process with exit code 66.
func binEnv() []string {
	return append(os.Environ(), "TZ=UTC", "NO_COLOR=1", "GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"))
}

// timeout is how long a test waits for one thing to happen, scaled by
// TRACEPROOF_TIMEOUT_SCALE on slow machines.
func timeout() time.Duration {
	d := 15 * time.Second
	if s, err := strconv.ParseFloat(os.Getenv("TRACEPROOF_TIMEOUT_SCALE"), 64); err == nil && s > 0 {
		d = time.Duration(float64(d) * s)
	}
	return d
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout())
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed by the next Write; see watch
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// watch returns what the buffer holds and a channel closed by the next
// Write, so a test waits for output without polling.
func (s *syncBuffer) watch() (string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.b.String(), s.changed
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running `traceproof serve` whose stdout the test reads line by
// line.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string // stdout, closed at EOF
	seen   []string    // stdout lines read so far (the test goroutine's)
	stderr syncBuffer
	exited bool

	grpcAddr, httpAddr string // host:port
}

// startServe runs `traceproof serve` on free loopback ports with args and
// waits for its listening line.
func startServe(t *testing.T, args ...string) *proc {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("stopping serve takes a signal Windows cannot send")
	}
	p := &proc{t: t, lines: make(chan string, 1024)}
	p.cmd = exec.Command(binPath, append([]string{"serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"}, args...)...)
	p.cmd.Env = binEnv()
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		if !p.exited {
			_ = p.cmd.Process.Kill()
			for range p.lines {
			}
			_ = p.cmd.Wait()
		}
	})
	line := p.waitLine("the listening line", func(l string) bool { return strings.HasPrefix(l, "traceproof: listening ") })
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "grpc="); ok {
			p.grpcAddr = v
		}
		if v, ok := strings.CutPrefix(f, "http="); ok {
			p.httpAddr = strings.TrimPrefix(v, "http://")
		}
	}
	if p.grpcAddr == "" || p.httpAddr == "" {
		t.Fatalf("no addresses in %q", line)
	}
	return p
}

// waitLine reads stdout until a line satisfies match, and returns it.
func (p *proc) waitLine(what string, match func(string) bool) string {
	p.t.Helper()
	deadline := time.NewTimer(timeout())
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("traceproof serve exited before printing %s\nstdout:\n%s\nstderr:\n%s", what, strings.Join(p.seen, "\n"), p.stderr.String())
			}
			p.seen = append(p.seen, l)
			if match(l) {
				return l
			}
		case <-deadline.C:
			p.t.Fatalf("timed out waiting for %s\nstdout:\n%s\nstderr:\n%s", what, strings.Join(p.seen, "\n"), p.stderr.String())
		}
	}
}

// waitLines reads stdout until n lines satisfy match, and returns them.
func (p *proc) waitLines(what string, n int, match func(string) bool) []string {
	p.t.Helper()
	var got []string
	for len(got) < n {
		got = append(got, p.waitLine(fmt.Sprintf("%s (%d of %d so far)", what, len(got), n), match))
	}
	return got
}

// stop sends SIGTERM, reads the rest of stdout and returns the exit code and
// the lines printed after the signal.
func (p *proc) stop() (int, []string) {
	p.t.Helper()
	return p.stopWith(syscall.SIGTERM)
}

func (p *proc) stopWith(sig os.Signal) (int, []string) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	var rest []string
	deadline := time.NewTimer(timeout())
	defer deadline.Stop()
	for done := false; !done; {
		select {
		case l, ok := <-p.lines:
			if !ok {
				done = true
				break
			}
			p.seen = append(p.seen, l)
			rest = append(rest, l)
		case <-deadline.C:
			p.t.Fatalf("traceproof serve did not exit after SIGTERM\nstderr:\n%s", p.stderr.String())
		}
	}
	err := p.cmd.Wait()
	p.exited = true
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, rest
	case errors.As(err, &ee):
		return ee.ExitCode(), rest
	}
	p.t.Fatal(err)
	return -1, nil
}

// runBinary runs the traceproof binary to completion.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), binPath, args...)
	cmd.Env = binEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// runCLI runs the CLI in-process.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code = c.run(testContext(t), args)
	return code, out.String(), errb.String()
}

// exporter is a real OTel SDK OTLP exporter, as a worker instance runs it.
// Tests call ExportSpans directly: one call is one request, and its error is
// the sink's answer.
type exporter struct {
	sdktrace.SpanExporter
}

func newExporter(t *testing.T, transport, addr, token string) *exporter {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch transport {
	case "grpc":
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false})}
		if token != "" {
			opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + token}))
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	case "http":
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure(),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false})}
		if token != "" {
			opts = append(opts, otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return &exporter{exp}
}

func (e *exporter) export(t *testing.T, spans ...[]sdktrace.ReadOnlySpan) {
	t.Helper()
	if err := e.ExportSpans(testContext(t), concat(spans...)); err != nil {
		t.Fatalf("export: %v", err)
	}
}

func concat(spans ...[]sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var all []sdktrace.ReadOnlySpan
	for _, s := range spans {
		all = append(all, s...)
	}
	return all
}

// baseTime is when the test's domain events happen: fixed, so durations,
// times (TZ=UTC) and IDs in the output are the same on every run.
var baseTime = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// domainEvent describes one domain event published by a worker, traced as
// DESIGN.md's "Domain-event span shapes" table says real workers trace it.
type domainEvent struct {
	instance    string // service.instance.id
	correlation string
	task        string // task_uuid
	event       string // event_name, e.g. payment.processed
	namespace   string
	durable     bool          // durable: route_event → publish_event → send_json_message; fast: route_event → publish
	at          time.Duration // start, after baseTime
}

func (e domainEvent) seed() string {
	return e.instance + "/" + e.correlation + "/" + e.task + "/" + e.event
}

func (e domainEvent) traceID() trace.TraceID {
	var id trace.TraceID
	h := sha256.Sum256([]byte("trace/" + e.seed()))
	copy(id[:], h[:])
	return id
}

func (e domainEvent) spanID(name string) trace.SpanID {
	var id trace.SpanID
	h := sha256.Sum256([]byte("span/" + e.seed() + "/" + name))
	copy(id[:], h[:])
	return id
}

func (e domainEvent) eventID() string {
	h := sha256.Sum256([]byte("event/" + e.seed()))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// spans returns the event's spans in the order a batch span processor sends
// them: children end, and are exported, before their parents.
func (e domainEvent) spans() []sdktrace.ReadOnlySpan {
	res := resource.NewSchemaless(
		attribute.String("service.name", "tasker-core"),
		attribute.String("service.instance.id", e.instance),
	)
	scope := instrumentation.Scope{Name: "tasker_worker::domain_events"}
	t0 := baseTime.Add(e.at)
	ms := func(f float64) time.Time { return t0.Add(time.Duration(f * float64(time.Millisecond))) }
	sc := func(name string) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: e.traceID(), SpanID: e.spanID(name), TraceFlags: trace.FlagsSampled})
	}
	mode := "Fast"
	if e.durable {
		mode = "Durable"
	}
	route := tracetest.SpanStub{
		Name: "route_event", SpanContext: sc("route_event"), SpanKind: trace.SpanKindInternal,
		StartTime: ms(0), EndTime: ms(2.4),
		Attributes: []attribute.KeyValue{
			attribute.String("delivery_mode", mode),
			attribute.String("event_name", e.event),
			attribute.String("namespace", e.namespace),
		},
		Events: []sdktrace.Event{{Name: "Routing domain event", Time: ms(0.1), Attributes: []attribute.KeyValue{
			attribute.String("delivery_mode", mode),
			attribute.String("event_name", e.event),
			attribute.String("task_uuid", e.task),
			attribute.String("correlation_id", e.correlation),
		}}},
		Resource: res, InstrumentationScope: scope,
	}
	var stubs []tracetest.SpanStub
	if e.durable {
		publish := tracetest.SpanStub{
			Name: "publish_event", SpanContext: sc("publish_event"), Parent: sc("route_event"), SpanKind: trace.SpanKindInternal,
			StartTime: ms(0.3), EndTime: ms(2.1),
			Attributes: []attribute.KeyValue{
				attribute.String("event_name", e.event),
				attribute.String("namespace", e.namespace),
				attribute.String("correlation_id", e.correlation),
			},
			Events: []sdktrace.Event{
				{Name: "Publishing domain event", Time: ms(0.4), Attributes: []attribute.KeyValue{
					attribute.String("event_id", e.eventID()),
					attribute.String("queue_name", e.namespace+"_domain_events"),
					attribute.String("task_uuid", e.task),
					attribute.String("correlation_id", e.correlation),
				}},
				{Name: "Domain event published successfully", Time: ms(2.0)},
			},
			Resource: res, InstrumentationScope: scope,
		}
		send := tracetest.SpanStub{
			Name: "send_json_message", SpanContext: sc("send_json_message"), Parent: sc("publish_event"), SpanKind: trace.SpanKindProducer,
			StartTime: ms(0.6), EndTime: ms(1.85),
			Attributes: []attribute.KeyValue{attribute.String("queue", e.namespace+"_domain_events")},
			Resource:   res, InstrumentationScope: scope,
		}
		stubs = []tracetest.SpanStub{send, publish, route}
	} else {
		publish := tracetest.SpanStub{
			Name: "publish", SpanContext: sc("publish"), Parent: sc("route_event"), SpanKind: trace.SpanKindInternal,
			StartTime: ms(0.2), EndTime: ms(0.35),
			Attributes: []attribute.KeyValue{
				attribute.String("event_name", e.event),
				attribute.String("event_id", e.eventID()),
				attribute.String("namespace", e.namespace),
			},
			Events: []sdktrace.Event{{Name: "Publishing in-process domain event", Time: ms(0.25), Attributes: []attribute.KeyValue{
				attribute.String("task_uuid", e.task),
			}}},
			Resource: res, InstrumentationScope: scope,
		}
		route.EndTime = ms(0.5)
		stubs = []tracetest.SpanStub{publish, route}
	}
	out := make([]sdktrace.ReadOnlySpan, len(stubs))
	for i, s := range stubs {
		out[i] = s.Snapshot()
	}
	return out
}

// writeDump records exports (one request each) the way `serve --out` does,
// through a sink in the test process, and returns the file.
func writeDump(t *testing.T, requests ...[]sdktrace.ReadOnlySpan) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dump.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	var werr error
	sink := otlpsink.Start(t, otlpsink.WithOnTraces(func(td ptrace.Traces, _ spanstore.Origin) {
		mu.Lock()
		defer mu.Unlock()
		if err := spanstore.WriteTracesJSON(f, td); err != nil && werr == nil {
			werr = err
		}
	}))
	exp := newExporter(t, "grpc", sink.GRPCAddr(), "")
	for _, r := range requests {
		exp.export(t, r)
	}
	mu.Lock()
	defer mu.Unlock()
	if werr != nil {
		t.Fatal(werr)
	}
	return path
}

// treeOutline reduces WriteTree output to its structure: per trace, each span
// as "name [instance]" indented two spaces per level, each event as
// "· name" under its span. Durations and attributes are left out, so the
// outline states what a reader must see (names, instances, nesting, events)
// without breaking on presentation details.
func treeOutline(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		r := []rune(l)
		switch {
		case strings.HasPrefix(l, "trace "):
			lines = append(lines, "trace")
		case strings.TrimSpace(l) == "":
		case strings.Contains(l, "orphan: parent"):
			lines = append(lines, "orphan")
		default:
			i := indexRunes(r, '├', '└', '·')
			if i < 0 || i%3 != 0 {
				t.Fatalf("unexpected tree line %q in:\n%s", l, out)
			}
			text := string(r[i+2:])
			if r[i] == '·' {
				name, _, _ := strings.Cut(text, "  ")
				lines = append(lines, strings.Repeat("  ", i/3-1)+"  · "+name)
				continue
			}
			name, rest, _ := strings.Cut(strings.TrimSpace(text), " [")
			inst, _, _ := strings.Cut(rest, "]")
			lines = append(lines, strings.Repeat("  ", i/3)+name+" ["+inst+"]")
		}
	}
	return lines
}

func indexRunes(r []rune, any ...rune) int {
	for i, c := range r {
		for _, a := range any {
			if c == a {
				return i
			}
		}
	}
	return -1
}
