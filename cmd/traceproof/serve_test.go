package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The domain events of one task (correlation ID corr-7f3a) run on two worker
// instances, plus one event of another task.
var (
	paymentProcessed = domainEvent{instance: "worker-rust-1", correlation: "corr-7f3a", task: "task-7f3a",
		event: "payment.processed", namespace: "domain_events_rust", durable: true}
	orderValidated = domainEvent{instance: "worker-rust-2", correlation: "corr-7f3a", task: "task-7f3a",
		event: "order.validated", namespace: "domain_events_rust", at: -5 * time.Millisecond}
	otherTask = domainEvent{instance: "worker-rust-2", correlation: "corr-other", task: "task-other",
		event: "inventory.updated", namespace: "domain_events_rust", at: 40 * time.Millisecond}
)

// spanLine is one `--print lines` line split into its columns.
type spanLine struct {
	time, instance, service, name, duration, correlation string
}

func parseSpanLine(t *testing.T, l string) spanLine {
	t.Helper()
	f := strings.Fields(l)
	require.GreaterOrEqual(t, len(f), 6, "span line %q", l)
	return spanLine{f[0], f[1], f[2], f[3], f[4], f[5]}
}

func isSpanLine(l string) bool {
	return !strings.HasPrefix(l, "traceproof:") && strings.TrimSpace(l) != ""
}

// TestServeRecordsAndDumps is the CLI's main path: serve on free ports,
// workers export over gRPC and HTTP, spans print as they arrive, SIGTERM
// stops it with exit 0, the --out file holds every request as OTLP/JSON, and
// dump renders it.
func TestServeRecordsAndDumps(t *testing.T) {
	out := filepath.Join(t.TempDir(), "spans.jsonl")
	p := startServe(t, "--out", out)

	grpcExp := newExporter(t, "grpc", p.grpcAddr, "")
	httpExp := newExporter(t, "http", p.httpAddr, "")
	grpcExp.export(t, paymentProcessed.spans())
	httpExp.export(t, orderValidated.spans(), otherTask.spans())

	lines := p.waitLines("7 span lines", 7, isSpanLine)
	t.Logf("serve --print lines output:\n%s", strings.Join(p.seen, "\n"))
	byName := map[string][]spanLine{}
	for _, l := range lines {
		sl := parseSpanLine(t, l)
		assert.Equal(t, "tasker-core", sl.service, l)
		byName[sl.name] = append(byName[sl.name], sl)
	}
	// The gRPC request's spans, in the order they arrived.
	assert.Equal(t, []spanLine{
		{"09:26:53.589", "worker-rust-1", "tasker-core", "send_json_message", "1.25ms", "corr-7f3a"}, // through its trace
		{"09:26:53.589", "worker-rust-1", "tasker-core", "publish_event", "1.8ms", "corr-7f3a"},
		{"09:26:53.589", "worker-rust-1", "tasker-core", "route_event", "2.4ms", "corr-7f3a"},
	}, []spanLine{byName["send_json_message"][0], byName["publish_event"][0], byName["route_event"][0]})
	require.Len(t, byName["publish"], 2)
	assert.Equal(t, spanLine{"09:26:53.584", "worker-rust-2", "tasker-core", "publish", "150µs", "task-7f3a"}, byName["publish"][0],
		"the fast publish span carries only task_uuid")
	assert.Equal(t, "corr-other", byName["route_event"][2].correlation)
	// Columns line up: every line has its name at the same offset.
	col := strings.Index(lines[0], "send_json_message")
	for _, l := range lines {
		assert.Equal(t, col, strings.Index(l, parseSpanLine(t, l).name), "misaligned: %q", l)
	}

	code, rest := p.stop()
	require.Equal(t, 0, code, "exit code; stderr:\n%s", p.stderr.String())
	assert.Empty(t, rest, "nothing more to print after SIGTERM")
	stderr := p.stderr.String()
	t.Logf("serve stderr:\n%s", stderr)
	assert.Contains(t, stderr, "traceproof: stopped; 7 spans in 2 requests from 2 instances (worker-rust-1, worker-rust-2) [grpc/proto 1, http/proto 1]; 0 rejected, 0 evicted, 0 decode errors, 0 refused; 2 requests written to "+out)

	// The out file: one OTLP/JSON request per line, every span exactly once.
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	fileLines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, fileLines, 2)
	total := 0
	var um ptrace.JSONUnmarshaler
	for i, l := range fileLines {
		require.True(t, strings.HasPrefix(l, `{"resourceSpans":[`), "line %d: %.80s", i+1, l)
		td, err := um.UnmarshalTraces([]byte(l))
		require.NoError(t, err, "line %d", i+1)
		total += td.SpanCount()
	}
	assert.Equal(t, 7, total)

	// dump renders the file as trees.
	code, tree, errOut := runBinary(t, "dump", out)
	require.Equal(t, 0, code, errOut)
	t.Logf("dump %s:\n%s", filepath.Base(out), tree)
	assert.Equal(t, []string{
		"trace",
		"route_event [worker-rust-2]",
		"  · Routing domain event",
		"  publish [worker-rust-2]",
		"    · Publishing in-process domain event",
		"trace",
		"route_event [worker-rust-1]",
		"  · Routing domain event",
		"  publish_event [worker-rust-1]",
		"    · Publishing domain event",
		"    · Domain event published successfully",
		"    send_json_message [worker-rust-1]",
		"trace",
		"route_event [worker-rust-2]",
		"  · Routing domain event",
		"  publish [worker-rust-2]",
		"    · Publishing in-process domain event",
	}, treeOutline(t, tree), "traces ordered by start time:\n%s", tree)
	assert.Contains(t, tree, "trace "+paymentProcessed.traceID().String()+" (3 spans; worker-rust-1)")

	// Flags may follow the file; --correlation selects whole traces.
	code, tree, errOut = runBinary(t, "dump", out, "--correlation", "corr-other")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, []string{
		"trace",
		"route_event [worker-rust-2]",
		"  · Routing domain event",
		"  publish [worker-rust-2]",
		"    · Publishing in-process domain event",
	}, treeOutline(t, tree))
	assert.Contains(t, tree, "event_name=inventory.updated")
}

