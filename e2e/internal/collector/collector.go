// Package collector builds and runs the project's OpenTelemetry Collector
// (e2e/otelcol, binary otelcol-traceproof) as a child process for tests.
//
// End-to-end tests use it to put a real Collector between the workers and
// the test's sink, as a cluster deployment does: workers export OTLP to the
// Collector's receivers (GRPCEndpoint, HTTPEndpoint), and the Collector
// forwards to the sink named by Config.SinkEndpoint using the repo's
// collector-config.yaml.
//
// The package uses only the standard library and talks to the Collector as a
// process, so the root module never depends on the Collector's modules (they
// live in e2e/otelcol's own go.mod).
package collector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/traceproof/traceproof/internal/proc"
)

// readyLine is what the Collector's service logs once every pipeline and
// receiver has started.
const readyLine = "Everything is ready"

// Environment variables collector-config.yaml and bench-nop.yaml read.
const (
	EnvGRPCEndpoint = "TRACEPROOF_COLLECTOR_GRPC_ENDPOINT"
	EnvHTTPEndpoint = "TRACEPROOF_COLLECTOR_HTTP_ENDPOINT"
	EnvSinkEndpoint = "TRACEPROOF_SINK_ENDPOINT"
	EnvSinkToken    = "TRACEPROOF_SINK_TOKEN"
)

// tokenOverlay merges the sink's bearer token into collector-config.yaml's
// exporter. It is a second --config rather than a line in the file so that
// no header at all is sent when there is no token. The Collector, not a
// shell, expands ${env:...}, which keeps the token out of the command line.
const tokenOverlay = `yaml:exporters::otlp_grpc/sink::headers::authorization: "Bearer ${env:` + EnvSinkToken + `}"`

const (
	defaultReadyTimeout = 60 * time.Second
	defaultStopTimeout  = 10 * time.Second
	startAttempts       = 3
	keptLogLines        = 2000
)

// Config says which Collector to run and where it sends data.
type Config struct {
	// BinPath is the otelcol-traceproof binary; empty means Build(ctx).
	BinPath string
	// ConfigPath is the Collector config; empty means the repo's
	// collector-config.yaml. Whatever file it is should take its receiver
	// endpoints from TRACEPROOF_COLLECTOR_GRPC_ENDPOINT and
	// TRACEPROOF_COLLECTOR_HTTP_ENDPOINT, as both repo configs do.
	ConfigPath string
	// SinkEndpoint is host:port of the sink's OTLP/gRPC listener, passed as
	// TRACEPROOF_SINK_ENDPOINT. Required with the default config.
	SinkEndpoint string
	// SinkToken, if set, makes the Collector send "Authorization: Bearer
	// SinkToken" to the sink (only meaningful with the default config).
	SinkToken string
	// Dir receives the Collector's log as otelcol-*.log; empty keeps the
	// log in memory only (LogTail).
	Dir string
	// Env adds "KEY=value" entries to the Collector's environment (after
	// this process's own, so they win).
	Env []string
	// ReadyTimeout bounds the wait for the Collector to report ready;
	// default 60s, times TRACEPROOF_TIMEOUT_SCALE.
	ReadyTimeout time.Duration
}

// Collector is a running otelcol-traceproof process.
type Collector struct {
	cmd      *exec.Cmd
	grpcAddr string
	httpAddr string
	logPath  string
	log      *proc.LineRing

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // cmd.Wait's result, readable after exited

	stopOnce sync.Once
	stopErr  error
}

// GRPCEndpoint returns host:port of the Collector's OTLP/gRPC receiver.
func (c *Collector) GRPCEndpoint() string { return c.grpcAddr }

// HTTPEndpoint returns the base URL (http://host:port) of the Collector's
// OTLP/HTTP receiver; signals go to /v1/traces, /v1/metrics, /v1/logs.
func (c *Collector) HTTPEndpoint() string { return "http://" + c.httpAddr }

// LogPath returns the file holding the Collector's output, or "" when
// Config.Dir was empty.
func (c *Collector) LogPath() string { return c.logPath }

// LogTail returns the last n lines of the Collector's output (stdout and
// stderr, interleaved as written); n <= 0 returns every line kept in memory
// (the last 2000).
func (c *Collector) LogTail(n int) string { return c.log.Tail(n) }

// Done is closed when the Collector process has exited, whether by Stop or
// on its own.
func (c *Collector) Done() <-chan struct{} { return c.exited }

// Pid returns the Collector's process id.
func (c *Collector) Pid() int { return c.cmd.Process.Pid }

// errPortTaken marks a start that failed because a picked port was taken
// between picking it and the Collector binding it.
var errPortTaken = errors.New("collector: receiver port already in use")

