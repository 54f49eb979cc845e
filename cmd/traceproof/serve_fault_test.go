package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestServeFaults: --fault rules answer the requests they select, in order;
// serve names them when it starts and counts their answers when it stops.
func TestServeFaults(t *testing.T) {
	p := startServe(t, "--print", "none", "--fault", "grpc first=1 -> unavailable", "--fault", "http -> 429 retry-after=1s")
	ctx := testContext(t)

	grpcExp := newExporter(t, "grpc", p.grpcAddr, "") // retries off: one call, one request
	err := grpcExp.ExportSpans(ctx, paymentProcessed.spans())
	require.Error(t, err)
	assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	assert.Contains(t, status.Convert(err).Message(), "fault injected by rule 1 (grpc first=1 -> unavailable)")
	grpcExp.export(t, paymentProcessed.spans())

	err = newExporter(t, "http", p.httpAddr, "").ExportSpans(ctx, orderValidated.spans())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "retry-able request failure")
	assert.Contains(t, err.Error(), "fault injected by rule 2 (http -> 429 retry-after=1s)")

	code, _ := p.stop()
	require.Equal(t, 0, code, p.stderr.String())
	stderr := p.stderr.String()
	t.Logf("serve --fault stderr:\n%s", stderr)
	assert.Contains(t, stderr, "traceproof serve: injecting faults: rule 1 (grpc first=1 -> unavailable)\n")
	assert.Contains(t, stderr, "traceproof serve: injecting faults: rule 2 (http -> 429 retry-after=1s)\n")
	assert.Contains(t, stderr, "3 spans in 1 request", "refused requests are not stored")
	assert.Contains(t, stderr, "traceproof: fault rule 1 (grpc first=1 -> unavailable) answered 1 request of the 2 it selected from\n")
	assert.Contains(t, stderr, "traceproof: fault rule 2 (http -> 429 retry-after=1s) answered 1 request of the 1 it selected from\n")
}

// A rule that cannot be read, or cannot be, is a usage error naming it.
func TestServeFaultUsageErrors(t *testing.T) {
	for rule, want := range map[string]string{
		"grpc -> 429":           `fault rule "grpc -> 429": HTTP status 429 on a gRPC-only rule`,
		"first=2 -> teapot":     `fault rule "first=2 -> teapot": teapot: unknown answer`,
		"first=2":               `fault rule "first=2": missing "->"`,
		"-> 400 retry-after=1s": `fault rule "-> 400 retry-after=1s"`,
	} {
		code, _, stderr := runCLI(t, "", "serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--fault", "-> unavailable", "--fault", rule)
		assert.Equal(t, exitUsage, code, rule)
		assert.Contains(t, stderr, want, rule)
		assert.Contains(t, stderr, "Run 'traceproof help serve' for usage.", rule)
	}
}
