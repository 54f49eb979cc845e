package main

import (
	"bytes"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The events of one task, corr-7f3a, as the reference workflow publishes
// them on success, from two instances; and another task's.
var (
	taskEvents = []domainEvent{
		orderValidated, paymentProcessed,
		{instance: "worker-rust-1", correlation: "corr-7f3a", task: "task-7f3a", event: "inventory.updated", namespace: "domain_events_rust", at: 10 * time.Millisecond},
		{instance: "worker-rust-2", correlation: "corr-7f3a", task: "task-7f3a", event: "notification.sent", namespace: "domain_events_rust", at: 20 * time.Millisecond},
	}
	successArgs = []string{"order.validated:fast", "payment.processed:durable", "inventory.updated:Fast", "notification.sent:FAST"}
)

// servedTask is a serve with a token, fed the task's events and another
// task's over OTLP as workers send them.
func servedTask(t *testing.T) (p *proc, server string) {
	t.Helper()
	p = startServe(t, "--token", "tok", "--print", "none")
	exp := newExporter(t, "grpc", p.grpcAddr, "tok")
	for _, e := range taskEvents {
		exp.export(t, e.spans())
	}
	exp.export(t, otherTask.spans())
	return p, "http://" + p.httpAddr
}

// runRemote runs the binary with extra environment.
func runRemote(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), binPath, args...)
	cmd.Env = append(binEnv(), env...)
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

func TestWait(t *testing.T) {
	p, server := servedTask(t)

	code, out, errOut := runBinary(t, "wait", "--server", server, "--token", "tok", "--count", "3",
		`{ name = "publish" && correlation = "corr-7f3a" }`)
	require.Equal(t, exitOK, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	for _, l := range lines {
		assert.Regexp(t, `^09:26:53\.\d{3}  worker-rust-[12]  tasker-core  publish  150µs  trace=[0-9a-f]{32} span=[0-9a-f]{16}$`, l)
	}

	// The token and server from the environment; JSON lines out.
	code, out, errOut = runRemote(t, []string{"TRACEPROOF_SERVER=" + p.httpAddr, "TRACEPROOF_TOKEN=tok"},
		"wait", "--format", "json", `{ name = "publish_event" && correlation = "corr-7f3a" }`)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, 1, strings.Count(out, "\n"), out)
	assert.Contains(t, out, `"name":"publish_event"`)
	assert.Contains(t, out, `"correlations":["corr-7f3a","task-7f3a"]`)

	code, out, errOut = runBinary(t, "wait", "--server", server, "--token", "tok", "--format", "tree", `{ correlation = "corr-other" }`)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "└─ route_event [worker-rust-2]")
	assert.Contains(t, out, "   └─ publish [worker-rust-2]")

	// Not there by the timeout: 1, and the report a Go assertion prints.
	code, out, errOut = runBinary(t, "wait", "--server", server, "--token", "tok", "--timeout", "200ms",
		`{ name = "publish_event" && correlation = "corr-7f3a" && span.event_name = "payment.failed" }`)
	require.Equal(t, exitFailed, code, errOut)
	assert.True(t, strings.HasPrefix(out, `expected at least 1 span named "publish_event" with span attribute event_name = "payment.failed" in the trace of correlation "corr-7f3a" within 200ms`), out)
	assert.Contains(t, out, "found 0 after 200ms")
	assert.Contains(t, out, `saw event_name = "payment.processed"`)
	assert.Contains(t, out, `spans of correlation "corr-7f3a"`)
}

// wait blocks until the spans arrive, woken by the server.
func TestWaitWakesOnArrival(t *testing.T) {
	p := startServe(t, "--print", "none")
	var wg sync.WaitGroup
	var code int
	var out, errOut string
	wg.Go(func() {
		code, out, errOut = runBinary(t, "wait", "--server", p.httpAddr, "--timeout", "10s", `{ name = "send_json_message" && correlation = "corr-7f3a" }`)
	})
	newExporter(t, "http", p.httpAddr, "").export(t, paymentProcessed.spans())
	wg.Wait()
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "send_json_message")
}

