package e2e

import "testing"

// jaegerHealthy fails t when, while it ran, a poll of the Jaeger source
// failed or was incomplete: its checks may then have passed on less than
// Jaeger held (an absence over spans the source could not fetch). The
// source is shared, so a failed poll fails every test running then; that
// errs on the side of a failure, never of a false pass.
func jaegerHealthy(t *testing.T) {
	t.Helper()
	before := sys.JaegerSource.Health()
	t.Cleanup(func() {
		after := sys.JaegerSource.Health()
		failed, incomplete := after.Failed-before.Failed, after.Incomplete-before.Incomplete
		if failed > 0 || incomplete > 0 {
			t.Errorf("while this test ran, %d polls of Jaeger failed and %d were incomplete, so its checks may have seen less than Jaeger held; the last problem, at %s: %s",
				failed, incomplete, after.LastErrorAt.Format("15:04:05.000"), after.LastError)
		}
	})
}
