// Command soak holds traceproof at its full span cap for a long time under
// sustained load, with everything a test suite does to it at once, and
// shows that its resources stay flat: resident memory, the live heap,
// goroutines and open files are sampled over the run, and the run fails on
// any error or growth.
//
//	soak -duration 10m                              # the in-process sink
//	soak -duration 10m -serve bin/traceproof        # and a traceproof serve beside it
//
// The in-process part is an otlpsink.Sink at -max-spans (default 1,000,000)
// fed over loopback gRPC and HTTP by -conns senders (bench/spangen requests
// of 100 spans, as fast as they are accepted), while -waiters goroutines
// wait for tasks that are about to arrive (each must see exactly its 8
// spans) and as many wait for correlations that never arrive (each must
// time out with nothing), a dump of recent tasks is written as OTLP/JSON,
// rendered as trees and loaded back every -dump-every, and the store is
// reset every -reset-every. Its own RSS, goroutines and open files are
// sampled.
//
// With -serve, a `traceproof serve` process gets the same load on its own
// senders and is sampled from /proc (RSS, threads, open files) and its
// GODEBUG=gctrace=1 output (the live heap after each collection). When serve
// has the remote API (POST /api/v1/wait, /api/v1/reset), the soak long-polls
// it and resets it too; without it, it says so and skips those: the hook is
// serveAPI in serve.go. serve must exit 0 on SIGTERM having refused and
// failed nothing.
//
// The verdict compares the samples after the warm-up (the store is full by
// then) with each other: goroutines and open files must not grow, RSS must
// not grow by more than -rss-slack. Results go to stdout as Markdown, and
// with -out as JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/traceproof/traceproof/bench/spangen"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

type config struct {
	duration, sample, warmup, resetEvery, dumpEvery time.Duration
	conns, waiters, maxSpans, batch                 int
	rssSlack                                        float64
	serveBin, out                                   string
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 10*time.Minute, "how long to soak")
	flag.DurationVar(&c.sample, "sample", 10*time.Second, "sampling interval")
	flag.DurationVar(&c.warmup, "warmup", time.Minute, "samples before this, or before the store first holds its cap, are not judged")
	flag.DurationVar(&c.resetEvery, "reset-every", 3*time.Minute, "reset the store this often (0: never)")
	flag.DurationVar(&c.dumpEvery, "dump-every", 5*time.Second, "dump recent tasks this often")
	flag.IntVar(&c.conns, "conns", 4, "senders per target, half over gRPC and half over HTTP")
	flag.IntVar(&c.waiters, "waiters", 8, "concurrent waits for arriving tasks (and as many for absent ones)")
	flag.IntVar(&c.maxSpans, "max-spans", spanstore.DefaultMaxSpans, "the store's span cap")
	flag.IntVar(&c.batch, "batch", 100, "spans per request")
	flag.Float64Var(&c.rssSlack, "rss-slack", 0.25, "allowed RSS growth after the warm-up, as a fraction")
	flag.StringVar(&c.serveBin, "serve", "", "also soak this traceproof binary's serve")
	flag.StringVar(&c.out, "out", "", "write the samples and the verdict to `FILE` as JSON")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// Sample is one measurement of a target.
type Sample struct {
	T      float64 `json:"t_seconds"`
	RSSKiB int64   `json:"rss_kib"`
	// HeapLiveKiB is the live heap at the last GC: what the store and the
	// receiver keep, without the collector's headroom, which RSS includes.
	HeapLiveKiB int64  `json:"heap_live_kib"`
	Goroutines  int    `json:"goroutines,omitempty"` // in-process only
	Threads     int    `json:"threads"`
	OpenFiles   int    `json:"open_files"`
	Stored      int    `json:"stored,omitempty"`
	Spans       uint64 `json:"spans_accepted"`
	Evicted     uint64 `json:"evicted,omitempty"`
	Waits       int64  `json:"waits_ok"`
	Polls       int64  `json:"polls_ok,omitempty"`
	// Full is set once the store has held its cap of spans: samples before
	// that are the warm-up, not judged.
	Full bool `json:"full"`
}

// Target is one soaked receiver: its samples and its verdict.
type Target struct {
	Name    string   `json:"name"`
	Samples []Sample `json:"samples"`
	Notes   []string `json:"notes,omitempty"`
	Errors  []string `json:"errors,omitempty"`
	Verdict string   `json:"verdict"`
}

// counters are what the workers of one target count.
type counters struct {
	requests, spans, sendErrors                atomic.Int64
	waitsOK, waitsCut, absentOK, dumps, resets atomic.Int64
	pollsOK, pollsCut                          atomic.Int64
	mu                                         sync.Mutex
	errs                                       []string
}

func (c *counters) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 20 {
		c.errs = append(c.errs, fmt.Sprintf(format, args...))
	}
}

func (c *counters) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

