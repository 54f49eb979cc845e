package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestServeSetsAMemoryLimitFromTheSpanCap(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "")
	want := int64(96<<20 + 1_000_000<<10)
	if got := setMemoryLimit(1_000_000); got != want || debug.SetMemoryLimit(-1) != want {
		t.Fatalf("--max-spans 1000000: limit %d (runtime: %d), want %d (96 MiB + 1 KiB a span)", got, debug.SetMemoryLimit(-1), want)
	}
	if got := setMemoryLimit(0); got != want {
		t.Fatalf("--max-spans 0 (the default cap): limit %d, want %d", got, want)
	}

	// GOMEMLIMIT is the runtime's to apply; serve leaves it alone.
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "512MiB")
	if got := setMemoryLimit(1_000_000); got != math.MaxInt64 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set, serve changed the limit to %d", debug.SetMemoryLimit(-1))
	}
}
