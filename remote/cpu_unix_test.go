//go:build unix

package remote_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system, all threads) this process has
// used, so that a benchmark counts the GC and the server's goroutines too.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
