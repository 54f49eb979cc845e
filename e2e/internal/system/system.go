// Package system sets up what the end-to-end suite runs against: a sink the
// test owns and a workflow system exporting to it, either the reference
// system under e2e/tasker started as separate processes (single or cluster
// mode, directly, through a real OpenTelemetry Collector, into a real
// Jaeger read back through its query API, or into a `traceproof serve`
// process read through its remote API), or an external one named by
// environment variables.
package system

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/e2e/internal/collector"
	"github.com/traceproof/traceproof/e2e/tasker/harness"
	"github.com/traceproof/traceproof/fault"
	"github.com/traceproof/traceproof/internal/jaegerbin"
	"github.com/traceproof/traceproof/jaeger"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/remote"
)

// Environment variables that choose what the suite runs against.
const (
	EnvMode = "TRACEPROOF_E2E_MODE" // single | cluster (default)
	EnvVia  = "TRACEPROOF_E2E_VIA"  // direct (default) | collector | jaeger | remote
	// EnvFaults holds fault rules for the suite's sink, separated by ';'
	// (see faults.go): "traces first=2 -> unavailable; http traces first=2 -> 503".
	EnvFaults = "TRACEPROOF_E2E_FAULTS"

	// An external system: set the orchestration URL(s), and the worker URLs
	// of the flavours it runs; the suite then listens for spans on the sink
	// addresses below instead of starting anything.
	EnvOrchestrationURL  = "TASKER_TEST_ORCHESTRATION_URL"
	EnvOrchestrationURLs = "TASKER_TEST_ORCHESTRATION_URLS"
	EnvSinkGRPCAddr      = "TRACEPROOF_SINK_GRPC_ADDR"
	EnvSinkHTTPAddr      = "TRACEPROOF_SINK_HTTP_ADDR"
	EnvSinkToken         = "TRACEPROOF_SINK_TOKEN"

	// An external system whose spans go to a Jaeger: the assertions read
	// its query service (base URL) instead of listening on a sink, searching
	// the comma-separated services (default tasker-core). See
	// docs/staging.md.
	EnvJaegerURL      = "TRACEPROOF_JAEGER_URL"
	EnvJaegerServices = "TRACEPROOF_JAEGER_SERVICES"
)

// Modes and routes.
const (
	ModeSingle    = harness.ModeSingle
	ModeCluster   = harness.ModeCluster
	ViaDirect     = "direct"
	ViaCollector  = "collector"
	ViaJaeger     = "jaeger"
	ViaRemote     = "remote"
	externalLabel = "external"
)

// Config says what to run. The zero Config is the default: the built-in
// system in cluster mode, exporting directly to the sink.
type Config struct {
	Mode string
	Via  string
	// Dir holds the database and process logs of the built-in system.
	Dir string
	// Flavours restricts the worker flavours (default all three).
	Flavours []string
	// Faults are fault rules for the sink, applied to each instance of the
	// built-in system on its own (see faults.go).
	Faults []fault.Rule
}

// ConfigFromEnv reads EnvMode and EnvVia.
func ConfigFromEnv(dir string) (Config, error) {
	c := Config{Mode: os.Getenv(EnvMode), Via: os.Getenv(EnvVia), Dir: dir}
	if c.Mode == "" {
		c.Mode = ModeCluster
	}
	if c.Via == "" {
		c.Via = ViaDirect
	}
	if c.Mode != ModeSingle && c.Mode != ModeCluster {
		return c, fmt.Errorf("%s=%q: want %s or %s", EnvMode, c.Mode, ModeSingle, ModeCluster)
	}
	if c.Via != ViaDirect && c.Via != ViaCollector && c.Via != ViaJaeger && c.Via != ViaRemote {
		return c, fmt.Errorf("%s=%q: want %s, %s, %s or %s", EnvVia, c.Via, ViaDirect, ViaCollector, ViaJaeger, ViaRemote)
	}
	var err error
	c.Faults, err = parseFaults(os.Getenv(EnvFaults))
	return c, err
}

