//go:build !unix

package remote_test

import "time"

// processCPU is not measured on this platform; benchmarks omit cpu-ns/span.
func processCPU() time.Duration { return 0 }
