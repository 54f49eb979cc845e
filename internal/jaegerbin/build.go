package jaegerbin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/traceproof/traceproof/internal/proc"
)

// Version is the Jaeger release the tests build and run.
const Version = "v1.76.0"

// module and pkg name the Jaeger v2 binary: the OpenTelemetry Collector
// distribution with Jaeger's storage, query and UI extensions.
const (
	module = "github.com/jaegertracing/jaeger"
	pkg    = module + "/cmd/jaeger"
)

// Environment variables read by this package.
const (
	// EnvBin names a prebuilt Jaeger v2 binary to use instead of building
	// one.
	EnvBin = "TRACEPROOF_JAEGER_BIN"
	// EnvCacheDir is where Build keeps its scratch module and the binary;
	// the default is the user cache directory's traceproof/jaeger-VERSION
	// (~/.cache/traceproof/jaeger-v1.76.0), which bench/run.sh shares.
	EnvCacheDir = "TRACEPROOF_JAEGER_CACHE"
)

// buildArgs are the go build flags; bench/run.sh uses the same, so either
// one's build leaves the other a relink.
var buildArgs = []string{"build", "-trimpath", "-ldflags=-s -w"}

var build struct {
	mu       sync.Mutex
	path     string
	err      error
	took     time.Duration
	compiled bool
}

// BuildInfo says where a binary came from, for a test's log line.
type BuildInfo struct {
	Path string
	// Built is true when this call compiled or relinked it; false when it
	// was a binary already in the cache or named by TRACEPROOF_JAEGER_BIN.
	Built bool
	// Took is how long finding (or building) it took.
	Took time.Duration
}

// Build returns the path of a Jaeger v2 binary: $TRACEPROOF_JAEGER_BIN when
// set, the cached one when present, otherwise one it builds.
//
// The build happens outside the traceproof module, so the root go.mod never
// depends on Jaeger: a scratch module in the cache directory requires
// github.com/jaegertracing/jaeger at [Version] as a tool (its go.mod has
// replace directives, so `go install pkg@version` refuses it) and builds
// cmd/jaeger with the go command running the tests, through the module
// proxy. A cold build compiles a few thousand packages: on a two-core
// machine that takes well over ten minutes, so build it once per machine
// (go run ./internal/jaegerbin/buildjaeger) before a go test with the
// default 10-minute timeout. Later calls reuse the binary.
//
// It builds at most once per process; a build cut short by ctx is not
// remembered. Processes building at once take turns on a file lock in the
// cache directory, and the binary is renamed into place only when complete,
// so a half-built file is never run.
func Build(ctx context.Context) (BuildInfo, error) {
	start := time.Now()
	if p := os.Getenv(EnvBin); p != "" {
		abs, err := checkBinary(p)
		return BuildInfo{Path: abs, Took: time.Since(start)}, err
	}
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.path != "" || build.err != nil {
		return BuildInfo{Path: build.path, Built: build.compiled, Took: build.took}, build.err
	}
	p, compiled, err := buildJaeger(ctx)
	if err != nil && ctx.Err() != nil {
		return BuildInfo{}, err // cancelled: let the next caller try again
	}
	build.path, build.err, build.compiled, build.took = p, err, compiled, time.Since(start)
	return BuildInfo{Path: p, Built: compiled, Took: build.took}, err
}

// CacheDir is the directory Build uses.
func CacheDir() (string, error) {
	if d := os.Getenv(EnvCacheDir); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "traceproof", "jaeger-"+Version), nil
}

func checkBinary(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", EnvBin, p, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvBin, err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s=%q is not an executable file", EnvBin, p)
	}
	return abs, nil
}

func buildJaeger(ctx context.Context) (path string, compiled bool, err error) {
	dir, err := CacheDir()
	if err != nil {
		return "", false, err
	}
	out := filepath.Join(dir, "bin", "jaeger")
	if isExecutable(out) {
		return out, false, nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return "", false, fmt.Errorf("jaeger build dir: %w", err)
	}
	unlock, err := proc.LockFile(ctx, filepath.Join(dir, ".build.lock"))
	if err != nil {
		return "", false, fmt.Errorf("jaeger build lock: %w", err)
	}
	defer unlock()
	if isExecutable(out) { // another process built it while we waited
		return out, false, nil
	}
	goBin, err := goCommand()
	if err != nil {
		return "", false, err
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = dir
		// The scratch module stands alone: no workspace of the caller's,
		// and a module proxy download rather than a vendor directory.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		var output bytes.Buffer
		cmd.Stdout = &output
		cmd.Stderr = &output
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building Jaeger %s: go %s (in %s): %w\n%s", Version, strings.Join(args, " "), dir, err, output.String())
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); errors.Is(err, os.ErrNotExist) {
		if err := run("mod", "init", "traceproof-jaeger-build"); err != nil {
			return "", false, err
		}
	}
	if err := run("get", "-tool", pkg+"@"+Version); err != nil {
		return "", false, err
	}
	tmp, err := os.CreateTemp(filepath.Join(dir, "bin"), "jaeger.*.tmp")
	if err != nil {
		return "", false, fmt.Errorf("jaeger build: %w", err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpName) // no-op after the rename
	if err := run(append(append([]string{}, buildArgs...), "-o", tmpName, pkg)...); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmpName, out); err != nil {
		return "", false, fmt.Errorf("jaeger build: %w", err)
	}
	return out, true, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0
}

// goCommand finds the go tool that runs these tests.
func goCommand() (string, error) {
	if goroot := os.Getenv("GOROOT"); goroot != "" {
		p := filepath.Join(goroot, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	return "", errors.New("jaeger build: no go command in PATH (set " + EnvBin + " to a prebuilt Jaeger v2 binary)")
}