// System is a running system under test and the sink it exports to.
type System struct {
	Sink      *otlpsink.Sink
	Client    *harness.Client
	Cluster   *harness.Cluster     // nil for an external system
	Collector *collector.Collector // nil unless Via is collector
	Mode, Via string
	External  bool

	// Source is what assertions read: Sink; or JaegerSource when Via is
	// jaeger (the workers then export to Jaeger, and Sink stays empty); or,
	// when Via is remote, Remote, the API of the Serve process the workers
	// export to (Sink is nil then).
	Source assert.Source
	// Jaeger is the Jaeger the workers export to and JaegerSource the
	// source polling its query API, when Via is jaeger; JaegerBuild says
	// where its binary came from and how long finding or building it took.
	Jaeger       *jaegerbin.Jaeger
	JaegerSource *jaeger.Source
	JaegerBuild  jaegerbin.BuildInfo
	Remote       *remote.Source
	serve        *serveProcess

	flavours   []string
	workerURLs map[string][]string
	faults     []fault.Rule // as configured, for an external system
}

// Start starts the sink and, unless the environment names an external
// system, the reference system exporting to it. On error everything started
// is stopped again.
func Start(ctx context.Context, cfg Config) (s *System, err error) {
	s = &System{Mode: cfg.Mode, Via: cfg.Via, flavours: cfg.Flavours, workerURLs: map[string][]string{}, faults: cfg.Faults}
	if len(s.flavours) == 0 {
		s.flavours = harness.Flavours()
	}
	defer func() {
		if err != nil {
			_ = s.Stop(context.Background())
		}
	}()
	if urls := listEnv(EnvOrchestrationURLs, EnvOrchestrationURL); len(urls) > 0 {
		return s, s.startExternal(urls)
	}

	var grpcEndpoint, httpEndpoint string
	var extraEnv []string
	if cfg.Via == ViaRemote {
		if len(cfg.Faults) > 0 {
			return s, fmt.Errorf("%s cannot be combined with %s=%s: the faults are the in-process sink's", EnvFaults, EnvVia, ViaRemote)
		}
		if s.serve, err = startServe(ctx, cfg.Dir); err != nil {
			return s, err
		}
		if s.Remote, err = remote.Dial(s.serve.httpURL, s.serve.token); err != nil {
			return s, err
		}
		s.Source = s.Remote
		grpcEndpoint, httpEndpoint = "http://"+s.serve.grpcAddr, s.serve.httpURL
		extraEnv = append(extraEnv, s.serve.exporterHeaders())
	} else {
		s.Sink, err = otlpsink.New(otlpsink.WithFaults(perInstance(cfg.Faults, s.Mode, s.flavours)...))
		if err != nil {
			return s, err
		}
		s.Source = s.Sink
		grpcEndpoint, httpEndpoint = "http://"+s.Sink.GRPCAddr(), s.Sink.HTTPURL()
		if cfg.Via == ViaJaeger {
			// The sink stays up but receives nothing: the workers export
			// to Jaeger, and Source reads it back.
			grpcEndpoint, httpEndpoint, err = s.startJaeger(ctx, cfg.Dir)
			if err != nil {
				return s, err
			}
		}
	}
	if cfg.Via == ViaCollector {
		s.Collector, err = collector.Start(ctx, collector.Config{SinkEndpoint: s.Sink.GRPCAddr(), Dir: cfg.Dir})
		if err != nil {
			return s, fmt.Errorf("starting the Collector: %w", err)
		}
		grpcEndpoint, httpEndpoint = "http://"+s.Collector.GRPCEndpoint(), s.Collector.HTTPEndpoint()
	}
	bin, err := harness.Build(ctx, cfg.Dir)
	if err != nil {
		return s, fmt.Errorf("building the tasker system: %w", err)
	}
	s.Cluster, err = harness.Start(ctx, harness.Config{
		Mode:     cfg.Mode,
		Flavours: s.flavours,
		BinPath:  bin,
		Dir:      cfg.Dir,
		Env: func(role, instanceID, flavour string) []string {
			return append(exporterEnv(flavour, grpcEndpoint, httpEndpoint), extraEnv...)
		},
	})
	if err != nil {
		return s, fmt.Errorf("starting the tasker system: %w", err)
	}
	if err := s.checkPlanned(); err != nil {
		return s, err
	}
	s.Client = s.Cluster.Client()
	for _, f := range s.flavours {
		s.workerURLs[f] = s.Cluster.WorkerURLs(f)
	}
	return s, nil
}

