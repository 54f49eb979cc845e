//go:build interop

package remoteinterop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/traceproof/traceproof/e2e/tasker/harness"
	"github.com/traceproof/traceproof/otlpsink"
)

// The system every suite runs against, started once by TestMain: traceproof
// serve as its own process, with a token, and the reference workflow system
// in cluster mode exporting to it. emptyServe is a second serve no one
// exports to: the suites run against it must fail.
var (
	bin        string // the traceproof binary
	serve      *serveProc
	emptyServe *serveProc
	cluster    *harness.Cluster
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "traceproof-interop-remote-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Minute))
	defer cancel()
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "interop/remote: %v\nlogs in %s\n", err, dir)
		return 1
	}
	bin = filepath.Join(dir, "traceproof")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/traceproof/traceproof/cmd/traceproof").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("go build cmd/traceproof: %v\n%s", err, out))
	}
	if serve, err = startServe(ctx, filepath.Join(dir, "serve.log")); err != nil {
		return fail(err)
	}
	defer serve.stop()
	if emptyServe, err = startServe(ctx, filepath.Join(dir, "serve-empty.log")); err != nil {
		return fail(err)
	}
	defer emptyServe.stop()
	tasker, err := harness.Build(ctx, dir)
	if err != nil {
		return fail(err)
	}
	cluster, err = harness.Start(ctx, harness.Config{
		Mode: harness.ModeCluster, BinPath: tasker, Dir: dir,
		Env: func(role, instanceID, flavour string) []string {
			protocol, endpoint := otlpsink.ProtocolGRPC, "http://"+serve.grpcAddr
			if flavour == "ruby" {
				protocol, endpoint = otlpsink.ProtocolHTTPProtobuf, serve.httpURL
			}
			return append(otlpsink.ExporterEnvFor(endpoint, protocol, ""), "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20"+serve.token)
		},
	})
	if err != nil {
		return fail(err)
	}
	code := m.Run()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), scaled(time.Minute))
	defer stopCancel()
	if err := cluster.Stop(stopCtx); err != nil {
		fmt.Fprintln(os.Stderr, "interop/remote: stopping the tasker system:", err)
		code = max(code, 1)
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "interop/remote: logs kept in %s\n", dir)
	}
	return code
}

// suite is one foreign-language suite and the runner that runs it.
type suite struct {
	name string
	cmd  func(t *testing.T) []string
	// passed finds the runner's closing count of passing tests.
	passed func(out string) int
}

var suites = []suite{
	{"node", func(t *testing.T) []string {
		return []string{lookPath(t, "TRACEPROOF_NODE", "node", "Node.js >= 18.19 (Debian: apt-get install -y nodejs)"), "--test", "--test-reporter=tap", "node/"}
	}, countLine(`(?m)^# pass (\d+)$`)},
	{"python", func(t *testing.T) []string {
		return []string{lookPath(t, "TRACEPROOF_PYTHON", "python3", "Python 3 (Debian: apt-get install -y python3)"), "-m", "unittest", "discover", "-s", "python", "-p", "test_*.py", "-v"}
	}, countLine(`(?m)^Ran (\d+) tests? in `)},
	{"shell", func(t *testing.T) []string {
		return []string{lookPath(t, "TRACEPROOF_BATS", "bats", "bats (Debian: apt-get install -y bats) and curl"), "--tap", "shell/cli.bats"}
	}, countLine(`(?m)^1\.\.(\d+)$`)},
}

// TestSuites runs each suite with its own runner against the serve the
// reference system exports to; every test of it must pass.
func TestSuites(t *testing.T) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			out, err := runSuite(t, s, serve, 1)
			if err != nil {
				t.Fatalf("%s suite failed (%v):\n%s", s.name, err, out)
			}
			n := s.passed(out)
			if n == 0 {
				t.Fatalf("%s suite ran no test:\n%s", s.name, out)
			}
			t.Logf("%s: %d tests passed", s.name, n)
		})
	}
}

// TestSuitesFailWhenTheSinkIsWrong runs each suite against a serve that
// receives nothing (the workers export to the other one): every suite must
// fail, or it proves nothing. Its waits are cut to a tenth.
func TestSuitesFailWhenTheSinkIsWrong(t *testing.T) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			out, err := runSuite(t, s, emptyServe, 0.1)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("%s suite against an empty sink: %v, want it to fail:\n%s", s.name, err, out)
			}
			if !strings.Contains(out, "not ok") && !strings.Contains(out, "FAILED") {
				t.Fatalf("%s suite exited %d without a failing test:\n%s", s.name, exit.ExitCode(), out)
			}
		})
	}
}

func runSuite(t *testing.T, s suite, to *serveProc, scale float64) (string, error) {
	args := s.cmd(t)
	ctx, cancel := context.WithTimeout(t.Context(), scaled(5*time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "TRACEPROOF_") || strings.HasPrefix(kv, "TASKER_TEST_") || strings.HasPrefix(kv, "OTEL_")
	}), "TRACEPROOF_SERVER="+to.httpURL, "TRACEPROOF_TOKEN="+to.token, "TRACEPROOF_BIN="+bin,
		"TRACEPROOF_TIMEOUT_SCALE="+strconv.FormatFloat(scaled(time.Second).Seconds()*scale, 'f', -1, 64), "NO_COLOR=1")
	cmd.Env = append(cmd.Env, cluster.TestEnv()...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s suite did not finish in time:\n%s", s.name, out.String())
	}
	return out.String(), err
}

func lookPath(t *testing.T, env, name, what string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v): this suite needs %s; or set %s", name, err, what, env)
	}
	return p
}

func countLine(re string) func(string) int {
	return func(out string) int {
		n := 0
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(out, -1) {
			v, _ := strconv.Atoi(m[1])
			n += v
		}
		return n
	}
}

// serveProc is `traceproof serve` run as a process, with a token.
type serveProc struct {
	cmd               *exec.Cmd
	grpcAddr, httpURL string
	token             string
	done              chan struct{}
}

func startServe(ctx context.Context, logPath string) (*serveProc, error) {
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	p := &serveProc{token: hex.EncodeToString(tok), done: make(chan struct{})}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, "serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--print", "none", "--token", p.token)
	p.cmd.Stderr = logf
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		l, _ := br.ReadString('\n')
		line <- l
		_, _ = io.Copy(logf, br)
		_ = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	select {
	case l := <-line:
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "grpc="); ok {
				p.grpcAddr = v
			}
			if v, ok := strings.CutPrefix(f, "http="); ok {
				p.httpURL = v
			}
		}
		if p.grpcAddr == "" || p.httpURL == "" {
			p.stop()
			return nil, fmt.Errorf("traceproof serve printed %q, not its listening line (log %s)", l, logPath)
		}
		return p, nil
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

func (p *serveProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(scaled(15 * time.Second)):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// scaled multiplies d by TRACEPROOF_TIMEOUT_SCALE (slow CI).
func scaled(d time.Duration) time.Duration {
	if s, err := strconv.ParseFloat(os.Getenv("TRACEPROOF_TIMEOUT_SCALE"), 64); err == nil && s > 0 {
		return time.Duration(float64(d) * s)
	}
	return d
}
