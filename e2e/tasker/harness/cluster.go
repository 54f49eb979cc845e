// Package harness starts the reference tasker system (see ../cmd/tasker) as
// separate OS processes over one shared SQLite database, and talks to it.
//
// Typical use in a test:
//
//	c := harness.StartTB(t, harness.Config{Mode: harness.ModeCluster, Env: sinkEnv})
//	task, err := c.Client().CreateTask(ctx, harness.DomainEventTask("rust", corrID, false))
//
// Waiting for a task to finish is done through its spans (finalize_task) or,
// without telemetry, through Client.WaitFinal (a server-side long-poll).
package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// Modes.
const (
	ModeSingle  = "single"  // 1 orchestration + 1 worker per flavour
	ModeCluster = "cluster" // 2 orchestration + 2 workers per flavour
)

// Roles.
const (
	RoleOrchestration = "orchestration"
	RoleWorker        = "worker"
)

// Config says what to start.
type Config struct {
	Mode     string   // ModeSingle (default) or ModeCluster
	Flavours []string // worker flavours; default all: rust, ruby, python
	BinPath  string   // the tasker binary (see Build, BuildOnce)
	Dir      string   // holds tasker.db and one log per instance; required
	// Env returns extra environment for one process, e.g. the sink's OTLP
	// endpoint. Flavour is "" for orchestration. Inherited OTEL_* variables
	// are dropped; OTEL_RESOURCE_ATTRIBUTES always gets
	// service.instance.id=<instanceID>.
	Env func(role, instanceID, flavour string) []string
	// Replicas overrides the number of instances of each service (each
	// flavour's workers, and orchestration). Zero: 1 single, 2 cluster.
	Replicas int
	// Args adds command-line flags for one process (e.g. --log-level debug).
	Args func(role, instanceID, flavour string) []string
	// StartTimeout bounds starting every process and seeing it healthy.
	// Zero: 60s (times TRACEPROOF_TIMEOUT_SCALE).
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	// Zero: 15s (times TRACEPROOF_TIMEOUT_SCALE).
	StopTimeout time.Duration
	// Bugs makes the workers inject publishing bugs on purpose (BugEnv);
	// InjectedBug says which tasks they hit. The zero plan leaves BugEnv as
	// inherited.
	Bugs BugPlan
}

// Instance is one started process.
type Instance struct {
	ID      string // e.g. orchestration-1, worker-rust-2
	Role    string // RoleOrchestration or RoleWorker
	Flavour string // worker flavour; "" for orchestration
	URL     string // http://127.0.0.1:PORT
	LogPath string // its stderr (and stdout, prefixed "# stdout: ")
	PID     int
}

// Cluster is a running tasker system.
type Cluster struct {
	cfg   Config
	db    string
	procs []*process

	stopOnce sync.Once
	stopErr  error
}

func (cfg *Config) normalize() error {
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeSingle
	case ModeSingle, ModeCluster:
	default:
		return fmt.Errorf("harness: unknown mode %q", cfg.Mode)
	}
	if len(cfg.Flavours) == 0 {
		cfg.Flavours = workflow.Flavours()
	}
	for _, f := range cfg.Flavours {
		if _, ok := workflow.NamespaceFor(f); !ok {
			return fmt.Errorf("harness: unknown flavour %q", f)
		}
	}
	if cfg.BinPath == "" {
		return errors.New("harness: Config.BinPath is required (see BuildOnce)")
	}
	if cfg.Dir == "" {
		return errors.New("harness: Config.Dir is required")
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
		if cfg.Mode == ModeCluster {
			cfg.Replicas = 2
		}
	}
	if cfg.Bugs.BothInstances > 0 && cfg.Replicas < 2 {
		return fmt.Errorf("harness: the both_instances bug needs two worker instances per flavour; %s mode with %d replica(s) runs one",
			cfg.Mode, cfg.Replicas)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = scale(60 * time.Second)
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = scale(15 * time.Second)
	}
	return nil
}

// plan lists the instances to start, orchestration first.
func (cfg *Config) plan() []Instance {
	var out []Instance
	for i := 1; i <= cfg.Replicas; i++ {
		out = append(out, Instance{ID: fmt.Sprintf("orchestration-%d", i), Role: RoleOrchestration})
	}
	for _, f := range cfg.Flavours {
		for i := 1; i <= cfg.Replicas; i++ {
			out = append(out, Instance{ID: fmt.Sprintf("worker-%s-%d", f, i), Role: RoleWorker, Flavour: f})
		}
	}
	return out
}

// Start starts every process at once, waits for each LISTENING line and a
// healthy /health, and returns the running cluster. On any failure it stops
// what it started and returns an error with the failing process's log tail.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, db: filepath.Join(cfg.Dir, "tasker.db")}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()

	plan := cfg.plan()
	c.procs = make([]*process, len(plan))
	errs := make([]error, len(plan))
	var wg sync.WaitGroup
	for i, inst := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.procs[i], errs[i] = c.startOne(ctx, inst)
		}()
	}
	wg.Wait()

	var failed []string
	for i, err := range errs {
		if err == nil {
			continue
		}
		msg := err.Error()
		if p := c.procs[i]; p != nil {
			msg += fmt.Sprintf("\n--- %s log tail (%s) ---\n%s", p.inst.ID, p.inst.LogPath, p.tail(40))
		}
		failed = append(failed, msg)
	}
	if len(failed) > 0 {
		c.procs = slices.DeleteFunc(c.procs, func(p *process) bool { return p == nil })
		stopCtx, stopCancel := context.WithTimeout(context.Background(), cfg.StopTimeout)
		defer stopCancel()
		_ = c.Stop(stopCtx)
		return nil, fmt.Errorf("harness: starting tasker %s cluster failed:\n%s", cfg.Mode, strings.Join(failed, "\n"))
	}
	return c, nil
}

