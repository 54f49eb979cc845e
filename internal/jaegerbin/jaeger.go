package jaegerbin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// readyLine is what Jaeger (an OpenTelemetry Collector distribution) logs
// once every extension, pipeline and receiver has started.
const readyLine = "Everything is ready"

const (
	defaultReadyTimeout = 60 * time.Second
	defaultStopTimeout  = 10 * time.Second
	defaultMaxTraces    = 100_000
	startAttempts       = 3
	keptLogLines        = 2000
)

// Config says how to run Jaeger.
type Config struct {
	// BinPath is the Jaeger v2 binary; empty means Build(ctx).
	BinPath string
	// Dir receives the generated config and Jaeger's log (jaeger-*.yaml,
	// jaeger-*.log); empty means os.TempDir() for the config and the log in
	// memory only (LogTail).
	Dir string
	// MaxTraces caps the in-memory store (default 100,000, as all-in-one).
	MaxTraces int
	// ReadyTimeout bounds the wait for Jaeger to report ready; default 60s,
	// times TRACEPROOF_TIMEOUT_SCALE.
	ReadyTimeout time.Duration
}

// Jaeger is a running Jaeger v2 process with in-memory storage, listening
// on loopback only: OTLP/gRPC and OTLP/HTTP receivers, and the query
// service (HTTP API and UI, gRPC API) over what it stored.
type Jaeger struct {
	cmd                  *exec.Cmd
	otlpGRPC, otlpHTTP   string
	queryHTTP, queryGRPC string
	configPath, logPath  string
	log                  *proc.LineRing

	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// OTLPGRPCAddr is host:port of the OTLP/gRPC receiver.
func (j *Jaeger) OTLPGRPCAddr() string { return j.otlpGRPC }

// OTLPHTTPURL is the base URL of the OTLP/HTTP receiver (signals go to
// /v1/traces).
func (j *Jaeger) OTLPHTTPURL() string { return "http://" + j.otlpHTTP }

// QueryURL is the base URL of the query service: the api_v3 HTTP API under
// /api/v3 and the UI at /.
func (j *Jaeger) QueryURL() string { return "http://" + j.queryHTTP }

// ConfigPath is the config file Jaeger runs with.
func (j *Jaeger) ConfigPath() string { return j.configPath }

// LogPath is the file holding Jaeger's output, or "" when Config.Dir was
// empty.
func (j *Jaeger) LogPath() string { return j.logPath }

// LogTail returns the last n lines of Jaeger's output (all kept when n <= 0).
func (j *Jaeger) LogTail(n int) string { return j.log.Tail(n) }

// Done is closed when the process has exited.
func (j *Jaeger) Done() <-chan struct{} { return j.exited }

// configTemplate is Jaeger v1.76.0's all-in-one pipeline (OTLP receiver,
// batch processor, storage exporter, in-memory storage, query service) with
// every listener on a 127.0.0.1 port chosen by Start, OTLP metrics and logs
// accepted and dropped, and nothing else: no
// Jaeger or Zipkin receivers, sampling, health check, expvar, zpages or
// metrics endpoint, each of which would open a fixed port of its own.
const configTemplate = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
    # Workers export metrics and logs to the same endpoint; Jaeger keeps
    # traces only, but answering "unimplemented" would fail their flush.
    metrics:
      receivers: [otlp]
      exporters: [nop]
    logs:
      receivers: [otlp]
      exporters: [nop]
  telemetry:
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_query:
    # Jaeger would otherwise trace its own queries to an OTLP endpoint on
    # localhost:4317, which may be a test's sink.
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: "%[3]s"
    grpc:
      endpoint: "%[4]s"
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: %[5]d

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "%[1]s"
      http:
        endpoint: "%[2]s"

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
  nop:
`

var errPortTaken = errors.New("jaeger: a picked port was already in use")

// Start runs Jaeger on fresh free loopback ports and returns once it logged
// ready and its query API answers, or fails with the log tail once ctx is
// done, ReadyTimeout passes, or the process exits. A port taken by someone
// else between picking and binding it makes Start try again with new ports,
// a few times.
func Start(ctx context.Context, cfg Config) (*Jaeger, error) {
	if cfg.BinPath == "" {
		info, err := Build(ctx)
		if err != nil {
			return nil, err
		}
		cfg.BinPath = info.Path
	}
	if cfg.MaxTraces <= 0 {
		cfg.MaxTraces = defaultMaxTraces
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = defaultReadyTimeout
	}
	cfg.ReadyTimeout = scaled(cfg.ReadyTimeout)
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var j *Jaeger
		if j, err = startOnce(ctx, cfg, attempt); err == nil {
			return j, nil
		}
		if !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func startOnce(ctx context.Context, cfg Config, attempt int) (*Jaeger, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	j := &Jaeger{
		otlpGRPC: ports[0], otlpHTTP: ports[1], queryHTTP: ports[2], queryGRPC: ports[3],
		log:    proc.NewLineRing(keptLogLines),
		exited: make(chan struct{}),
	}
	dir := cfg.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	cf, err := os.CreateTemp(dir, "jaeger-*.yaml")
	if err != nil {
		return nil, fmt.Errorf("jaeger config: %w", err)
	}
	j.configPath = cf.Name()
	_, err = fmt.Fprintf(cf, configTemplate, j.otlpGRPC, j.otlpHTTP, j.queryHTTP, j.queryGRPC, cfg.MaxTraces)
	if cerr := cf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("jaeger config: %w", err)
	}
	if cfg.Dir == "" {
		defer os.Remove(j.configPath) // read at startup only
	}

	// Not exec.CommandContext: ctx bounds the start, Stop ends the process.
	cmd := exec.Command(cfg.BinPath, "--config", j.configPath)
	cmd.SysProcAttr = proc.SysProcAttr()
	j.cmd = cmd
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("jaeger: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	var logFile *os.File
	if cfg.Dir != "" {
		if logFile, err = os.CreateTemp(cfg.Dir, "jaeger-*.log"); err != nil {
			pr.Close()
			pw.Close()
			return nil, fmt.Errorf("jaeger log: %w", err)
		}
		j.logPath = logFile.Name()
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		if logFile != nil {
			logFile.Close()
		}
		return nil, fmt.Errorf("jaeger: starting %s: %w", cfg.BinPath, err)
	}
	pw.Close()

	ready := make(chan struct{})
	logDone := make(chan struct{})
	go j.readLog(pr, logFile, ready, logDone)
	go func() {
		err := cmd.Wait()
		<-logDone // whoever sees exited closed also sees the whole log
		j.waitErr = err
		close(j.exited)
	}()

	timer := time.NewTimer(cfg.ReadyTimeout)
	defer timer.Stop()
	fail := func(reason string) (*Jaeger, error) {
		_ = j.Stop(context.Background())
		err := fmt.Errorf("jaeger %s (attempt %d, otlp grpc %s, query %s, config %s): %s\n--- jaeger log tail ---\n%s",
			cfg.BinPath, attempt, j.otlpGRPC, j.queryHTTP, j.configPath, reason, j.LogTail(40))
		if j.log.Contains("address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	select {
	case <-ready:
	case <-j.exited:
		return fail(fmt.Sprintf("exited before it was ready: %v", j.waitErr))
	case <-timer.C:
		return fail(fmt.Sprintf("not ready after %v (no %q log line)", cfg.ReadyTimeout, readyLine))
	case <-ctx.Done():
		return fail(fmt.Sprintf("start abandoned: %v", ctx.Err()))
	}
	// The ready line comes after the query extension has started, so one
	// request must succeed.
	rctx, cancel := context.WithTimeout(ctx, scaled(5*time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, j.QueryURL()+"/api/v3/services", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(fmt.Sprintf("reported ready but its query API does not answer: %v", err))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Sprintf("reported ready but GET /api/v3/services answered %s", resp.Status))
	}
	return j, nil
}

func (j *Jaeger) readLog(r io.ReadCloser, file *os.File, ready, done chan struct{}) {
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
		j.log.Add(line)
		if file != nil {
			_, _ = file.WriteString(line + "\n")
		}
		if !isReady && strings.Contains(line, readyLine) {
			isReady = true
			close(ready)
		}
	}
	if sc.Err() != nil {
		j.log.Add("[jaegerbin: log line too long, rest of the output not kept: " + sc.Err().Error() + "]")
		_, _ = io.Copy(io.Discard, r) // never block Jaeger on a full pipe
	}
}

// Stop ends Jaeger: SIGTERM, then SIGKILL if it has not exited when ctx is
// done or, without a ctx deadline, after 10s (times
// TRACEPROOF_TIMEOUT_SCALE). Calling it again returns the first result.
func (j *Jaeger) Stop(ctx context.Context) error {
	j.stopOnce.Do(func() { j.stopErr = j.stop(ctx) })
	return j.stopErr
}

func (j *Jaeger) stop(ctx context.Context) error {
	select {
	case <-j.exited:
		return fmt.Errorf("jaeger had already exited: %v\n--- jaeger log tail ---\n%s", j.waitErr, j.LogTail(20))
	default:
	}
	if err := proc.SignalGroup(j.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		_ = j.cmd.Process.Kill()
	}
	var deadline <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		t := time.NewTimer(scaled(defaultStopTimeout))
		defer t.Stop()
		deadline = t.C
	}
	select {
	case <-j.exited:
		if j.waitErr != nil && !killedBy(j.waitErr, syscall.SIGTERM) {
			return fmt.Errorf("jaeger exited with %v after SIGTERM\n--- jaeger log tail ---\n%s", j.waitErr, j.LogTail(20))
		}
		return nil
	case <-ctx.Done():
	case <-deadline:
	}
	_ = proc.SignalGroup(j.cmd.Process.Pid, syscall.SIGKILL)
	<-j.exited
	return fmt.Errorf("jaeger did not exit after SIGTERM; killed\n--- jaeger log tail ---\n%s", j.LogTail(20))
}

// killedBy reports an exit by sig: a Stop right after Start can come before
// Jaeger installed its SIGTERM handler.
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// StartTB is Start for tests. It fails tb (never skips it) when Jaeger
// cannot be built or started, saying why; writes the config and log into
// tb.TempDir() unless cfg.Dir is set; and stops Jaeger in tb.Cleanup,
// printing the log tail there if tb failed.
func StartTB(tb testing.TB, cfg Config) *Jaeger {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
	}
	if cfg.BinPath == "" {
		info, err := Build(context.Background())
		if err != nil {
			tb.Fatalf("these tests run against a real Jaeger %s and could not build one (set %s to a prebuilt binary, or run go run ./internal/jaegerbin/buildjaeger): %v",
				Version, EnvBin, err)
		}
		cfg.BinPath = info.Path
	}
	j, err := Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		err := j.Stop(context.Background())
		if tb.Failed() {
			tb.Logf("jaeger log (%s), last lines:\n%s", j.LogPath(), j.LogTail(50))
		}
		if err != nil {
			tb.Errorf("stopping jaeger: %v", err)
		}
	})
	return j
}

// freePorts returns n distinct free loopback host:port pairs; the listeners
// are held until all are chosen.
func freePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("jaeger: picking a free port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// scaled multiplies d by TRACEPROOF_TIMEOUT_SCALE when it is a positive
// number.
func scaled(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv("TRACEPROOF_TIMEOUT_SCALE"), 64)
	if err != nil || f <= 0 {
		return d
	}
	return time.Duration(float64(d) * f)
}
