package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/orchestration"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/telemetry"
	"github.com/traceproof/traceproof/e2e/tasker/internal/worker"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// serve runs one service until ctx is done, then stops it in order: stop
// taking work, finish claimed work, stop HTTP, flush telemetry, close the DB.
func serve(ctx context.Context, o options, log *slog.Logger, stdout io.Writer) (err error) {
	tel, err := telemetry.Setup(ctx, telemetry.Config{Role: o.role, Flavour: o.flavour, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), o.stopTimeout)
		defer cancel()
		if serr := tel.Shutdown(sctx); serr != nil {
			log.Error("telemetry shutdown", "err", serr)
			err = errors.Join(err, serr)
		} else {
			log.Info("telemetry flushed")
		}
	}()

	var queues []string
	for _, ns := range workflow.Namespaces() {
		queues = append(queues, events.QueueName(ns))
	}
	st, err := store.Open(ctx, o.db, queues...)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()

	var handler http.Handler
	var loop func(context.Context)
	switch o.role {
	case telemetry.RoleOrchestration:
		svc := orchestration.New(orchestration.Config{
			InstanceID:     o.instanceID,
			Store:          st,
			TracerProvider: tel.TracerProvider(),
			MeterProvider:  tel.MeterProvider(),
			Logger:         log,
			PollInterval:   o.poll,
		})
		handler, loop = svc.Handler(), svc.RunFinalizer
	case telemetry.RoleWorker:
		w := worker.New(worker.Config{
			InstanceID:     o.instanceID,
			Namespace:      o.namespace,
			Store:          st,
			TracerProvider: tel.TracerProvider(),
			MeterProvider:  tel.MeterProvider(),
			Logger:         log,
			PollInterval:   o.poll,
			Concurrency:    o.concurrency,
			Bugs:           o.bugs,
		})
		if o.bugs.Enabled() {
			log.Warn("injecting publishing bugs on purpose", "plan", o.bugs.String())
		}
		handler, loop = w.Handler(), w.Run
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	// Requests (long-polls included) see this context end when we stop.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); loop(loopCtx) }()

	url := "http://" + ln.Addr().String()
	log.Info("listening", "url", url, "db", o.db)
	if _, err := fmt.Fprintf(stdout, "LISTENING %s\n", url); err != nil {
		log.Warn("writing LISTENING line", "err", err)
	}

	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err = <-serveErr:
		log.Error("http server failed", "err", err)
	}
	stopLoop()
	wg.Wait() // claimed steps finish; their spans end before the flush
	cancelRequests()
	sctx, cancel := context.WithTimeout(context.Background(), o.stopTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