func (c *Cluster) startOne(ctx context.Context, inst Instance) (*process, error) {
	inst.LogPath = filepath.Join(c.cfg.Dir, inst.ID+".log")
	args := []string{inst.Role, "--db", c.db, "--listen", "127.0.0.1:0", "--instance-id", inst.ID}
	if inst.Role == RoleWorker {
		args = append(args, "--flavour", inst.Flavour)
	}
	if c.cfg.Args != nil {
		args = append(args, c.cfg.Args(inst.Role, inst.ID, inst.Flavour)...)
	}
	var extra []string
	if inst.Role == RoleWorker && c.cfg.Bugs.Enabled() {
		extra = append(extra, BugEnv+"="+c.cfg.Bugs.String())
	}
	if c.cfg.Env != nil {
		extra = append(extra, c.cfg.Env(inst.Role, inst.ID, inst.Flavour)...)
	}
	p, err := startProcess(c.cfg.BinPath, inst, args, childEnv(os.Environ(), inst.ID, extra))
	if err != nil {
		return nil, err
	}
	url, err := p.waitListening(ctx)
	if err != nil {
		return p, err
	}
	p.inst.URL = url
	if err := waitHealthy(ctx, p); err != nil {
		return p, err
	}
	return p, nil
}

// waitHealthy asks /health until it answers 200 with this instance's id.
// The server already listens when LISTENING is printed, so this normally
// succeeds at once; retries only cover a slow start.
func waitHealthy(ctx context.Context, p *process) error {
	client := &Client{HTTP: &http.Client{Timeout: 5 * time.Second}}
	backoff := 5 * time.Millisecond
	for {
		h, err := client.Health(ctx, p.inst.URL)
		if err == nil && h.Status == "ok" && h.InstanceID == p.inst.ID {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("unexpected health %+v", h)
		}
		if p.exited() {
			return fmt.Errorf("%s exited before it was healthy: %s", p.inst.ID, p.status())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s: %w (%v)", p.inst.ID, p.inst.URL, ctx.Err(), err)
		case <-p.done:
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// StartTB starts a cluster for a test: it builds the binary if cfg.BinPath
// is empty, uses tb.TempDir() if cfg.Dir is empty, fails tb if starting
// fails, and stops the cluster in tb.Cleanup (logging every process's log
// tail if the test failed, and failing it if a process did not stop
// cleanly).
func StartTB(tb testing.TB, cfg Config) *Cluster {
	tb.Helper()
	if cfg.BinPath == "" {
		cfg.BinPath = BuildOnce(tb)
	}
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
	}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.cfg.StopTimeout)
		defer cancel()
		err := c.Stop(ctx)
		if tb.Failed() || err != nil {
			tb.Logf("tasker process logs:\n%s", c.LogTail(40))
		}
		if err != nil {
			tb.Errorf("stopping tasker cluster: %v", err)
		}
	})
	return c
}

// Stop sends SIGTERM to every process, waits for them to exit (until the
// earlier of ctx's deadline and Config.StopTimeout), then SIGKILLs the rest.
// It returns an error naming every process that did not exit 0 on SIGTERM
// (including ones that had died earlier). Calling it again returns the same
// result.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		deadline := time.Now().Add(c.cfg.StopTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		errs := make([]error, len(c.procs))
		var wg sync.WaitGroup
		for i, p := range c.procs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = p.stop(deadline) }()
		}
		wg.Wait()
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// Instances lists every process, orchestration first.
func (c *Cluster) Instances() []Instance {
	out := make([]Instance, len(c.procs))
	for i, p := range c.procs {
		out[i] = p.inst
	}
	return out
}

// OrchestrationURLs are the base URLs of the orchestration instances.
func (c *Cluster) OrchestrationURLs() []string {
	var out []string
	for _, p := range c.procs {
		if p.inst.Role == RoleOrchestration {
			out = append(out, p.inst.URL)
		}
	}
	return out
}

// WorkerURLs are the base URLs of one flavour's workers.
func (c *Cluster) WorkerURLs(flavour string) []string {
	var out []string
	for _, p := range c.procs {
		if p.inst.Role == RoleWorker && p.inst.Flavour == flavour {
			out = append(out, p.inst.URL)
		}
	}
	return out
}

// Client returns a client spreading requests over every orchestration
// instance.
func (c *Cluster) Client() *Client { return NewClient(c.OrchestrationURLs()...) }

// DBPath is the shared database file.
func (c *Cluster) DBPath() string { return c.db }

// Mode is the mode the cluster was started in.
func (c *Cluster) Mode() string { return c.cfg.Mode }

// TestEnv returns the URLs in the variables the real system's tests read:
// TASKER_TEST_ORCHESTRATION_URLS and TASKER_TEST_WORKER_{RUST,RUBY,PYTHON}_URLS
// (comma separated).
func (c *Cluster) TestEnv() []string {
	env := []string{"TASKER_TEST_ORCHESTRATION_URLS=" + strings.Join(c.OrchestrationURLs(), ",")}
	for _, f := range c.cfg.Flavours {
		env = append(env, fmt.Sprintf("TASKER_TEST_WORKER_%s_URLS=%s", strings.ToUpper(f), strings.Join(c.WorkerURLs(f), ",")))
	}
	return env
}

// LogTail returns the last n lines of every process's log, each block
// labelled with the instance, its pid and whether it is still running.
func (c *Cluster) LogTail(n int) string {
	var sb strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&sb, "--- %s (%s, pid %d, %s) %s ---\n", p.inst.ID, p.inst.URL, p.inst.PID, p.status(), p.inst.LogPath)
		sb.WriteString(p.tail(n))
	}
	return sb.String()
}