// TestServeToken: with --token, exporters without the bearer token are
// refused (gRPC Unauthenticated, HTTP 401) and exporters with it get through.
func TestServeToken(t *testing.T) {
	p := startServe(t, "--token", "s3cret")
	ctx := testContext(t)

	err := newExporter(t, "grpc", p.grpcAddr, "").ExportSpans(ctx, orderValidated.spans())
	require.Error(t, err)
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	err = newExporter(t, "http", p.httpAddr, "").ExportSpans(ctx, orderValidated.spans())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	err = newExporter(t, "grpc", p.grpcAddr, "wrong").ExportSpans(ctx, orderValidated.spans())
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)

	newExporter(t, "grpc", p.grpcAddr, "s3cret").export(t, paymentProcessed.spans())
	newExporter(t, "http", p.httpAddr, "s3cret").export(t, otherTask.spans())
	lines := p.waitLines("5 span lines", 5, isSpanLine)
	var instances []string
	for _, l := range lines {
		instances = append(instances, parseSpanLine(t, l).instance)
	}
	slices.Sort(instances)
	assert.Equal(t, []string{"worker-rust-1", "worker-rust-1", "worker-rust-1", "worker-rust-2", "worker-rust-2"}, instances)

	code, _ := p.stop()
	require.Equal(t, 0, code, p.stderr.String())
	t.Logf("serve --token stderr:\n%s", p.stderr.String())
	assert.Contains(t, p.stderr.String(), "5 spans in 2 requests")
	assert.Contains(t, p.stderr.String(), "3 refused (unauthenticated 3)")
}

// TestServePrintTree: --print tree prints a trace once it has gone quiet, and
// prints it again, whole, when more of its spans arrive later.
func TestServePrintTree(t *testing.T) {
	p := startServe(t, "--print", "tree", "--quiet", "20ms")
	exp := newExporter(t, "grpc", p.grpcAddr, "")
	exp.export(t, paymentProcessed.spans())

	header := "trace " + paymentProcessed.traceID().String() + " (3 spans; worker-rust-1)"
	p.waitLine(header, func(l string) bool { return l == header })
	tree := p.waitTree()
	assert.Equal(t, []string{
		"route_event [worker-rust-1]",
		"  · Routing domain event",
		"  publish_event [worker-rust-1]",
		"    · Publishing domain event",
		"    · Domain event published successfully",
		"    send_json_message [worker-rust-1]",
	}, treeOutline(t, strings.Join(tree, "\n")))

	// A fast event's child arrives alone: it prints as an orphan. Its parent
	// arrives after the trace went quiet: the whole trace prints again.
	fast := orderValidated.spans()
	exp.export(t, fast[:1])
	orphanHeader := "trace " + orderValidated.traceID().String() + " (1 span; worker-rust-2)"
	p.waitLine(orphanHeader, func(l string) bool { return l == orphanHeader })
	assert.Equal(t, []string{"orphan", "publish [worker-rust-2]", "  · Publishing in-process domain event"},
		treeOutline(t, strings.Join(p.waitTree(), "\n")))
	exp.export(t, fast[1:])
	p.waitLine("the reprint note", func(l string) bool {
		return l == "(trace "+orderValidated.traceID().String()+": 1 span more arrived; the whole trace again)"
	})
	p.waitLine("the whole trace", func(l string) bool {
		return strings.HasPrefix(l, "trace "+orderValidated.traceID().String()+" (2 spans")
	})
	assert.Equal(t, []string{
		"route_event [worker-rust-2]",
		"  · Routing domain event",
		"  publish [worker-rust-2]",
		"    · Publishing in-process domain event",
	}, treeOutline(t, strings.Join(p.waitTree(), "\n")))

	code, rest := p.stop()
	require.Equal(t, 0, code, p.stderr.String())
	assert.Empty(t, rest)
	t.Logf("serve --print tree --quiet 20ms output:\n%s", strings.Join(p.seen, "\n"))
}

