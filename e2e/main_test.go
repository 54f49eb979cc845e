// Package e2e proves, from traces, that a multi-instance workflow system
// publishes its domain events: each test creates its own task with its own
// correlation ID and waits for that task's spans, whichever worker instance
// ran it, so every test runs in parallel with the others.
//
// By default the suite starts the reference system of e2e/tasker as separate
// processes in cluster mode (two of each service) exporting straight to an
// in-process sink. TRACEPROOF_E2E_MODE=single|cluster and
// TRACEPROOF_E2E_VIA=direct|collector|jaeger|remote choose otherwise (jaeger:
// the workers export to a real Jaeger and the assertions read its query API,
// see docs/staging.md; remote: they export to a `traceproof serve` process,
// built once, and the assertions read it through remote.Source, see
// docs/remote.md); TASKER_TEST_* URLs point it at an external system (see
// docs/e2e.md).
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/e2e/internal/system"
)

// sys is the system under test, shared by every test of the package.
var sys *system.System

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests spend their time waiting for spans from other processes, not
	// on the CPU, so the default parallelism (GOMAXPROCS) would only queue
	// them. An explicit -parallel still wins.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "64")
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "traceproof-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// A failing assertion writes its spans (OTLP/JSON and a text tree) here
	// and names the files in its message.
	if os.Getenv("TRACEPROOF_DUMP_DIR") == "" {
		os.Setenv("TRACEPROOF_DUMP_DIR", filepath.Join(dir, "dumps"))
	}
	cfg, err := system.ConfigFromEnv(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	// Generous: the first run builds the tasker system (and with
	// TRACEPROOF_E2E_VIA=collector, jaeger or remote, the Collector, Jaeger
	// or traceproof) from source.
	ctx, cancel := context.WithTimeout(context.Background(), assert.Scaled(10*time.Minute))
	sys, err = system.Start(ctx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot start the system under test: %v\nlogs in %s\n", err, dir)
		return 1
	}
	fmt.Printf("traceproof e2e: %s\n", sys.Describe())

	code := m.Run()
	code = proveDelivery(code)

	ctx, cancel = context.WithTimeout(context.Background(), assert.Scaled(time.Minute))
	defer cancel()
	stopErr := sys.Stop(ctx)
	printSummary(os.Stdout, code)
	if stopErr != nil {
		// A process that does not exit cleanly may have lost telemetry.
		fmt.Fprintf(os.Stderr, "e2e: stopping the system: %v\n", stopErr)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: process logs and span dumps kept in %s\n", dir)
	}
	return code
}
