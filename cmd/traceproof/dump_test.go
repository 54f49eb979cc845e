package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestDumpDomainEventTree checks the rendered text of a task's domain events,
// shaped as DESIGN.md describes them: durable payment.processed on one
// instance (route_event → publish_event → send_json_message) and fast
// order.validated on another (route_event → publish), with their span events.
// The input is deterministic (fixed IDs and times), so the lines below are
// exactly what a reader sees, apart from the alignment of attributes.
func TestDumpDomainEventTree(t *testing.T) {
	file := writeDump(t, paymentProcessed.spans(), orderValidated.spans(), otherTask.spans())
	code, out, errOut := runCLI(t, "", "dump", "--correlation", "corr-7f3a", file)
	require.Equal(t, 0, code, errOut)
	t.Logf("dump --correlation corr-7f3a:\n%s", out)

	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{
		"trace " + orderValidated.traceID().String() + " (2 spans; worker-rust-2)",
		"└─ route_event [worker-rust-2] 500µs  delivery_mode=Fast event_name=order.validated namespace=domain_events_rust",
		"   · Routing domain event  delivery_mode=Fast event_name=order.validated task_uuid=task-7f3a correlation_id=corr-7f3a",
		"   └─ publish [worker-rust-2] 150µs  event_name=order.validated event_id=" + orderValidated.eventID() + " namespace=domain_events_rust",
		"      · Publishing in-process domain event  task_uuid=task-7f3a",
		"trace " + paymentProcessed.traceID().String() + " (3 spans; worker-rust-1)",
		"└─ route_event [worker-rust-1] 2.4ms  delivery_mode=Durable event_name=payment.processed namespace=domain_events_rust",
		"   · Routing domain event  delivery_mode=Durable event_name=payment.processed task_uuid=task-7f3a correlation_id=corr-7f3a",
		"   └─ publish_event [worker-rust-1] 1.8ms  event_name=payment.processed namespace=domain_events_rust correlation_id=corr-7f3a",
		"      · Publishing domain event  event_id=" + paymentProcessed.eventID() + " queue_name=domain_events_rust_domain_events task_uuid=task-7f3a correlation_id=corr-7f3a",
		"      · Domain event published successfully",
		"      └─ send_json_message [worker-rust-1] 1.25ms  queue=domain_events_rust_domain_events",
	}
	// Compare each line with its whitespace runs collapsed, so a change in
	// padding alone does not fail the test.
	norm := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = strings.Join(strings.Fields(s), " ")
		}
		return out
	}
	assert.Equal(t, norm(want), norm(lines))
	assert.NotContains(t, out, "corr-other")
	assert.NotContains(t, out, "\x1b[", "no colour when stdout is not a terminal")
}

func TestDumpSelection(t *testing.T) {
	file := writeDump(t, paymentProcessed.spans(), orderValidated.spans(), otherTask.spans())

	t.Run("task uuid correlates too", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "dump", file, "--correlation", "task-other")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, 1, strings.Count(out, "trace "))
		assert.Contains(t, out, otherTask.traceID().String())
	})
	t.Run("trace", func(t *testing.T) {
		id := strings.ToUpper(paymentProcessed.traceID().String())
		code, out, errOut := runCLI(t, "", "dump", file, "-trace", id)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, []string{"trace", "route_event [worker-rust-1]", "  · Routing domain event",
			"  publish_event [worker-rust-1]", "    · Publishing domain event", "    · Domain event published successfully",
			"    send_json_message [worker-rust-1]"}, treeOutline(t, out))
	})
	t.Run("no match", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "dump", file, "--correlation", "corr-7f3b")
		assert.Equal(t, 0, code)
		t.Logf("dump --correlation corr-7f3b:\nstdout: %sstderr: %s", out, errOut)
		assert.Equal(t, "(no spans)\n", out)
		assert.Equal(t, `traceproof dump: no spans match correlation="corr-7f3b"; `+file+
			" holds 7 spans in 3 traces, correlated with corr-7f3a, corr-other, task-7f3a, task-other\n", errOut)
	})
	t.Run("stdin and several files", func(t *testing.T) {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		other := writeDump(t, domainEvent{instance: "worker-rust-2", correlation: "corr-7f3a", task: "task-7f3a",
			event: "inventory.updated", namespace: "domain_events_rust", at: time.Second}.spans())
		code, out, errOut := runCLI(t, string(data), "dump", "-", other, "--correlation", "corr-7f3a")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, 3, strings.Count(out, "\ntrace ")+1, out)
		assert.Contains(t, out, "event_name=inventory.updated")
	})
}

