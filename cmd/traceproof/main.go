// Command traceproof runs a standalone OTLP sink that prints spans as they
// arrive and records them to a file (`traceproof serve`), and renders such
// files as span trees (`traceproof dump`).
//
// Install it from a clone of the repository with
//
//	go install ./cmd/traceproof
//
// (the module is not published, so a versioned `go install` cannot fetch
// it), and see `traceproof help` or docs/cli.md for its usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a clean shutdown, a second one gets
		// the default behaviour: it kills the process.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
