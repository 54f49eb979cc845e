package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// progress is where Build says what it is doing: stderr, which go test
// passes through while the tests of a package run.
var progress io.Writer = os.Stderr

// TaskerPackage is the import path of the tasker binary.
const TaskerPackage = "github.com/traceproof/traceproof/e2e/tasker/cmd/tasker"

// BinEnv names an environment variable that, when set, points BuildOnce at a
// prebuilt tasker binary instead of building one.
const BinEnv = "TRACEPROOF_TASKER_BIN"

// moduleRoot finds the e2e module's directory: from this source file's location
// when it exists (tests run from a checkout), else from `go env GOMOD`.
func moduleRoot(ctx context.Context) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")) // the e2e module
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := string(bytes.TrimSpace(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("cannot locate the traceproof module (not inside it, and sources not found)")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles the tasker binary into dir and returns its path
// (dir/tasker). It writes to a temporary name and renames it into place, so
// several processes may build into the same dir at once, and a binary that
// is running is never overwritten.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := "tasker"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	tmp, err := os.CreateTemp(dir, name+".build-*")
	if err != nil {
		return "", err
	}
	tmpPath := tmp.Name()
	_ = tmp.Close()
	defer func() { _ = os.Remove(tmpPath) }()

	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmpPath, TaskerPackage)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The first build on a fresh machine downloads and compiles every
	// dependency and takes minutes; say so, so a silent test run does not
	// look hung.
	fmt.Fprintf(progress, "traceproof e2e: building the reference system (go build %s); the first build on a fresh machine downloads and compiles its dependencies and takes minutes, later ones seconds\n", TaskerPackage)
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", TaskerPackage, err, out.String())
	}
	fmt.Fprintf(progress, "traceproof e2e: built the reference system in %s\n", time.Since(began).Round(100*time.Millisecond))
	final := filepath.Join(dir, name)
	if err := os.Rename(tmpPath, final); err != nil {
		return "", err
	}
	return final, nil
}

// defaultBuildTimeout bounds a build of the tasker binary (before
// TRACEPROOF_TIMEOUT_SCALE): a first build on a fresh machine compiles every
// dependency.
const defaultBuildTimeout = 10 * time.Minute

var built struct {
	once sync.Once
	path string
	err  error
}

// BuildOnce returns the tasker binary for this test binary, building it on
// first use into a per-checkout directory under os.TempDir() (or using
// $TRACEPROOF_TASKER_BIN when set). It fails tb if the build fails.
func BuildOnce(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		if p := os.Getenv(BinEnv); p != "" {
			built.path = p
			if _, err := os.Stat(p); err != nil {
				built.err = fmt.Errorf("%s: %w", BinEnv, err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), scale(defaultBuildTimeout))
		defer cancel()
		root, err := moduleRoot(ctx)
		if err != nil {
			built.err = err
			return
		}
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), "traceproof-tasker-"+hex.EncodeToString(sum[:6]))
		built.path, built.err = Build(ctx, dir)
	})
	if built.err != nil {
		tb.Fatalf("building tasker: %v", built.err)
	}
	return built.path
}