// Start runs the Collector and returns once it reports ready (the
// "Everything is ready" log line) and its gRPC receiver accepts
// connections, or fails with the log tail once ctx is done, ReadyTimeout
// passes, or the process exits.
//
// Each start gets fresh free loopback ports for the receivers, so any
// number of Collectors can run at once. A port can be taken by someone else
// between picking and binding it; Start then tries again with new ports, a
// few times.
func Start(ctx context.Context, cfg Config) (*Collector, error) {
	if cfg.BinPath == "" {
		p, err := Build(ctx)
		if err != nil {
			return nil, err
		}
		cfg.BinPath = p
	}
	if cfg.ConfigPath == "" {
		p, err := DefaultConfigPath()
		if err != nil {
			return nil, err
		}
		if cfg.SinkEndpoint == "" {
			return nil, errors.New("collector: Config.SinkEndpoint is required with collector-config.yaml (the sink's OTLP/gRPC host:port)")
		}
		cfg.ConfigPath = p
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = defaultReadyTimeout
	}
	cfg.ReadyTimeout = scaled(cfg.ReadyTimeout)

	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var c *Collector
		c, err = startOnce(ctx, cfg, attempt)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func startOnce(ctx context.Context, cfg Config, attempt int) (*Collector, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	c := &Collector{
		grpcAddr: ports[0],
		httpAddr: ports[1],
		log:      proc.NewLineRing(keptLogLines),
		exited:   make(chan struct{}),
	}

	args := []string{"--config", cfg.ConfigPath}
	env := append(os.Environ(),
		EnvGRPCEndpoint+"="+c.grpcAddr,
		EnvHTTPEndpoint+"="+c.httpAddr,
		EnvSinkEndpoint+"="+cfg.SinkEndpoint,
	)
	if cfg.SinkToken != "" {
		args = append(args, "--config", tokenOverlay)
		env = append(env, EnvSinkToken+"="+cfg.SinkToken)
	}
	env = append(env, cfg.Env...)

	// Not exec.CommandContext: ctx bounds the start, not the Collector's
	// life, which Stop ends.
	cmd := exec.Command(cfg.BinPath, args...)
	cmd.Env = env
	cmd.SysProcAttr = proc.SysProcAttr()
	c.cmd = cmd

	// One pipe for stdout and stderr: the Collector logs to stderr and the
	// debug exporter may write to stdout, and the tail is most useful with
	// both in the order they were written.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	cmd.Stdout = pw
	cmd.Stderr = pw

	var logFile *os.File
	if cfg.Dir != "" {
		logFile, err = os.CreateTemp(cfg.Dir, "otelcol-*.log")
		if err != nil {
			pr.Close()
			pw.Close()
			return nil, fmt.Errorf("collector log: %w", err)
		}
		c.logPath = logFile.Name()
	}

	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		if logFile != nil {
			logFile.Close()
		}
		return nil, fmt.Errorf("collector: starting %s: %w", cfg.BinPath, err)
	}
	// The child has its copy; closing ours lets the reader see EOF when the
	// Collector exits.
	pw.Close()

	ready := make(chan struct{})
	logDone := make(chan struct{})
	go c.readLog(pr, logFile, ready, logDone)
	go func() {
		err := cmd.Wait()
		// Reap first, then wait for the reader to drain the pipe, so that
		// whoever sees exited closed also sees the complete log.
		<-logDone
		c.waitErr = err
		close(c.exited)
	}()

	timer := time.NewTimer(cfg.ReadyTimeout)
	defer timer.Stop()
	fail := func(reason string) (*Collector, error) {
		_ = c.Stop(context.Background())
		err := fmt.Errorf("collector (attempt %d, grpc %s, http %s, config %s): %s\n--- collector log tail ---\n%s",
			attempt, c.grpcAddr, c.httpAddr, cfg.ConfigPath, reason, c.LogTail(40))
		if c.log.Contains("address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	select {
	case <-ready:
	case <-c.exited:
		return fail(fmt.Sprintf("exited before it was ready: %v", c.waitErr))
	case <-timer.C:
		return fail(fmt.Sprintf("not ready after %v (no %q log line)", cfg.ReadyTimeout, readyLine))
	case <-ctx.Done():
		return fail(fmt.Sprintf("start abandoned: %v", ctx.Err()))
	}

	// The ready line comes after every receiver has started, so this dial
	// succeeds at once; it guards against a config that logs ready without
	// listening where we told it to (e.g. a ConfigPath with fixed ports).
	d := net.Dialer{Timeout: scaled(5 * time.Second)}
	conn, err := d.DialContext(ctx, "tcp", c.grpcAddr)
	if err != nil {
		return fail(fmt.Sprintf("reported ready but its gRPC receiver does not accept connections: %v", err))
	}
	conn.Close()
	return c, nil
}

// readLog copies the Collector's output line by line to the ring (and the
// log file), and closes ready at the first readyLine. It returns at EOF,
// which comes when the process (the pipe's only writer) exits.
func (c *Collector) readLog(r io.ReadCloser, file *os.File, ready, done chan struct{}) {
	defer close(done)
	defer r.Close()
	if file != nil {
		defer file.Close()
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	isReady := false
	for sc.Scan() {
		line := sc.Text()
		c.log.Add(line)
		if file != nil {
			_, _ = file.WriteString(line + "\n")
		}
		if !isReady && strings.Contains(line, readyLine) {
			isReady = true
			close(ready)
		}
	}
	// A line over 1 MiB stops the scanner; keep draining so the Collector
	// never blocks writing to a full pipe.
	if sc.Err() != nil {
		c.log.Add("[collector package: log line too long, rest of the output not kept: " + sc.Err().Error() + "]")
		_, _ = io.Copy(io.Discard, r)
	}
}

// Stop ends the Collector: SIGTERM (it drains its pipelines and exits), then
// SIGKILL if it has not exited when ctx is done or, without a ctx deadline,
// after 10s (times TRACEPROOF_TIMEOUT_SCALE). It returns nil when the
// Collector exited cleanly after SIGTERM. Calling Stop again returns the
// first result.
func (c *Collector) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Collector) stop(ctx context.Context) error {
	select {
	case <-c.exited:
		return c.exitedOnItsOwn()
	default:
	}
	if err := proc.SignalGroup(c.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		_ = c.cmd.Process.Kill()
	}
	var deadline <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		t := time.NewTimer(scaled(defaultStopTimeout))
		defer t.Stop()
		deadline = t.C
	}
	select {
	case <-c.exited:
		if c.waitErr != nil && !killedBy(c.waitErr, syscall.SIGTERM) {
			return fmt.Errorf("collector exited with %v after SIGTERM\n--- collector log tail ---\n%s", c.waitErr, c.LogTail(20))
		}
		return nil
	case <-ctx.Done():
	case <-deadline:
	}
	_ = proc.SignalGroup(c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
	return fmt.Errorf("collector did not exit after SIGTERM; killed\n--- collector log tail ---\n%s", c.LogTail(20))
}

// killedBy reports whether err is an exit by sig. The Collector installs
// its SIGTERM handler only after it has logged ready, so a Stop right after
// Start can end it by the signal's default action; that is still the stop
// we asked for, and in that window it can hardly have received data.
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// exitedOnItsOwn reports a Collector that was gone before Stop asked it to
// go: any exit then is unexpected, even a clean one.
func (c *Collector) exitedOnItsOwn() error {
	if c.waitErr != nil {
		return fmt.Errorf("collector had already exited: %v\n--- collector log tail ---\n%s", c.waitErr, c.LogTail(20))
	}
	return fmt.Errorf("collector had already exited (status 0)\n--- collector log tail ---\n%s", c.LogTail(20))
}

// StartTB is Start for tests: it fails tb when the Collector does not start,
// writes the log into tb.TempDir() unless cfg.Dir is set, stops the
// Collector in tb.Cleanup, and prints the log tail there if tb failed.
func StartTB(tb testing.TB, cfg Config) *Collector {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
	}
	ctx := context.Background()
	if cfg.BinPath == "" {
		// Building may take minutes on a cold cache; it has no deadline of
		// its own beyond go test's -timeout.
		p, err := Build(ctx)
		if err != nil {
			tb.Fatalf("building the collector: %v", err)
		}
		cfg.BinPath = p
	}
	c, err := Start(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		err := c.Stop(context.Background())
		if tb.Failed() {
			tb.Logf("collector log (%s), last lines:\n%s", c.LogPath(), c.LogTail(50))
		}
		if err != nil {
			tb.Errorf("stopping the collector: %v", err)
		}
	})
	return c
}

// freePorts returns n distinct free loopback host:port pairs. The listeners
// are held until all are chosen, so the n ports differ; after closing them
// another process could take one, which Start handles by retrying.
func freePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("collector: picking a free port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// scaled multiplies d by TRACEPROOF_TIMEOUT_SCALE (slow CI), when it is a
// positive number.
func scaled(d time.Duration) time.Duration {
	s := os.Getenv("TRACEPROOF_TIMEOUT_SCALE")
	if s == "" {
		return d
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return d
	}
	return time.Duration(float64(d) * f)
}
