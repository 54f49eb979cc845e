package system

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
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

// EnvServeBin names a prebuilt traceproof binary for Via remote, instead of
// one built from this checkout.
const EnvServeBin = "TRACEPROOF_SERVE_BIN"

// serveProcess is `traceproof serve` run as a process of its own, with a
// token, as a suite in another language or on another machine would reach
// it: the workers export to it, and the assertions read it through
// remote.Source.
type serveProcess struct {
	cmd      *exec.Cmd
	grpcAddr string // host:port
	httpURL  string // http://host:port
	token    string
	logPath  string
	done     chan struct{} // closed once it exited
	waitErr  error
}

// startServe builds (unless EnvServeBin names one) and starts traceproof
// serve on free loopback ports, logging to dir/serve.log, and waits for its
// listening line.
func startServe(ctx context.Context, dir string) (*serveProcess, error) {
	bin := os.Getenv(EnvServeBin)
	if bin == "" {
		var err error
		if bin, err = buildServe(ctx, dir); err != nil {
			return nil, err
		}
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	p := &serveProcess{token: hex.EncodeToString(tok), logPath: filepath.Join(dir, "serve.log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	// The correlation keys are serve's defaults, as the in-process sink's.
	args := []string{"serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--print", "none", "--token", p.token}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = logf
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting traceproof serve: %w", err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "traceproof: listening ") {
				listening <- l
			}
			fmt.Fprintf(logf, "# stdout: %s\n", sc.Text())
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.waitErr = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	select {
	case l := <-listening:
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "grpc="); ok {
				p.grpcAddr = v
			}
			if v, ok := strings.CutPrefix(f, "http="); ok {
				p.httpURL = v
			}
		}
		if p.grpcAddr == "" || p.httpURL == "" {
			_ = p.stop(ctx)
			return nil, fmt.Errorf("traceproof serve: no addresses in %q", l)
		}
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("traceproof serve exited at start (%v):\n%s", p.waitErr, p.logTail(20))
	case <-ctx.Done():
		_ = p.stop(context.Background())
		return nil, fmt.Errorf("traceproof serve did not listen: %w", ctx.Err())
	}
}

// buildServe compiles cmd/traceproof into dir.
func buildServe(ctx context.Context, dir string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the traceproof module")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	bin := filepath.Join(dir, "traceproof")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/traceproof")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/traceproof: %w\n%s", err, out.String())
	}
	return bin, nil
}

// exporterHeaders is the environment that makes a worker's exporter send
// the token.
func (p *serveProcess) exporterHeaders() string {
	return "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20" + p.token
}

// stop sends SIGTERM and waits for a clean exit (0), killing it if it does
// not come.
func (p *serveProcess) stop(ctx context.Context) error {
	select {
	case <-p.done:
		return p.exitError()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(assert.Scaled(15 * time.Second))
	defer timer.Stop()
	select {
	case <-p.done:
		return p.exitError()
	case <-timer.C:
	case <-ctx.Done():
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("traceproof serve did not stop on SIGTERM; killed (log %s)", p.logPath)
}

func (p *serveProcess) exitError() error {
	if p.waitErr != nil {
		return fmt.Errorf("traceproof serve: %v (log %s):\n%s", p.waitErr, p.logPath, p.logTail(20))
	}
	return nil
}

// logTail is the last n lines of serve's log.
func (p *serveProcess) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n") + "\n"
}

// frozen is a source's spans and stats at one moment, for reading after
// the source is gone.
type frozen struct {
	*spanstore.Store
	stats spanstore.Stats
}

func (f frozen) Stats() spanstore.Stats { return f.stats }

func snapshot(src assert.Source) frozen {
	st := spanstore.New(spanstore.WithCorrelationKeys(src.CorrelationKeys()...))
	st.Ingest(spanstore.ToTraces(src.Spans(spanstore.Filter{})), spanstore.Origin{Sender: "snapshot"})
	return frozen{st, src.Stats()}
}