func run(c config) error {
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The workers run until the last sample is taken, so that no sample
	// sees them winding down.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tpl := spangen.New(c.batch)
	start := time.Now()
	// Each target numbers its own requests: a waiter waits for a task in a
	// request its own target is about to receive.
	var inSeq, serveSeq atomic.Uint64
	in, err := startInProcess(ctx, c, tpl, &inSeq)
	if err != nil {
		return err
	}
	var sv *serveTarget
	if c.serveBin != "" {
		if sv, err = startServe(ctx, c, tpl, &serveSeq); err != nil {
			cancel()
			in.stop()
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "soak: %s at a cap of %d spans; %d senders, %d waiters per target; sampling every %s\n",
		c.duration, c.maxSpans, c.conns, c.waiters, c.sample)

	tick := time.NewTicker(c.sample)
	defer tick.Stop()
	sampleAll := func() {
		t := time.Since(start).Seconds()
		s := in.sample(t)
		in.t.Samples = append(in.t.Samples, s)
		line := fmt.Sprintf("soak: %5.0fs in-process rss %4d MiB, live heap %4d MiB, %3d goroutines, %2d files, %7d stored, %9d accepted, %6d waits",
			t, s.RSSKiB>>10, s.HeapLiveKiB>>10, s.Goroutines, s.OpenFiles, s.Stored, s.Spans, s.Waits)
		if sv != nil {
			ss := sv.sample(t)
			sv.t.Samples = append(sv.t.Samples, ss)
			line += fmt.Sprintf(" | serve rss %4d MiB, live heap %4d MiB, %2d threads, %2d files, %9d accepted, %5d polls", ss.RSSKiB>>10, ss.HeapLiveKiB>>10, ss.Threads, ss.OpenFiles, ss.Spans, ss.Polls)
		}
		fmt.Fprintln(os.Stderr, line)
	}
	sampleAll()
	end := time.NewTimer(c.duration)
	defer end.Stop()
	interrupted := false
	for done := false; !done; {
		select {
		case <-tick.C:
			sampleAll()
		case <-end.C:
			sampleAll()
			done = true
		case <-sig.Done():
			interrupted, done = true, true
		}
	}
	cancel()

	targets := []*Target{in.finish(c)}
	if sv != nil {
		targets = append(targets, sv.finish(c))
	}
	report(os.Stdout, c, targets, time.Since(start))
	if c.out != "" {
		b, _ := json.MarshalIndent(map[string]any{"duration": c.duration.String(), "max_spans": c.maxSpans, "targets": targets}, "", "  ")
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if interrupted {
		return errors.New("interrupted before the end of the soak")
	}
	for _, t := range targets {
		if t.Verdict != "flat" {
			return fmt.Errorf("%s: %s", t.Name, t.Verdict)
		}
	}
	return nil
}

// inProcess is the otlpsink.Sink soaked in this process.
type inProcess struct {
	t       Target
	sink    *otlpsink.Sink
	cnt     counters
	epoch   atomic.Int64 // bumped by every reset
	recent  recentTasks
	workers sync.WaitGroup
	dumpDir string
}

func startInProcess(ctx context.Context, c config, tpl *spangen.Template, seq *atomic.Uint64) (*inProcess, error) {
	p := &inProcess{t: Target{Name: "in-process otlpsink.Sink"}}
	st := spanstore.New(spanstore.WithMaxSpans(c.maxSpans))
	sink, err := otlpsink.New(otlpsink.WithStore(st), otlpsink.WithOnRefused(func(r otlpsink.Refusal) {
		p.cnt.fail("the sink refused a request: %s", r)
	}))
	if err != nil {
		return nil, err
	}
	p.sink = sink
	dir, err := os.MkdirTemp("", "traceproof-soak-")
	if err != nil {
		return nil, err
	}
	p.dumpDir = dir
	if err := startSenders(ctx, &p.workers, c, tpl, seq, sink.GRPCAddr(), sink.HTTPAddr(), &p.cnt); err != nil {
		return nil, err
	}
	for i := range c.waiters {
		p.workers.Go(func() { p.waitArriving(ctx, c, seq) })
		p.workers.Go(func() { p.waitAbsent(ctx, i) })
	}
	p.workers.Go(func() { p.dumpLoop(ctx, c) })
	if c.resetEvery > 0 {
		p.workers.Go(func() { p.resetLoop(ctx, c) })
	}
	return p, nil
}

// futureTask is a task wholly inside a request not sent yet, and that
// request's number.
func futureTask(c config, seq *atomic.Uint64) (task, req uint64) {
	req = seq.Load() + 20
	n := uint64(c.batch)
	task = (req*n + spangen.SpansPerTask - 1) / spangen.SpansPerTask
	return task, req
}

// waitArriving waits, again and again, for a task about to arrive; each wait
// must end with exactly its 8 spans, unless a reset cut it.
func (p *inProcess) waitArriving(ctx context.Context, c config, seq *atomic.Uint64) {
	st := p.sink.Store()
	for ctx.Err() == nil {
		task, _ := futureTask(c, seq)
		corr := spangen.CorrelationID(task)
		epoch := p.epoch.Load()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		spans, err := st.Wait(wctx, spanstore.Filter{Correlation: corr}, spangen.SpansPerTask)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && p.epoch.Load() != epoch:
			p.cnt.waitsCut.Add(1)
		case err != nil:
			p.cnt.fail("wait for %s: %v after a minute with %d spans", corr, err, len(spans))
		case len(spans) != spangen.SpansPerTask && p.epoch.Load() == epoch:
			p.cnt.fail("wait for %s: %d spans, want %d", corr, len(spans), spangen.SpansPerTask)
		default:
			p.cnt.waitsOK.Add(1)
			p.recent.add(corr)
		}
	}
}

// waitAbsent waits for correlations that never arrive: each wait must time
// out with nothing, and leave nothing behind.
func (p *inProcess) waitAbsent(ctx context.Context, i int) {
	st := p.sink.Store()
	for n := 0; ctx.Err() == nil; n++ {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		spans, err := st.Wait(wctx, spanstore.Filter{Correlation: fmt.Sprintf("absent-%d-%d", i, n)}, 1)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, context.DeadlineExceeded) || len(spans) != 0 {
			p.cnt.fail("wait for an absent correlation: %v, %d spans", err, len(spans))
			continue
		}
		p.cnt.absentOK.Add(1)
	}
}