func TestWaitErrors(t *testing.T) {
	p, server := servedTask(t)
	for _, c := range []struct {
		args []string
		says []string
	}{
		{[]string{"wait", "--server", server, `{ name = "a" || name = "b" }`},
			[]string{"QUERY: column 14: || is not supported", "\n  { name = \"a\" || name = \"b\" }\n               ^"}},
		{[]string{"wait", `{ name = "a" }`}, []string{"--server is required (or set TRACEPROOF_SERVER)"}},
		{[]string{"wait", "--server", server}, []string{"QUERY is required"}},
		{[]string{"wait", "--server", server, "--count", "0", "{}"}, []string{"--count 0: want 1 to 10000"}},
		{[]string{"wait", "--server", server, "--timeout", "1h", "{}"}, []string{"at most 5m0s"}},
		{[]string{"wait", "--server", server, "{}", "{}"}, []string{"one QUERY, in quotes; got 2 arguments"}},
	} {
		code, _, errOut := runCLI(t, "", c.args...)
		assert.Equal(t, exitNoCheck, code, "%v", c.args)
		for _, s := range c.says {
			assert.Contains(t, errOut, s, "%v", c.args)
		}
	}

	// Not a verdict: 2, with what to do.
	code, out, errOut := runBinary(t, "wait", "--server", server, "--token", "wrong", "{}")
	assert.Equal(t, exitNoCheck, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "401 Unauthorized: missing or wrong bearer token")
	assert.Contains(t, errOut, "pass --token, or set TRACEPROOF_TOKEN")
	code, _, errOut = runBinary(t, "wait", "--server", server, "{}")
	assert.Equal(t, exitNoCheck, code)
	assert.Contains(t, errOut, "401")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	l.Close()
	code, _, errOut = runBinary(t, "wait", "--server", closed, "{}")
	assert.Equal(t, exitNoCheck, code)
	assert.Contains(t, errOut, "cannot reach traceproof serve")
	assert.Contains(t, errOut, "connection refused")

	// A path that is not the API: the sink's 404, with a hint.
	code, _, errOut = runBinary(t, "wait", "--server", server+"/v1/traces", "--token", "tok", "{}")
	assert.Equal(t, exitNoCheck, code)
	assert.Contains(t, errOut, "404")
	_ = p
}

func TestCheck(t *testing.T) {
	_, server := servedTask(t)
	for _, c := range []struct {
		name string
		args []string
		code int
		says []string
	}{
		{"published", append([]string{"published", "--correlation", "corr-7f3a"}, successArgs...), exitOK,
			[]string{`pass: correlation "corr-7f3a" published exactly order.validated:fast, payment.processed:durable`}},
		{"published, one missing", append([]string{"published", "--correlation", "corr-7f3a", "--timeout", "300ms"}, append(successArgs, "refund.issued")...), exitFailed,
			[]string{`expected correlation "corr-7f3a" to publish exactly these domain events, once each: order.validated (Fast)`, "refund.issued", "not routed"}},
		{"published, another task's", []string{"published", "--correlation", "corr-7f3a", "--timeout", "300ms", "order.validated:fast"}, exitFailed,
			[]string{"payment.processed", "unexpected"}},
		{"published, wrong mode", append([]string{"published", "--correlation", "corr-7f3a", "payment.processed:fast"}, successArgs[0], successArgs[2], successArgs[3]), exitFailed,
			[]string{"payment.processed (Fast)", "Durable"}},
		{"includes", []string{"includes", "--correlation", "corr-7f3a", "payment.processed:durable"}, exitOK, nil},
		{"not-published", []string{"not-published", "--correlation", "corr-7f3a", "--window", "200ms", "payment.failed"}, exitOK,
			[]string{`pass: correlation "corr-7f3a" did not publish payment.failed`}},
		{"not-published, but it was", []string{"not-published", "--correlation", "corr-7f3a", "--window", "2s", "payment.failed", "payment.processed"}, exitFailed,
			[]string{`expected correlation "corr-7f3a" not to publish "payment.processed" within 2s`}},
		{"not-published, no such task", []string{"not-published", "--correlation", "corr-7f3b", "--window", "100ms", "payment.failed"}, exitFailed,
			[]string{`not proven: correlation "corr-7f3b" had no span at all`, `did you mean correlation "corr-7f3a"?`}},
		{"not-published, allow-empty", []string{"not-published", "--correlation", "corr-7f3b", "--window", "100ms", "--allow-empty", "payment.failed"}, exitOK, nil},
		{"exactly", []string{"exactly", "--count", "4", `{ name = "route_event" && correlation = "corr-7f3a" }`}, exitOK, []string{"pass: exactly 4 spans"}},
		{"exactly, fewer", []string{"exactly", "--count", "5", "--timeout", "200ms", `{ name = "route_event" && correlation = "corr-7f3a" }`}, exitFailed,
			[]string{"expected exactly 5 spans named \"route_event\"", "found 4"}},
		{"once-per", []string{"once-per", "--key", "event_name", "--values", "order.validated,payment.processed",
			`{ name = "route_event" && correlation = "corr-7f3a" }`}, exitOK, nil},
		{"never", []string{"never", "--window", "100ms", `{ status = error && correlation = "corr-7f3a" }`}, exitOK, nil},
		{"never, but", []string{"never", "--window", "1s", `{ name = "publish_event" && correlation = "corr-7f3a" }`}, exitFailed, []string{"found 1"}},
		{"in-order", []string{"in-order",
			`{ name = "route_event" && correlation = "corr-7f3a" && span.event_name = "order.validated" }`,
			`{ name = "route_event" && correlation = "corr-7f3a" && span.event_name = "payment.processed" }`}, exitOK, nil},
		{"in-order, reversed", []string{"in_order",
			`{ name = "route_event" && correlation = "corr-7f3a" && span.event_name = "payment.processed" }`,
			`{ name = "route_event" && correlation = "corr-7f3a" && span.event_name = "order.validated" }`}, exitFailed,
			[]string{"out of order: 2 started 5ms before 1"}},
		{"eventually", []string{"eventually", `{ name = "publish" }`, "--count", "4"}, exitOK, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"check", c.args[0], "--server", server, "--token", "tok"}, c.args[1:]...)
			code, out, errOut := runBinary(t, args...)
			require.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			assert.Empty(t, errOut)
			for _, s := range c.says {
				assert.Contains(t, out, s)
			}
		})
	}
}

func TestCheckUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"check"}, "KIND is required: one of published, includes, not-published"},
		{[]string{"check", "--server", "x"}, "KIND is required"},
		{[]string{"check", "publishd"}, `unknown KIND "publishd"`},
		{[]string{"check", "published", "--server", "x", "a"}, "published: --correlation is required"},
		{[]string{"check", "published", "--server", "x", "--correlation", "c", "a:"}, `event "a:": want NAME or NAME:MODE`},
		{[]string{"check", "not-published", "--server", "x", "--correlation", "c", "a"}, "--window is required"},
		{[]string{"check", "not-published", "--server", "x", "--correlation", "c", "--window", "1s"}, "name at least one EVENT"},
		{[]string{"check", "not-published", "--server", "x", "--correlation", "c", "--window", "1s", "a:fast"}, "names only"},
		{[]string{"check", "exactly", "--server", "x", "{}"}, "--count is required"},
		{[]string{"check", "exactly", "--server", "x", "--count", "1", "{ nam = 1 }"}, "QUERY: column 3"},
		{[]string{"check", "once-per", "--server", "x", "{}"}, "--key is required"},
		{[]string{"check", "in-order", "--server", "x", "{}"}, "at least 2 QUERY"},
		{[]string{"check", "published", "--server", "x", "--correlation", "c", "--count", "2", "a"}, "--count does not apply"},
		{[]string{"check", "never", "--server", "x", "--window", "1s", "--key", "k", "{}"}, "--key does not apply"},
		{[]string{"check", "includes", "--server", "x", "--correlation", "c", "--allow-empty", "a"}, "--allow-empty does not apply"},
	} {
		code, _, errOut := runCLI(t, "", c.args...)
		assert.Equal(t, exitNoCheck, code, "%v", c.args)
		assert.Contains(t, errOut, c.says, "%v", c.args)
		assert.Contains(t, errOut, "Run 'traceproof help check' for usage.", "%v", c.args)
	}
	code, out, _ := runCLI(t, "", "help", "check")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "Usage: traceproof check KIND --server URL")
	code, out, _ = runCLI(t, "", "check", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "not-published")
	code, out, _ = runCLI(t, "", "help", "wait")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "Usage: traceproof wait --server URL [flags] QUERY")
}
