// Package worker runs workflow steps of one namespace: it polls the shared
// database for claimable steps, claims each one atomically, runs its handler,
// publishes the step's domain events and records the result.
package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/traceproof/traceproof/e2e/tasker/internal/bugs"
	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
)

const instrumentationName = "github.com/traceproof/traceproof/e2e/tasker/internal/worker"

// Config configures a Worker.
type Config struct {
	InstanceID     string
	Namespace      string
	Store          *store.Store
	TracerProvider trace.TracerProvider // nil: no-op
	MeterProvider  metric.MeterProvider // nil: no-op
	Logger         *slog.Logger
	// PollInterval is the base poll interval; each wait adds up to the same
	// again as random jitter. Zero means 10ms.
	PollInterval time.Duration
	// Concurrency is how many steps run at once. Zero means 4.
	Concurrency int
	// Bugs injects publishing bugs into the tasks it selects (see package
	// bugs); the zero Plan injects none.
	Bugs bugs.Plan
}

// Worker executes the steps of one namespace.
type Worker struct {
	cfg      Config
	store    *store.Store
	router   *events.Router
	tracer   trace.Tracer
	log      *slog.Logger
	executed metric.Int64Counter
}

// New returns a worker with its own event router and in-process bus (with a
// no-op subscriber, like a worker with no in-process handlers registered).
func New(cfg Config) *Worker {
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = tracenoop.NewTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = metricnoop.NewMeterProvider()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	bus := events.NewBus()
	bus.Subscribe("*", func(context.Context, events.Message) error { return nil })
	st := cfg.Store
	queue := events.QueueFunc(func(ctx context.Context, queue string, m events.QueueMessage) error {
		_, err := st.SendJSONMessage(ctx, queue, store.QueueMessage{
			EventID:       m.EventID,
			EventName:     m.EventName,
			TaskUUID:      m.TaskUUID,
			CorrelationID: m.CorrelationID,
			Payload:       m.Payload,
		})
		return err
	})
	executed, _ := cfg.MeterProvider.Meter(instrumentationName).Int64Counter("tasker.steps.executed",
		metric.WithDescription("Workflow steps executed by this worker, by step and outcome"))
	return &Worker{
		cfg:   cfg,
		store: st,
		router: events.NewRouter(events.Config{
			TracerProvider: cfg.TracerProvider,
			MeterProvider:  cfg.MeterProvider,
			Queue:          queue,
			Bus:            bus,
		}),
		tracer:   cfg.TracerProvider.Tracer(instrumentationName),
		log:      cfg.Logger,
		executed: executed,
	}
}

// Router is the worker's domain-event router (its counters back
// /metrics/events).
func (w *Worker) Router() *events.Router { return w.router }

// Run polls for work until ctx is done, then waits for the steps it already
// claimed to finish (they are not interrupted) and returns.
//
// Every poll is followed by the same jittered pause, also after a poll that
// claimed work: an instance that polled again at once, or sooner than the
// others, would hold SQLite's write lock most of the time and win the race
// for new steps, starving the other instances of its flavour, whose lock
// waits back off. Competing instances should share the work, as they do in
// the real system.
func (w *Worker) Run(ctx context.Context) {
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		w.pollOnce(ctx, sem, &wg)
		if ctx.Err() != nil {
			return
		}
		// The same pause whether or not the poll claimed work: an instance
		// that looked again sooner after a claim would win the next steps
		// too, and the other instance of its flavour, polling at the slower
		// idle rate, could lose every race for a whole burst (seen in CI:
		// one rust instance ran 100 of 100 steps, the other none).
		wait := w.cfg.PollInterval + rand.N(w.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// pollOnce lists as many claimable steps as it has free slots, tries to
// claim them in random order (so that instances spread the work) and starts
// the claimed ones. It never waits for a slot: a full instance leaves the
// work to the others. With the both_instances bug injected it first takes
// over the selected steps other instances are running. It returns how many
// it claimed.
func (w *Worker) pollOnce(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup) int {
	claimed := 0
	if w.cfg.Bugs.BothInstances > 0 {
		claimed += w.claimAgain(ctx, wg)
	}
	free := cap(sem) - len(sem)
	if free == 0 {
		return claimed
	}
	cands, err := w.store.ClaimableSteps(ctx, w.cfg.Namespace, free)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("listing claimable steps", "err", err)
		}
		return claimed
	}
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	for _, c := range cands {
		select {
		case sem <- struct{}{}:
		default:
			return claimed
		}
		ok, err := w.store.ClaimStep(ctx, c.StepUUID, w.cfg.InstanceID)
		if err != nil || !ok {
			<-sem
			if err != nil && ctx.Err() == nil {
				w.log.Warn("claiming step", "step_uuid", c.StepUUID, "err", err)
			}
			continue
		}
		claimed++
		w.start(ctx, sem, wg, c, false)
	}
	return claimed
}

// start runs a claimed step in its own goroutine, holding a slot of sem
// (none when sem is nil). A claimed step runs to the end even while shutting
// down; only the injected both_instances wait ends with ctx.
func (w *Worker) start(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup, c store.Candidate, second bool) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if sem != nil {
			defer func() { <-sem }()
		}
		if err := w.execute(context.WithoutCancel(ctx), ctx, c, second); err != nil {
			w.log.Error("executing step", "step_uuid", c.StepUUID, "step", c.StepName, "err", err)
		}
	}()
}

// claimAgain is the injected both_instances bug: it claims, a second time,
// steps selected for that bug that another instance is running, and runs
// them too. It returns how many it claimed.
//
// These runs take no concurrency slot: the first instance holds its slot
// while it waits for this second claim, so two instances whose slots are all
// held by such waits must still be able to take each other's steps.
func (w *Worker) claimAgain(ctx context.Context, wg *sync.WaitGroup) int {
	// Few steps are in progress at a time; list them all and pick ours.
	cands, err := w.store.ClaimedElsewhere(ctx, w.cfg.Namespace, w.cfg.InstanceID, 64)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("listing steps claimed elsewhere", "err", err)
		}
		return 0
	}
	claimed := 0
	for _, c := range cands {
		if w.bugFor(c).Kind != bugs.BothInstances {
			continue
		}
		ok, err := w.store.ClaimAgain(ctx, c.StepUUID, w.cfg.InstanceID)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("claiming step again", "step_uuid", c.StepUUID, "err", err)
			}
			continue
		}
		if ok {
			claimed++
			w.start(ctx, nil, wg, c, true)
		}
	}
	return claimed
}

func marshalResult(r map[string]any) json.RawMessage {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"error": "unencodable result: " + err.Error()})
	}
	return b
}