// exporterEnv is how each process exports, as the real system does: the rust
// flavour and orchestration over gRPC, ruby over HTTP/protobuf, python over
// gRPC with gzip. The harness adds service.instance.id.
func exporterEnv(flavour, grpcEndpoint, httpEndpoint string) []string {
	protocol, endpoint := otlpsink.ProtocolGRPC, grpcEndpoint
	if flavour == "ruby" {
		protocol, endpoint = otlpsink.ProtocolHTTPProtobuf, httpEndpoint
	}
	env := otlpsink.ExporterEnvFor(endpoint, protocol, "")
	if flavour == "python" {
		env = append(env, "OTEL_EXPORTER_OTLP_COMPRESSION=gzip")
	}
	return env
}

func (s *System) startExternal(orchestration []string) error {
	s.External = true
	s.Mode, s.Via = externalLabel, externalLabel
	if u := os.Getenv(EnvJaegerURL); u != "" {
		if err := s.readExternalJaeger(u); err != nil {
			return err
		}
		return s.externalClient(orchestration)
	}
	var opts []otlpsink.Option
	opts = append(opts, otlpsink.WithGRPCAddr(envOr(EnvSinkGRPCAddr, "127.0.0.1:4317")),
		otlpsink.WithHTTPAddr(envOr(EnvSinkHTTPAddr, "127.0.0.1:4318")))
	if tok := os.Getenv(EnvSinkToken); tok != "" {
		opts = append(opts, otlpsink.WithToken(tok))
	}
	opts = append(opts, otlpsink.WithFaults(s.faults...))
	var err error
	if s.Sink, err = otlpsink.New(opts...); err != nil {
		return err
	}
	s.Source = s.Sink
	return s.externalClient(orchestration)
}

// externalClient points the client at an external system's orchestration
// and notes the worker flavours it runs.
func (s *System) externalClient(orchestration []string) error {
	s.Client = harness.NewClient(orchestration...)
	var present []string
	for _, f := range s.flavours {
		up := strings.ToUpper(f)
		if urls := listEnv("TASKER_TEST_WORKER_"+up+"_URLS", "TASKER_TEST_WORKER_"+up+"_URL"); len(urls) > 0 {
			s.workerURLs[f] = urls
			present = append(present, f)
		}
	}
	if len(present) == 0 {
		return errors.New("external system: set TASKER_TEST_WORKER_{RUST,RUBY,PYTHON}_URL(S) for the flavours it runs")
	}
	s.flavours = present
	return nil
}

// Flavours are the worker flavours the system runs.
func (s *System) Flavours() []string { return s.flavours }

// WorkerURLs are the base URLs of one flavour's worker instances.
func (s *System) WorkerURLs(flavour string) []string { return s.workerURLs[flavour] }

// Describe says in one line what runs.
func (s *System) Describe() string {
	if s.External && s.JaegerSource != nil {
		return fmt.Sprintf("external system at %s; spans read from Jaeger %s (polled; settle window %s)",
			strings.Join(listEnv(EnvOrchestrationURLs, EnvOrchestrationURL), ","), os.Getenv(EnvJaegerURL), s.JaegerSource.Settle())
	}
	if s.External {
		return fmt.Sprintf("external system at %s; sink grpc=%s http=%s", strings.Join(listEnv(EnvOrchestrationURLs, EnvOrchestrationURL), ","), s.Sink.GRPCAddr(), s.Sink.HTTPURL())
	}
	route := "workers → sink"
	if s.serve != nil {
		route = "workers → traceproof serve " + s.serve.httpURL + " (its own process) → assertions through its remote API"
	}
	if s.Collector != nil {
		route = "workers → Collector " + s.Collector.GRPCEndpoint() + " → sink"
	}
	if s.Jaeger != nil {
		how := "cached"
		if s.JaegerBuild.Built {
			how = "built in " + s.JaegerBuild.Took.Round(time.Second).String()
		}
		route = fmt.Sprintf("workers → Jaeger %s %s → assertions through %s/api/v3 (polled; settle window %s; binary %s, %s)",
			jaegerbin.Version, s.Jaeger.OTLPGRPCAddr(), s.Jaeger.QueryURL(), s.JaegerSource.Settle(), s.JaegerBuild.Path, how)
	}
	var ids []string
	for _, in := range s.Cluster.Instances() {
		ids = append(ids, in.ID)
	}
	return fmt.Sprintf("%s mode, %s; %d processes: %s", s.Mode, route, len(ids), strings.Join(ids, " "))
}

