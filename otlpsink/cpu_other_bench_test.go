//go:build !unix

package otlpsink

import "time"

// processCPU is not measured on this platform; benchmarks omit cpu-ns/span.
func processCPU() time.Duration { return 0 }
