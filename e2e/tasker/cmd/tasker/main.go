// Command tasker is the reference multi-instance workflow system used by the
// end-to-end tests: one binary, one subcommand per service.
//
//	tasker orchestration --db PATH --listen 127.0.0.1:0 --instance-id orchestration-1
//	tasker worker --flavour rust|ruby|python --db PATH --listen 127.0.0.1:0 --instance-id worker-rust-1
//
// Each process prints exactly one line "LISTENING http://HOST:PORT" to stdout
// once its HTTP server listens, logs to stderr, and on SIGTERM/SIGINT stops
// gracefully, flushing its telemetry, and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/traceproof/traceproof/e2e/tasker/internal/bugs"
	"github.com/traceproof/traceproof/e2e/tasker/internal/telemetry"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

func usage(w io.Writer) {
	_, _ = fmt.Fprintf(w, `usage:
  tasker orchestration --db PATH [--listen ADDR] [--instance-id ID]
  tasker worker --flavour rust|ruby|python --db PATH [--listen ADDR] [--instance-id ID]
                [--inject-bug lost=F,duplicate=F,both_instances=F,seed=N]
`)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags shared by both subcommands.
type options struct {
	role        string
	flavour     string
	namespace   string
	db          string
	listen      string
	instanceID  string
	logLevel    string
	poll        time.Duration
	concurrency int
	stopTimeout time.Duration
	bugs        bugs.Plan // worker only: publishing bugs to inject
}

func parse(args []string, stderr io.Writer) (options, error) {
	if len(args) == 0 {
		usage(stderr)
		return options{}, errors.New("missing subcommand")
	}
	o := options{role: args[0]}
	fs := flag.NewFlagSet("tasker "+o.role, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.db, "db", "", "SQLite database file shared by all instances")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "HTTP listen address")
	fs.StringVar(&o.instanceID, "instance-id", "", "instance id (default: ROLE[-FLAVOUR]-PID)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&o.poll, "poll-interval", 10*time.Millisecond, "base poll interval (plus up to as much jitter)")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "graceful stop deadline")
	var bugSpec string
	switch o.role {
	case telemetry.RoleOrchestration:
	case telemetry.RoleWorker:
		fs.StringVar(&o.flavour, "flavour", "", "worker flavour: "+strings.Join(workflow.Flavours(), ", "))
		fs.IntVar(&o.concurrency, "concurrency", 4, "steps run at once")
		fs.StringVar(&bugSpec, "inject-bug", os.Getenv(bugs.EnvVar),
			"publishing bugs to inject on purpose, e.g. lost=0.25,duplicate=0.25,both_instances=0.25,seed=7 (default $"+bugs.EnvVar+")")
	case "-h", "--help", "help":
		usage(stderr)
		return options{}, flag.ErrHelp
	default:
		usage(stderr)
		return options{}, fmt.Errorf("unknown subcommand %q", o.role)
	}
	err := fs.Parse(args[1:])
	if err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.db == "" {
		return options{}, errors.New("--db is required")
	}
	if o.role == telemetry.RoleWorker {
		ns, ok := workflow.NamespaceFor(o.flavour)
		if !ok {
			return options{}, fmt.Errorf("--flavour must be one of %s, not %q", strings.Join(workflow.Flavours(), ", "), o.flavour)
		}
		o.namespace = ns
		if o.bugs, err = bugs.Parse(bugSpec); err != nil {
			return options{}, fmt.Errorf("--inject-bug (default $%s): %w", bugs.EnvVar, err)
		}
	}
	if o.instanceID == "" {
		parts := []string{o.role}
		if o.flavour != "" {
			parts = append(parts, o.flavour)
		}
		o.instanceID = fmt.Sprintf("%s-%d", strings.Join(parts, "-"), os.Getpid())
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "tasker:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		_, _ = fmt.Fprintln(stderr, "tasker: --log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).
		With("instance_id", o.instanceID, "role", o.role)
	if o.flavour != "" {
		log = log.With("flavour", o.flavour)
	}
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, o, log, stdout); err != nil {
		log.Error("exiting", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
