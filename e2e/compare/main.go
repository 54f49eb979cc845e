// Command compare measures how often the old end-to-end check is wrong: read
// one worker's /metrics/events counters before and after a task and expect
// them to move by the task's events. It runs the same parallel workload
// against the reference system in single and cluster mode, judges every task
// both ways (the old counter check, and the trace-based proof of which
// instance published which event), and writes the tally as Markdown.
//
//	go run ./e2e/compare -out docs/metrics-check-vs-traces.md
//
// It is a measurement, not a test: the old check is expected to be wrong.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/e2e/internal/system"
	"github.com/traceproof/traceproof/e2e/tasker/harness"
)

// The rust flavour's task publishes one durable and three fast events.
const (
	flavour     = "rust"
	wantDurable = 1
	wantFast    = 3
)

var expected = []domainevent.Event{
	domainevent.Fast("order.validated"), domainevent.Durable("payment.processed"),
	domainevent.Fast("inventory.updated"), domainevent.Fast("notification.sent"),
}

type options struct {
	tasks    int
	parallel []int
	out      string
	modes    []string
}

// verdicts is one mode's tally.
type verdicts struct {
	mode         string
	parallel     int
	tasks        int
	oldPass      int // counters moved exactly as expected
	oldFalseFail int // counters did not, though the task published its events
	oldLucky     int // counters moved as expected, but not (only) by this task on this worker
	traceProven  int // the trace check proved the task's 4 events, each once
	traceFailed  int
	onWatched    int // tasks whose 4 events were all published by the watched worker
	elapsed      time.Duration
}

func main() {
	var o options
	modes := flag.String("modes", "single,cluster", "modes to measure, comma-separated")
	flag.IntVar(&o.tasks, "tasks", 60, "tasks per mode")
	parallel := flag.String("parallel", "1,6", "tasks in flight at once, like parallel tests; each value is measured")
	flag.StringVar(&o.out, "out", "", "write the Markdown report here (default stdout)")
	flag.Parse()
	o.modes = strings.Split(*modes, ",")
	for _, p := range strings.Split(*parallel, ",") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "compare: -parallel %q: want whole numbers >= 1\n", *parallel)
			os.Exit(2)
		}
		o.parallel = append(o.parallel, n)
	}

	var results []verdicts
	for _, m := range o.modes {
		for _, p := range o.parallel {
			v, err := measure(m, p, o.tasks)
			if err != nil {
				fmt.Fprintf(os.Stderr, "compare: %s mode: %v\n", m, err)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "compare: %s mode, %d at a time: %d tasks, old check wrong %d times, trace check proved %d\n",
				m, p, v.tasks, v.oldFalseFail+v.oldLucky, v.traceProven)
			results = append(results, v)
		}
	}
	w := io.Writer(os.Stdout)
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	report(w, o, results)
}

func measure(mode string, parallel, tasks int) (verdicts, error) {
	v := verdicts{mode: mode, parallel: parallel}
	dir, err := os.MkdirTemp("", "traceproof-compare-")
	if err != nil {
		return v, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), assert.Scaled(10*time.Minute))
	defer cancel()
	sys, err := system.Start(ctx, system.Config{Mode: mode, Via: system.ViaDirect, Dir: dir, Flavours: []string{flavour}})
	if err != nil {
		return v, err
	}
	defer sys.Stop(context.Background())

	// The old tests watched the first worker's counters.
	watched := sys.WorkerURLs(flavour)[0]
	check := domainevent.Check(assert.Check(sys.Sink))
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, tasks)
	for i := range tasks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			old, onWatched, proven, err := judge(ctx, sys, check, watched, i)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			v.tasks++
			switch {
			case old && onWatched:
				v.oldPass++
			case old:
				v.oldLucky++
			default:
				v.oldFalseFail++
			}
			if onWatched {
				v.onWatched++
			}
			if proven {
				v.traceProven++
			} else {
				v.traceFailed++
			}
		})
	}
	wg.Wait()
	v.elapsed = time.Since(start)
	close(errs)
	for err := range errs {
		return v, err
	}
	return v, nil
}

// judge runs one task and returns the old check's verdict, whether the
// watched worker really published all of the task's events, and the trace
// check's verdict.
func judge(ctx context.Context, sys *system.System, check *domainevent.Checker, watched string, i int) (old, onWatched, proven bool, err error) {
	before, err := sys.Client.Metrics(ctx, watched)
	if err != nil {
		return
	}
	corr := fmt.Sprintf("compare-%03d-%s", i, uuid.NewString()[:8])
	task, err := sys.Client.CreateTask(ctx, harness.DomainEventTask(flavour, corr, false))
	if err != nil {
		return
	}
	if _, err = sys.Client.WaitFinal(ctx, task.TaskUUID); err != nil {
		return
	}
	// The old test read the counters right after the task finished.
	after, err := sys.Client.Metrics(ctx, watched)
	if err != nil {
		return
	}
	old = after.Router.DurableRouted-before.Router.DurableRouted == wantDurable &&
		after.Router.FastRouted-before.Router.FastRouted == wantFast

	events, perr := check.Published(ctx, corr, expected...)
	proven = perr == nil
	onWatched = proven
	for _, e := range events {
		if e.Instance != before.WorkerID {
			onWatched = false
		}
	}
	return old, onWatched, proven, nil
}

func report(w io.Writer, o options, rs []verdicts) {
	fmt.Fprintf(w, `# The old metrics check versus traces

Measured %s by `+"`go run ./e2e/compare`"+` (`+"`make compare`"+`) on %s/%s with %d CPUs.

Each row runs %d tasks of the reference workflow (%s flavour), one at a time or several at
once the way parallel tests do. Every task is judged twice:

- **the old check**: read the first worker's `+"`/metrics/events`"+` before and after the task,
  and pass if `+"`durable_routed`"+` moved by %d and `+"`fast_routed`"+` by %d;
- **the trace check**: `+"`assert.Checker.Published`"+` waits for the task's own domain-event spans by
  its correlation ID and proves each of the 4 events was published once with its delivery mode,
  whichever instance published it.

The traces also tell which instance published each event, so an old-check pass can be told
apart from a lucky one: counters that moved by the right amount because of other tasks.

| mode | at once | tasks | old check: right | old check: false failure | old check: passed by luck | old check wrong | trace check proved | trace check failed |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
`, time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		o.tasks, flavour, wantDurable, wantFast)
	for _, r := range rs {
		wrong := r.oldFalseFail + r.oldLucky
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | **%d (%.0f%%)** | %d | %d |\n", r.mode, r.parallel, r.tasks, r.oldPass,
			r.oldFalseFail, r.oldLucky, wrong, 100*float64(wrong)/float64(max(r.tasks, 1)), r.traceProven, r.traceFailed)
	}
	fmt.Fprintf(w, `
What goes wrong with the old check:
- **single mode, one at a time**: the one case where it works: one worker runs every task and
  nothing else moves its counters.
- **single mode, in parallel**: parallel tasks move the same counters, so a task sees other
  tasks' events between its before and after reads.
- **cluster mode**: the watched worker runs only part of the work; a task whose steps ran on the
  other instance fails the check although it published everything, and other tasks' events
  on the watched worker can make the counters come out right by accident.

The trace check has none of these problems: it selects the task's spans by its own correlation ID
and does not care which instance ran which step.
`)
}
