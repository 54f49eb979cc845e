package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/traceproof/traceproof/internal/proc"
)

// BinName is the file name of the Collector distribution in e2e/otelcol.
const BinName = "otelcol-traceproof"

// Environment variables read by this package.
const (
	// EnvBin names a prebuilt otelcol-traceproof to use instead of building
	// one (CI builds it once with e2e/otelcol/build.sh).
	EnvBin = "TRACEPROOF_OTELCOL_BIN"
	// EnvBinDir is where Build writes the binary; the default is
	// os.TempDir()/traceproof-otelcol. e2e/otelcol/build.sh reads it too.
	EnvBinDir = "TRACEPROOF_BIN_DIR"
)

// collectorBuildArgs are the go build flags. They must match
// e2e/otelcol/build.sh: the same flags give the same build cache keys, so a
// binary built by the script makes the tests' build a relink, and vice versa.
var collectorBuildArgs = []string{"build", "-trimpath", "-ldflags=-s -w"}

var build struct {
	mu   sync.Mutex
	path string
	err  error
}

// Build returns the path of an otelcol-traceproof binary: $TRACEPROOF_OTELCOL_BIN
// when set, otherwise one it builds from e2e/otelcol with `go build`.
//
// It builds at most once per process (per test binary); later calls return
// the first result. A build cut short by ctx is not remembered, so a later
// call with a live context tries again. With a warm Go build cache the build
// is a relink of a few seconds; a cold one compiles the whole Collector, which
// takes minutes on a small machine. Test binaries running at once take turns
// (a file lock in the output directory), so the second one relinks instead of
// compiling everything a second time.
func Build(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvBin); p != "" {
		return checkBinary(p)
	}
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.path != "" || build.err != nil {
		return build.path, build.err
	}
	p, err := buildCollector(ctx)
	if err != nil && ctx.Err() != nil {
		return "", err // cancelled: let the next caller try again
	}
	build.path, build.err = p, err
	return p, err
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

func buildCollector(ctx context.Context) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := os.Getenv(EnvBinDir)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "traceproof-otelcol")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("collector build dir: %w", err)
	}
	out := filepath.Join(dir, BinName)

	unlock, err := proc.LockFile(ctx, filepath.Join(dir, ".build.lock"))
	if err != nil {
		return "", fmt.Errorf("collector build lock: %w", err)
	}
	defer unlock()

	// Several test binaries (go test ./... runs packages in parallel) may
	// build at once, and another may be running the current binary. Link
	// to a private name, then rename into place: the rename is atomic and
	// leaves a running executable alone, where writing over it would fail
	// with "text file busy" or hand a half-written file to a concurrent
	// exec.
	tmp, err := os.CreateTemp(dir, BinName+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("collector build: %w", err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpName) // no-op after the rename

	goBin, err := goCommand()
	if err != nil {
		return "", err
	}
	args := append(append([]string{}, collectorBuildArgs...), "-o", tmpName, ".")
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = filepath.Join(root, "e2e", "otelcol")
	// The Collector is a module of its own, outside the repository's
	// workspace: its dependencies must not mix with the library's.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), cmd.Dir, err, output.String())
	}
	if err := os.Rename(tmpName, out); err != nil {
		return "", fmt.Errorf("collector build: %w", err)
	}
	return out, nil
}

// goCommand finds the go tool that runs these tests.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if goroot := os.Getenv("GOROOT"); goroot != "" {
		p := filepath.Join(goroot, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("collector build: no go command in PATH (set " + EnvBin + " to a prebuilt " + BinName + ")")
}

var repoRoot struct {
	once sync.Once
	dir  string
	err  error
}

// RepoRoot returns the root of the traceproof checkout: the directory holding
// collector-config.yaml and e2e/otelcol.
//
// It trusts this source file's own path first (exact, and independent of the
// working directory), which -trimpath erases; it then asks `go env GOMOD`
// from the working directory, which is the package directory under go test.
func RepoRoot() (string, error) {
	repoRoot.once.Do(func() {
		repoRoot.dir, repoRoot.err = findRepoRoot()
	})
	return repoRoot.dir, repoRoot.err
}

func findRepoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		if isRepoRoot(root) {
			return filepath.Clean(root), nil
		}
	}
	goBin, err := goCommand()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("locating the repo: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod != "" && gomod != os.DevNull {
		if root := filepath.Dir(gomod); isRepoRoot(root) {
			return root, nil
		}
	}
	return "", fmt.Errorf("locating the repo: neither this package's source path nor go env GOMOD (%q) leads to a directory with collector-config.yaml and e2e/otelcol/go.mod", gomod)
}

func isRepoRoot(dir string) bool {
	for _, p := range []string{"collector-config.yaml", filepath.Join("e2e", "otelcol", "go.mod")} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return false
		}
	}
	return true
}

// DefaultConfigPath returns the repo's collector-config.yaml: OTLP in, batch,
// OTLP/gRPC out to the sink at TRACEPROOF_SINK_ENDPOINT.
func DefaultConfigPath() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "collector-config.yaml"), nil
}

// BenchNopConfigPath returns e2e/otelcol/bench-nop.yaml: OTLP in, nop out, for
// benchmarks of the receiving side alone. It needs no sink.
func BenchNopConfigPath() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "e2e", "otelcol", "bench-nop.yaml"), nil
}

// Validate runs `binPath validate` on configPath with env ("KEY=value")
// added to this process's environment, and returns the Collector's own
// message when it rejects the config. It opens no port.
func Validate(ctx context.Context, binPath, configPath string, env ...string) error {
	cmd := exec.CommandContext(ctx, binPath, "validate", "--config", configPath)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s validate --config %s: %w\n%s", filepath.Base(binPath), configPath, err, bytes.TrimSpace(out))
	}
	return nil
}
