// Command compare measures how often the old end-to-end check is wrong: read
// one worker's /metrics/events counters before and after a task and expect
// them to have moved. It runs the same workload against the reference
// system in single and cluster mode, one task at a time and several at once,
// first as it is and then with publishing bugs injected into some tasks
// (harness.BugPlan), judges every task both ways (the old counter check in
// two forms, and the trace-based proof), and writes the tally as Markdown.
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
	modes    []string
	bugs     harness.BugPlan
	out      string
}

// verdict is how one task was judged.
type verdict struct {
	bug harness.BugKind
	// oldRouted is the check as the old tests wrote it: the watched
	// worker's total_routed is higher after the task than before.
	oldRouted bool
	// oldStrict is the stricter form: durable_routed moved by exactly 1 and
	// fast_routed by exactly 3.
	oldStrict bool
	// onWatched: the traces show the watched worker published all 4 of the
	// task's events itself, so a counter check that passed did so for the
	// right reason.
	onWatched bool
	// trace: Published proved the 4 events, each once, and OncePer proved
	// each step ran once.
	trace bool
}

// run is one workload's tally.
type run struct {
	mode     string
	parallel int
	plan     harness.BugPlan
	tasks    []verdict
	elapsed  time.Duration
}

func main() {
	var o options
	modes := flag.String("modes", "single,cluster", "modes to measure, comma-separated")
	flag.IntVar(&o.tasks, "tasks", 40, "tasks per workload")
	parallel := flag.String("parallel", "1,6", "tasks in flight at once, like parallel tests; each value is measured")
	bugs := flag.String("bugs", "lost=0.2,duplicate=0.2,both_instances=0.2,seed=1",
		"bugs to inject in the second workload ("+harness.BugEnv+" syntax); single mode drops both_instances")
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
	var err error
	if o.bugs, err = harness.ParseBugPlan(*bugs); err != nil || !o.bugs.Enabled() {
		fmt.Fprintf(os.Stderr, "compare: -bugs %q: %v (want at least one fraction above 0)\n", *bugs, err)
		os.Exit(2)
	}

	var clean, buggy []run
	for _, m := range o.modes {
		for _, p := range o.parallel {
			plan := o.bugs
			if m == system.ModeSingle {
				plan.BothInstances = 0 // one worker: no step can run on two
			}
			for _, pl := range []harness.BugPlan{{}, plan} {
				r, err := measure(m, p, o.tasks, pl)
				if err != nil {
					fmt.Fprintf(os.Stderr, "compare: %s mode: %v\n", m, err)
					os.Exit(1)
				}
				fmt.Fprintf(os.Stderr, "compare: %s mode, %d at a time, bugs %q: %d tasks in %s; wrong: old check %d, stricter %d, traces %d\n",
					m, p, pl.String(), len(r.tasks), r.elapsed.Round(time.Millisecond),
					r.wrong(checks[0]), r.wrong(checks[1]), r.wrong(checks[2]))
				if pl.Enabled() {
					buggy = append(buggy, r)
				} else {
					clean = append(clean, r)
				}
			}
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
	report(w, o, clean, buggy)
}

// measure starts a fresh system with plan injected, runs tasks through it
// parallel at a time and judges each one.
func measure(mode string, parallel, tasks int, plan harness.BugPlan) (run, error) {
	r := run{mode: mode, parallel: parallel, plan: plan}
	dir, err := os.MkdirTemp("", "traceproof-compare-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), assert.Scaled(10*time.Minute))
	defer cancel()
	// The tasker processes inherit the environment, so this is how the
	// plan reaches the workers (and how a plan set in the shell is kept out
	// of the clean workload).
	if plan.Enabled() {
		os.Setenv(harness.BugEnv, plan.String())
	} else {
		os.Unsetenv(harness.BugEnv)
	}
	sys, err := system.Start(ctx, system.Config{Mode: mode, Via: system.ViaDirect, Dir: dir, Flavours: []string{flavour}})
	os.Unsetenv(harness.BugEnv)
	if err != nil {
		return r, err
	}
	defer sys.Stop(context.Background())

	// The old tests watched the first worker's counters.
	watched := sys.WorkerURLs(flavour)[0]
	check := assert.Check(sys.Sink)
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	var tasksWG, checksWG sync.WaitGroup
	start := time.Now()
	errs := make(chan error, tasks)
	for i := range tasks {
		sem <- struct{}{}
		tasksWG.Go(func() {
			v, corr, final, watchedID, err := runTask(ctx, sys, watched, plan, i)
			<-sem
			if err != nil {
				errs <- err
				return
			}
			// The trace checks wait (a lost event for the whole timeout),
			// but read no counters: the next task need not wait for them.
			checksWG.Go(func() {
				v.trace, v.onWatched = traceCheck(ctx, check, corr, final, watchedID)
				mu.Lock()
				r.tasks = append(r.tasks, v)
				mu.Unlock()
			})
		})
	}
	tasksWG.Wait()
	checksWG.Wait()
	r.elapsed = time.Since(start)
	close(errs)
	for err := range errs {
		return r, err
	}
	return r, nil
}

// runTask runs one task and judges it with the old check in both forms.
func runTask(ctx context.Context, sys *system.System, watched string, plan harness.BugPlan, i int) (v verdict, corr string, final harness.Task, watchedID string, err error) {
	before, err := sys.Client.Metrics(ctx, watched)
	if err != nil {
		return
	}
	corr = fmt.Sprintf("compare-%03d-%s", i, uuid.NewString()[:8])
	v.bug = harness.InjectedBug(plan, corr).Kind
	task, err := sys.Client.CreateTask(ctx, harness.DomainEventTask(flavour, corr, false))
	if err != nil {
		return
	}
	if final, err = sys.Client.WaitFinal(ctx, task.TaskUUID); err != nil {
		return
	}
	// The old test read the counters right after the task finished.
	after, err := sys.Client.Metrics(ctx, watched)
	if err != nil {
		return
	}
	v.oldRouted = after.Router.TotalRouted > before.Router.TotalRouted
	v.oldStrict = after.Router.DurableRouted-before.Router.DurableRouted == wantDurable &&
		after.Router.FastRouted-before.Router.FastRouted == wantFast
	return v, corr, final, before.WorkerID, nil
}

// traceCheck is the suite's proof: the task's 4 events, each published
// once, and each of its steps executed once, whichever instances did it.
func traceCheck(ctx context.Context, check *assert.Checker, corr string, final harness.Task, watchedID string) (proven, onWatched bool) {
	var steps []string
	for _, s := range final.Steps {
		steps = append(steps, s.StepUUID)
	}
	var onceErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, onceErr = check.OncePer(ctx, assert.Spans().Named("execute_step").Correlated(corr), "step_uuid", steps...)
	}()
	events, err := domainevent.Check(check).Published(ctx, corr, expected...)
	<-done
	onWatched = err == nil
	for _, e := range events {
		if e.Instance != watchedID {
			onWatched = false
		}
	}
	return err == nil && onceErr == nil, onWatched
}

func (r run) count(f func(verdict) bool) int {
	n := 0
	for _, v := range r.tasks {
		if f(v) {
			n++
		}
	}
	return n
}

// check is one way of judging a task.
type check struct {
	name   string
	pass   func(verdict) bool
	traced bool // the trace check, which cannot pass by luck
}

// checks are the three ways of judging a task, as the report names them.
var checks = []check{
	{"old: `total_routed` went up", func(v verdict) bool { return v.oldRouted }, false},
	{"old, stricter: durable +1, fast +3", func(v verdict) bool { return v.oldStrict }, false},
	{"traces: `Published` + `OncePer`", func(v verdict) bool { return v.trace }, true},
}

// lucky reports whether c passed v for the wrong reason: counters that
// moved although the watched worker did not publish all of the task's events.
func (c check) lucky(v verdict) bool { return !c.traced && c.pass(v) && !v.onWatched }

// wrong counts the tasks c judged wrongly. With no bug injected: a failure,
// or a pass by luck. With bugs: a failure of an unaffected task, or a pass of
// an affected one.
func (r run) wrong(c check) int {
	return r.count(func(v verdict) bool {
		switch {
		case v.bug != harness.BugNone:
			return c.pass(v)
		case r.plan.Enabled():
			return !c.pass(v)
		}
		return !c.pass(v) || c.lucky(v)
	})
}

// tally counts, for one kind of task, how many there were and how many c
// passed.
func (r run) tally(c check, k harness.BugKind) (passed, of int) {
	return r.count(func(v verdict) bool { return v.bug == k && c.pass(v) }), r.count(func(v verdict) bool { return v.bug == k })
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%d of %d (%.0f%%)", n, of, 100*float64(n)/float64(of))
}

func report(w io.Writer, o options, clean, buggy []run) {
	fmt.Fprintf(w, `# The old metrics check versus traces

Measured %s by `+"`go run ./e2e/compare`"+` (`+"`make compare`"+`) on %s/%s with %d CPUs.

Each workload runs %d tasks of the reference workflow (%s flavour) on a fresh system, one at a
time or several at once the way parallel tests do. Every task is judged three ways:

- **old**: the check as the old tests wrote it: read the first worker's `+"`/metrics/events`"+` before
  and after the task, and pass if `+"`router.total_routed`"+` went up;
- **old, stricter**: the same reads, passing only if `+"`durable_routed`"+` moved by exactly %d and
  `+"`fast_routed`"+` by exactly %d (what the task should publish);
- **traces**: `+"`domainevent.Checker.Published`"+` waits for the task's own domain-event spans by its
  correlation ID and proves each of the 4 events was published once with its delivery mode,
  whichever instance published it, and `+"`OncePer`"+` proves each step was executed by one instance.

## No bug injected

Every task published its 4 events, so every failure is a false alarm. The traces also tell which
instance published each event, so a counter check that passed can be told apart from a lucky one:
counters that moved although the watched worker did not publish all of this task's events.

| mode | at once | tasks | check | passed, rightly | passed by luck | failed (false alarm) | wrong |
| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |
`, time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		o.tasks, flavour, wantDurable, wantFast)
	for _, r := range clean {
		for _, c := range checks {
			lucky := r.count(c.lucky)
			passed := r.count(c.pass)
			fmt.Fprintf(w, "| %s | %d | %d | %s | %d | %d | %d | **%s** |\n", r.mode, r.parallel, len(r.tasks), c.name,
				passed-lucky, lucky, len(r.tasks)-passed, pct(r.wrong(c), len(r.tasks)))
		}
	}

	fmt.Fprintf(w, `
## Bugs injected

The same workloads with the reference workers' bug switch on (`+"`%s=%s`"+`, see
[e2e/tasker](../e2e/tasker/README.md)): for a fraction of the tasks, chosen from their correlation
IDs, a worker **loses** `+"`payment.processed`"+` (never routes or publishes it), publishes
`+"`inventory.updated`"+` **twice**, or runs `+"`process_payment`"+` on **both instances** (cluster
mode only: single mode has one worker, so its plan drops that bug). A check should fail exactly
the tasks with a bug and pass the others; a pass on a task with a bug is a bug it missed.

| mode | at once | check | unaffected tasks passed | lost event: passed anyway | duplicate: passed anyway | both instances: passed anyway | wrong |
| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |
`, harness.BugEnv, o.bugs.String())
	var lostPassed, lostN, extraPassed, extraN, strictClean, strictCleanN, traceWrong, traceN int
	for _, r := range clean {
		traceWrong += r.wrong(checks[2])
		traceN += len(r.tasks)
	}
	for _, r := range buggy {
		for i, c := range checks {
			cleanPassed, cleanN := r.tally(c, harness.BugNone)
			lost, ln := r.tally(c, harness.BugLost)
			dup, dn := r.tally(c, harness.BugDuplicate)
			both, bn := r.tally(c, harness.BugBothInstances)
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | **%s** |\n", r.mode, r.parallel, c.name,
				pct(cleanPassed, cleanN), pct(lost, ln), pct(dup, dn), pct(both, bn), pct(r.wrong(c), len(r.tasks)))
			switch i {
			case 0:
				lostPassed, lostN = lostPassed+lost, lostN+ln
				extraPassed, extraN = extraPassed+dup+both, extraN+dn+bn
			case 1:
				if r.mode != system.ModeSingle || r.parallel > 1 {
					strictClean, strictCleanN = strictClean+cleanPassed, strictCleanN+cleanN
				}
			case 2:
				traceWrong += r.wrong(c)
				traceN += len(r.tasks)
			}
		}
	}

	fmt.Fprintf(w, `
Over the workloads with bugs injected, the old check passed **%s** tasks whose
`+"`payment.processed`"+` was never published, and **%s** tasks that published an event twice or ran
a step on both instances. Outside single mode one task at a time, its stricter form passed
**%s** of the tasks that had no bug.

Why:
- **The old check cannot see a lost event.** `+"`total_routed`"+` goes up whenever the watched worker
  routed anything while the task ran, and a task that lost its durable event still routes three
  fast ones. A duplicate, or a step run twice, only adds routing. It fails only when the watched
  worker routed nothing while the task ran (cluster mode), which says nothing about the task either.
- **The stricter form sees a lost or duplicated event in one setting only**: single mode, one task
  at a time, where one worker runs every task and nothing else moves its counters. With tasks in
  parallel, other tasks' events land between its two reads; in cluster mode the watched worker runs
  only part of each task. Then it fails nearly every task, with a bug or without: its lower
  "wrong" count with bugs injected comes from failing everything, not from seeing the bugs
  (compare the unaffected column). It can even pass a step run on both instances: the watched
  worker's own run moves its counters by exactly 1 and 3, and the other instance's second
  `+"`payment.processed`"+` is counted elsewhere.
- **Luck**: in cluster mode nearly every pass of the old check came from counters that moved
  for a task the watched worker ran only in part.

The trace check selects the task's spans by its own correlation ID and does not care which instance
ran which step. %s Its reports name what went wrong: the lost event,
the duplicated one with the instance that published it twice, the step that ran on both instances
with both instances (`+"`TestInjectedBugsAreCaught`"+` in `+"`e2e/bugs_test.go`"+` asserts those reports).
`, pct(lostPassed, lostN), pct(extraPassed, extraN), pct(strictClean, strictCleanN), traceVerdict(traceWrong, traceN))
}

// traceVerdict sums up the trace check's verdicts in words.
func traceVerdict(wrong, total int) string {
	if wrong == 0 {
		return fmt.Sprintf("Over all %d tasks it was never wrong: it proved every task\nwithout a bug and failed every task with one.", total)
	}
	return fmt.Sprintf("It was wrong for %s tasks (see the tables): look at the\nrun's logs before trusting these numbers.", pct(wrong, total))
}
