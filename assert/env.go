package assert

import (
	"math"
	"os"
	"strconv"
	"time"
)

// Environment variables that tune every assertion, so CI can adapt tests
// without editing them.
const (
	// EnvTimeoutScale multiplies every wait: timeouts, settle windows and the
	// windows of Never and NotPublished. "3" triples them on a slow machine.
	EnvTimeoutScale = "TRACEPROOF_TIMEOUT_SCALE"
	// EnvDumpDir, when set, is where a failing assertion writes the spans it
	// looked at, as OTLP/JSON and as a text tree, named after the test.
	EnvDumpDir = "TRACEPROOF_DUMP_DIR"
)

// Defaults, before scaling.
const (
	// DefaultTimeout bounds how long an assertion waits for spans to arrive.
	DefaultTimeout = 10 * time.Second
	// DefaultSettle is how long Exactly, OncePer and Published keep watching
	// after the expected spans arrived, to catch extras and duplicates.
	DefaultSettle = 300 * time.Millisecond
)

// Scaled multiplies d by TRACEPROOF_TIMEOUT_SCALE. The variable is read on
// every call so that t.Setenv takes effect; unset, unparsable or
// non-positive values count as 1.
func Scaled(d time.Duration) time.Duration {
	s, err := strconv.ParseFloat(os.Getenv(EnvTimeoutScale), 64)
	if err != nil || s <= 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return d
	}
	return time.Duration(float64(d) * s)
}