// waitTree reads the lines of one tree, up to the blank line after it.
func (p *proc) waitTree() []string {
	p.t.Helper()
	var tree []string
	for {
		l := p.waitLine("the end of a tree", func(string) bool { return true })
		if l == "" {
			return tree
		}
		tree = append(tree, l)
	}
}

// TestServePrintTreeFlushesOnExit: traces still pending (not quiet yet) print
// when serve stops, here by SIGINT (Ctrl-C).
func TestServePrintTreeFlushesOnExit(t *testing.T) {
	p := startServe(t, "--print", "tree", "--quiet", "1h")
	newExporter(t, "http", p.httpAddr, "").export(t, paymentProcessed.spans(), otherTask.spans())
	code, rest := p.stopWith(os.Interrupt)
	require.Equal(t, 0, code, p.stderr.String())
	t.Logf("serve --print tree output:\n%s", strings.Join(p.seen, "\n"))
	outline := treeOutline(t, strings.Join(rest, "\n"))
	assert.Equal(t, []string{
		"trace",
		"route_event [worker-rust-1]",
		"  · Routing domain event",
		"  publish_event [worker-rust-1]",
		"    · Publishing domain event",
		"    · Domain event published successfully",
		"    send_json_message [worker-rust-1]",
		"trace",
		"route_event [worker-rust-2]",
		"  · Routing domain event",
		"  publish [worker-rust-2]",
		"    · Publishing in-process domain event",
	}, outline)
}

// TestServeInProcess runs serve through run() with a cancellable context (the
// signal's stand-in), HTTP only, fed OTLP/JSON by hand, printing nothing.
func TestServeInProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	pr, pw := io.Pipe()
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--grpc", "", "--http", "127.0.0.1:0", "--print", "none", "--out", out}, pw, &stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	require.True(t, sc.Scan(), "listening line")
	line := sc.Text()
	require.True(t, strings.HasPrefix(line, "traceproof: listening grpc=off http=http://127.0.0.1:"), line)
	url := strings.TrimPrefix(line, "traceproof: listening grpc=off http=")

	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"tasker-core"}}]},` +
		`"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"route_event",` +
		`"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"correlation_id","value":{"stringValue":"c-1"}}]}]}]}]}`
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, url+"/v1/traces", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	rest, err := io.ReadAll(pr)
	require.NoError(t, err)
	assert.Empty(t, string(rest), "--print none prints nothing but the listening line")
	assert.Equal(t, 0, <-done, stderr.String())
	assert.Contains(t, stderr.String(), "1 span in 1 request")

	code, tree, errOut := runCLI(t, "", "dump", out, "--correlation", "c-1")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, tree, "trace 5b8efff798038103d269b633813fc60c (1 span; ")
	assert.Contains(t, tree, "route_event")
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--print", "json"},
		{"serve", "--quiet", "0s"},
		{"serve", "--nope"},
		{"serve", "extra"},
	} {
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Contains(t, stderr, "traceproof serve: ", "%v", args)
		assert.Contains(t, stderr, "Run 'traceproof help serve' for usage.", "%v", args)
	}
	// A port in use is a failure, not a usage error.
	p := startServe(t, "--print", "none")
	code, _, stderr := runCLI(t, "", "serve", "--grpc", p.grpcAddr, "--http", "127.0.0.1:0")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, p.grpcAddr)
}
