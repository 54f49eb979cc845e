package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/otlpsink"
)

// proveDelivery runs after the tests in the fault mode (TRACEPROOF_E2E_FAULTS,
// see docs/e2e.md): every test has already proven its task's domain events
// while the sink refused what the rules select; this proves from the sink's
// ledger that every span it refused was stored by a later attempt and that
// the exporters retried as asked (assert.Delivered), and prints what the
// rules did. A failure fails the run.
func proveDelivery(code int) int {
	rules := sys.FaultRules()
	if len(rules) == 0 {
		return code
	}
	// Exporters back off for seconds between retries (the Go SDK's default
	// starts at 5s): the refused spans may still be on their way.
	ctx, cancel := context.WithTimeout(context.Background(), assert.Scaled(2*time.Minute))
	defer cancel()
	d, err := assert.Check(sys.Sink, assert.WithTimeout(assert.Scaled(time.Minute))).Delivered(ctx, sys.Sink.Ledger())
	fmt.Printf("\ntraceproof e2e fault mode: %s\n", rulesText(rules))
	for i, rs := range sys.Sink.FaultStats() {
		fmt.Printf("  %s answered %d of %d requests\n", otlpsink.RuleLabel(i, rs.Rule), rs.Fired, rs.Matched)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: fault mode: delivery not proven:\n%v\n", err)
		return 1
	}
	fmt.Printf("  delivery proven over %d attempts: %s; %s\n", len(d.Attempts), d.Lost, d.Duplicates)
	return code
}

func rulesText(rules []fault.Rule) string {
	var s []string
	for _, r := range rules {
		s = append(s, r.String())
	}
	return strings.Join(s, "; ")
}
