package assert_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/traceproof/traceproof/spanstore"
)

// recorder is a testing.TB that records failures instead of failing the real
// test, so that failure messages can be asserted. The real test is embedded
// for everything else (Context, Cleanup, TempDir).
type recorder struct {
	testing.TB
	name string

	mu       sync.Mutex
	errs     []string
	stopped  bool // FailNow ran
	finished bool // the body returned normally
}

func (r *recorder) Helper() {}

func (r *recorder) Name() string {
	if r.name != "" {
		return r.name
	}
	return r.TB.Name()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprintln(args...)) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.FailNow()
}

func (r *recorder) Fatal(args ...any) {
	r.Error(args...)
	r.FailNow()
}

func (r *recorder) Fail() { r.Errorf("Fail called") }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs) > 0
}

// FailNow stops the goroutine, as the real one does.
func (r *recorder) FailNow() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	runtime.Goexit()
}

// record runs body the way the testing package runs a test: in a goroutine
// of its own, which FailNow may end.
func record(t *testing.T, body func(tb testing.TB)) *recorder {
	t.Helper()
	r := &recorder{TB: t}
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

// message returns the one failure recorded, failing t if there is not
// exactly one.
func (r *recorder) message(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) != 1 {
		t.Fatalf("want 1 failure, got %d: %q", len(r.errs), r.errs)
	}
	return r.errs[0]
}

// passed fails t if anything was recorded.
func (r *recorder) passed(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Fatalf("want no failure, got:\n%s", strings.Join(r.errs, "\n---\n"))
	}
}

// passes runs body like record and fails t if it recorded a failure.
func passes(t *testing.T, body func(tb testing.TB)) {
	t.Helper()
	record(t, body).passed(t)
}

// wantCount fails tb unless an assertion returned n spans.
func wantCount(tb testing.TB, got []spanstore.Span, n int) {
	tb.Helper()
	if len(got) != n {
		tb.Errorf("got %d spans, want %d", len(got), n)
	}
}

// contains fails t for each want missing from msg, showing msg once.
func contains(t *testing.T, msg string, wants ...string) {
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