// TestDumpJSONRoundTrip: --format json writes OTLP/JSON lines (one per trace)
// that decode as OTLP and that dump reads back to the same trees.
func TestDumpJSONRoundTrip(t *testing.T) {
	file := writeDump(t, concat(paymentProcessed.spans(), orderValidated.spans()), otherTask.spans())
	code, want, errOut := runCLI(t, "", "dump", file)
	require.Equal(t, 0, code, errOut)

	code, js, errOut := runCLI(t, "", "dump", file, "--format", "json")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSuffix(js, "\n"), "\n")
	require.Len(t, lines, 3, "one line per trace")
	var um ptrace.JSONUnmarshaler
	spans := 0
	for _, l := range lines {
		td, err := um.UnmarshalTraces([]byte(l))
		require.NoError(t, err)
		spans += td.SpanCount()
	}
	assert.Equal(t, 7, spans)

	code, got, errOut := runCLI(t, js, "dump", "-")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, want, got)

	// --correlation with --format json keeps only the selected traces.
	code, js, errOut = runCLI(t, "", "dump", "--format=json", "--correlation=corr-other", file)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 1, strings.Count(js, "\n"))
	assert.Contains(t, js, otherTask.traceID().String())
}

func TestDumpBadInput(t *testing.T) {
	good := writeDump(t, otherTask.spans())
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	dir := t.TempDir()

	t.Run("corrupt line", func(t *testing.T) {
		corrupt := filepath.Join(dir, "corrupt.jsonl")
		require.NoError(t, os.WriteFile(corrupt, append(append([]byte{}, data...), `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz`+"\n"...), 0o644))
		code, out, errOut := runCLI(t, "", "dump", corrupt)
		assert.Equal(t, exitOK, code, "a damaged file is rendered; only --strict fails")
		assert.Contains(t, out, otherTask.traceID().String(), "the good line is shown")
		assert.Contains(t, errOut, "traceproof dump: "+corrupt+":2: cut short")

		// The real binary says the same, and with --strict exits 1.
		code, out, errOut = runBinary(t, "dump", "--strict", corrupt)
		assert.Equal(t, exitError, code)
		assert.Contains(t, out, otherTask.traceID().String())
		t.Logf("dump --strict of a corrupt file:\n%s", errOut)
		assert.Contains(t, errOut, corrupt+":2: cut short")
	})
	t.Run("not json at all, on stdin", func(t *testing.T) {
		code, _, errOut := runCLI(t, "\n\nhello\n", "dump", "-")
		assert.Equal(t, exitOK, code)
		assert.Contains(t, errOut, `traceproof dump: <stdin>:3:1: not JSON: the line starts with "hello"`)
		assert.Contains(t, errOut, "<stdin>: 1 line did not load; no spans in its other lines")
	})
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.jsonl")
		code, _, errOut := runCLI(t, "", "dump", missing)
		assert.Equal(t, exitError, code)
		assert.Contains(t, errOut, "traceproof dump: open "+missing+": no such file or directory")
	})
	t.Run("directory", func(t *testing.T) {
		code, _, errOut := runCLI(t, "", "dump", dir)
		assert.Equal(t, exitError, code)
		assert.Contains(t, errOut, dir+" is a directory")
	})
	t.Run("metrics and logs lines are skipped", func(t *testing.T) {
		mixed := filepath.Join(dir, "collector.jsonl")
		require.NoError(t, os.WriteFile(mixed, append([]byte(`{"resourceMetrics":[]}`+"\n"+`{"resourceLogs":[]}`+"\n"), data...), 0o644))
		code, out, errOut := runCLI(t, "", "dump", mixed)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, otherTask.traceID().String())
	})
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, errOut := runCLI(t, "", args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Empty(t, errOut)
		for _, want := range []string{"traceproof serve [flags]", "traceproof dump FILE... [flags]", "--grpc ADDR", "--http ADDR",
			"--out FILE", "--print MODE", "--token T", "--max-spans N", "--quiet DURATION", "--correlation VALUE", "--format FORMAT", "--trace ID"} {
			assert.Contains(t, out, want, "%v", args)
		}
	}
	code, out, _ := runCLI(t, "", "help", "dump")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "Usage: traceproof dump FILE... [flags]"), out)
	code, out, _ = runCLI(t, "", "serve", "-h")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "Usage: traceproof serve [flags]"), out)
	for _, l := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, len([]rune(l)), 80, "usage line too long: %q", l)
	}

	code, _, errOut := runCLI(t, "")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "Usage:")
	code, _, errOut = runCLI(t, "", "frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `traceproof: unknown command "frobnicate"`)
	for _, args := range [][]string{{"dump"}, {"dump", "f", "--format", "yaml"}, {"dump", "f", "--trace", "xyz"}, {"dump", "--bogus", "f"}} {
		code, _, errOut = runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Contains(t, errOut, "Run 'traceproof help dump' for usage.", "%v", args)
	}

	code, out, _ = runBinary(t, "version")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "traceproof "), out)
}

func TestParseArgs(t *testing.T) {
	fs, cfg := newDumpFlags()
	pos, err := parseArgs(fs, []string{"a", "--correlation", "x", "b", "--format=json", "--", "--trace", "c"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "--trace", "c"}, pos)
	assert.Equal(t, "x", cfg.correlation)
	assert.Equal(t, "json", cfg.format)
	assert.Empty(t, cfg.traceID)
}
