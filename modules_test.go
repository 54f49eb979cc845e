package traceproof

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EModule runs the tests of the e2e module, so that `go test ./...`
// from the repository root runs the whole suite, as the README promises:
// Go's ./... pattern stops at a module boundary, and the e2e module is one
// so that its dependencies stay out of users' module graphs. The flags that
// matter are passed on (-race, -v, -short); the child's output is the
// test's.
func TestE2EModule(t *testing.T) {
	if os.Getenv("TRACEPROOF_IN_E2E_MODULE_RUN") != "" {
		t.Fatal("recursive run") // cannot happen: the e2e module does not import this package
	}
	watchTree(t, "e2e")
	args := []string{"test"}
	if raceEnabled {
		args = append(args, "-race")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	if testing.Short() {
		args = append(args, "-short")
	}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-timeout", timeUntil(d))
	}
	args = append(args, "./...")
	cmd := exec.Command("go", args...)
	cmd.Dir = "e2e"
	cmd.Env = append(os.Environ(), "TRACEPROOF_IN_E2E_MODULE_RUN=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	t.Logf("go %s (in e2e/)", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		t.Fatalf("the e2e module's tests failed: %v (output above)", err)
	}
}

// watchTree stats every file under dir, so that the go command's test
// cache, which records the files a test reads, runs this test again when
// any of them changes.
func watchTree(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// timeUntil is the time left before d, rounded down to whole seconds, as a
// duration flag.
func timeUntil(d time.Time) string {
	return time.Until(d).Truncate(time.Second).String()
}