// dumpLoop dumps the spans of recent tasks as a failing assertion does
// (OTLP/JSON and a text tree), then loads the dump back.
func (p *inProcess) dumpLoop(ctx context.Context, c config) {
	t := time.NewTicker(c.dumpEvery)
	defer t.Stop()
	path := filepath.Join(p.dumpDir, "recent.otlp.json")
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var spans []spanstore.Span
		for _, corr := range p.recent.list() {
			spans = append(spans, p.sink.Store().Correlated(corr)...)
		}
		f, err := os.Create(path)
		if err != nil {
			p.cnt.fail("dump: %v", err)
			continue
		}
		err = spanstore.WriteOTLPJSON(f, spans)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		_ = spantext.TreeString(spans, spantext.TreeOptions{})
		_ = p.sink.Stats().String()
		if err != nil {
			p.cnt.fail("dump: %v", err)
			continue
		}
		loaded, err := spanstore.LoadFile(path)
		if err != nil || loaded.Len() != len(spans) {
			p.cnt.fail("dump of %d spans loads back as %d: %v", len(spans), loaded.Len(), err)
			continue
		}
		p.cnt.dumps.Add(1)
	}
}

func (p *inProcess) resetLoop(ctx context.Context, c config) {
	t := time.NewTicker(c.resetEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.epoch.Add(1)
		p.sink.Store().Reset()
		p.cnt.resets.Add(1)
	}
}

func (p *inProcess) sample(t float64) Sample {
	rss, threads := procStatus("self")
	st := p.sink.Stats()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	return Sample{T: t, RSSKiB: rss, HeapLiveKiB: int64(live[0].Value.Uint64() >> 10), Goroutines: runtime.NumGoroutine(), Threads: threads, OpenFiles: openFiles("self"),
		Stored: st.Stored, Spans: st.Spans, Evicted: st.Evicted, Waits: p.cnt.waitsOK.Load(), Full: st.Evicted > 0}
}

func (p *inProcess) stop() {
	_ = p.sink.Close()
	p.workers.Wait()
	_ = os.RemoveAll(p.dumpDir)
}

func (p *inProcess) finish(c config) *Target {
	p.workers.Wait()
	st := p.sink.Stats()
	_ = p.sink.Close()
	_ = os.RemoveAll(p.dumpDir)
	if st.DecodeErrors+st.RefusedTotal()+st.Rejected > 0 {
		p.cnt.fail("the sink counted %d decode errors, %d refused, %d rejected", st.DecodeErrors, st.RefusedTotal(), st.Rejected)
	}
	p.t.Notes = append(p.t.Notes,
		fmt.Sprintf("%d requests, %d spans sent; %d spans accepted, %d evicted; %d send errors", p.cnt.requests.Load(), p.cnt.spans.Load(), st.Spans, st.Evicted, p.cnt.sendErrors.Load()),
		fmt.Sprintf("%d waits for arriving tasks answered with their 8 spans (%d cut by a reset); %d waits for absent correlations timed out empty", p.cnt.waitsOK.Load(), p.cnt.waitsCut.Load(), p.cnt.absentOK.Load()),
		fmt.Sprintf("%d dumps written, rendered and loaded back; %d resets", p.cnt.dumps.Load(), p.cnt.resets.Load()))
	p.t.Errors = p.cnt.errors()
	if p.cnt.waitsOK.Load() == 0 || p.cnt.absentOK.Load() == 0 || p.cnt.dumps.Load() == 0 {
		p.t.Errors = append(p.t.Errors, "a kind of work never completed: the soak proved nothing about it")
	}
	p.t.Verdict = judge(&p.t, c, true)
	return &p.t
}

// recentTasks keeps the last correlation values whose waits completed.
type recentTasks struct {
	mu   sync.Mutex
	ring []string
}

func (r *recentTasks) add(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring = append(r.ring, v)
	if len(r.ring) > 20 {
		r.ring = r.ring[len(r.ring)-20:]
	}
}

func (r *recentTasks) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ring...)
}