// LogTail returns the last n lines of every process log, for failure output.
func (s *System) LogTail(n int) string {
	var b strings.Builder
	if s.Cluster != nil {
		b.WriteString(s.Cluster.LogTail(n))
	}
	if s.Collector != nil {
		fmt.Fprintf(&b, "--- collector (%s)\n%s", s.Collector.LogPath(), s.Collector.LogTail(n))
	}
	if s.Jaeger != nil {
		fmt.Fprintf(&b, "--- jaeger (%s)\n%s", s.Jaeger.LogPath(), s.Jaeger.LogTail(n))
	}
	if s.serve != nil {
		fmt.Fprintf(&b, "--- traceproof serve (%s)\n%s", s.serve.logPath, s.serve.logTail(n))
	}
	return b.String()
}

// Stop stops the processes first (so their final telemetry flush reaches
// the sink), then the Collector, then the sink.
func (s *System) Stop(ctx context.Context) error {
	var errs []error
	if s.Cluster != nil {
		errs = append(errs, s.Cluster.Stop(ctx))
	}
	if s.Collector != nil {
		errs = append(errs, s.Collector.Stop(ctx))
	}
	if s.JaegerSource != nil {
		errs = append(errs, s.JaegerSource.Close())
	}
	if s.Jaeger != nil {
		errs = append(errs, s.Jaeger.Stop(ctx))
	}
	if s.Sink != nil {
		errs = append(errs, s.Sink.Close())
	}
	if s.Remote != nil {
		// What serve held at the end stays readable after it stops, as a
		// closed Sink's spans do (the summary reads them).
		s.Source = snapshot(s.Remote)
		// A request that failed may have been judged as no spans.
		errs = append(errs, s.Remote.Err())
		s.Remote.Close()
	}
	if s.serve != nil {
		errs = append(errs, s.serve.stop(ctx))
	}
	return errors.Join(errs...)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// listEnv reads a comma-separated list from the first variable that is set.
func listEnv(keys ...string) []string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			var out []string
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out
		}
	}
	return nil
}

// jaegerService is the service.name every process of the reference system
// reports (DESIGN.md): the one a Jaeger search needs.
const jaegerService = "tasker-core"

// startJaeger runs a Jaeger v2 (in-memory storage, loopback ports) for the
// workers to export to, and the source the assertions read it through,
// searching from now on. It returns Jaeger's OTLP endpoints.
func (s *System) startJaeger(ctx context.Context, dir string) (grpcEndpoint, httpEndpoint string, err error) {
	info, err := jaegerbin.Build(ctx)
	if err != nil {
		return "", "", fmt.Errorf("building Jaeger: %w", err)
	}
	s.JaegerBuild = info
	if s.Jaeger, err = jaegerbin.Start(ctx, jaegerbin.Config{BinPath: info.Path, Dir: dir}); err != nil {
		return "", "", fmt.Errorf("starting Jaeger: %w", err)
	}
	if s.JaegerSource, err = jaeger.New(jaeger.Config{URL: s.Jaeger.QueryURL(), Services: []string{jaegerService}}); err != nil {
		return "", "", err
	}
	s.Source = s.JaegerSource
	return "http://" + s.Jaeger.OTLPGRPCAddr(), s.Jaeger.OTLPHTTPURL(), nil
}

// readExternalJaeger makes Source a Jaeger source over the staging Jaeger at
// url, searching from now on.
func (s *System) readExternalJaeger(url string) error {
	services := listEnv(EnvJaegerServices)
	if len(services) == 0 {
		services = []string{jaegerService}
	}
	src, err := jaeger.New(jaeger.Config{URL: url, Services: services})
	if err != nil {
		return fmt.Errorf("%s: %w", EnvJaegerURL, err)
	}
	s.JaegerSource, s.Source = src, src
	return nil
}
