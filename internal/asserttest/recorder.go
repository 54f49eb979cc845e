// Package asserttest holds what the tests of traceproof's assertion
// packages share: a recording testing.TB, builders of the span shapes of
// DESIGN.md, and a source that runs a hook at a known point of a wait.
package asserttest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/traceproof/traceproof/spanstore"
)

// Recorder is a testing.TB that records failures instead of failing the real
// test, so that failure messages can be asserted. The real test is embedded
// for everything else (Context, Cleanup, TempDir).
type Recorder struct {
	testing.TB
	name string

	mu       sync.Mutex
	errs     []string
	stopped  bool // FailNow ran
	finished bool // the body returned normally
}

func (r *Recorder) Helper() {}

func (r *Recorder) Name() string {
	if r.name != "" {
		return r.name
	}
	return r.TB.Name()
}

func (r *Recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *Recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprintln(args...)) }

func (r *Recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.FailNow()
}

func (r *Recorder) Fatal(args ...any) {
	r.Error(args...)
	r.FailNow()
}

func (r *Recorder) Fail() { r.Errorf("Fail called") }

func (r *Recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs) > 0
}

// FailNow stops the goroutine, as the real one does.
func (r *Recorder) FailNow() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	runtime.Goexit()
}

// Stopped reports whether FailNow ended the body.
func (r *Recorder) Stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Finished reports whether the body returned normally.
func (r *Recorder) Finished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finished
}

// Record runs body the way the testing package runs a test: in a goroutine
// of its own, which FailNow may end.
func Record(t *testing.T, body func(tb testing.TB)) *Recorder {
	t.Helper()
	r := &Recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(r)
		r.mu.Lock()
		r.finished = true
		r.mu.Unlock()
	}()
	<-done
	return r
}

// Message returns the one failure recorded, failing t if there is not
// exactly one.
func (r *Recorder) Message(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) != 1 {
		t.Fatalf("want 1 failure, got %d: %q", len(r.errs), r.errs)
	}
	return r.errs[0]
}

// Passed fails t if anything was recorded.
func (r *Recorder) Passed(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Fatalf("want no failure, got:\n%s", strings.Join(r.errs, "\n---\n"))
	}
}

// Passes runs body like Record and fails t if it recorded a failure.
func Passes(t *testing.T, body func(tb testing.TB)) {
	t.Helper()
	Record(t, body).Passed(t)
}

// WantCount fails tb unless an assertion returned n spans.
func WantCount(tb testing.TB, got []spanstore.Span, n int) {
	tb.Helper()
	if len(got) != n {
		tb.Errorf("got %d spans, want %d", len(got), n)
	}
}

// Contains fails t for each want missing from msg, showing msg once.
func Contains(t *testing.T, msg string, wants ...string) {
	t.Helper()
	var missing []string
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		t.Errorf("message lacks:\n  %s\nmessage:\n%s", strings.Join(missing, "\n  "), msg)
	}
}
