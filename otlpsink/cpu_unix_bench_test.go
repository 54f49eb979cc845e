//go:build unix

package otlpsink

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system, all threads) this process has
// used, or 0 where the platform cannot say. Benchmarks report it per span
// next to wall time: on a 2-core machine the GC's mark workers run on the
// other core, so wall time alone hides them, while a receiver's CPU
// accounting (bench/loadgen) does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
