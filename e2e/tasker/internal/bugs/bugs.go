// Package bugs injects publishing bugs into the reference workers on
// purpose, so that tests can show the trace checks catch them (and the old
// /metrics/events check does not).
//
// A [Plan] says which fraction of tasks gets which bug. Which tasks are hit is
// decided from the task's correlation ID and the plan's seed alone, by
// [Plan.For], so the workers (which decide) and a test (which predicts) run
// the same function and agree without talking to each other.
package bugs

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"

	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// EnvVar is the environment variable the worker reads its plan from (the
// worker's --inject-bug flag overrides it).
const EnvVar = "TASKER_INJECT_BUG"

// Kind is one kind of injected bug.
type Kind string

// Kinds of bugs. None is the zero value: the task is not affected.
const (
	None Kind = ""
	// Lost: the worker silently skips routing one event: no route_event,
	// no publish span, no counter moves.
	Lost Kind = "lost"
	// Duplicate: the worker routes and publishes one event twice, both times
	// for real.
	Duplicate Kind = "duplicate"
	// BothInstances: the exactly-once claim is bypassed for one step, so a
	// second worker instance claims and executes it too, publishing its
	// events again. It needs two or more instances of the flavour.
	BothInstances Kind = "both_instances"
)

// Kinds lists the bug kinds in the order Plan.For assigns them.
func Kinds() []Kind { return []Kind{Lost, Duplicate, BothInstances} }

// Bug is what goes wrong for one task.
type Bug struct {
	Kind Kind // None when the task is not affected
	// Step is the step whose publishing goes wrong.
	Step string
	// Event is the event lost, duplicated, or published by both instances.
	Event string
}

// The fixed targets, stated so that tests and readers know them:
// payment.processed is the durable event that must not be lost, and the one
// the old total_routed check cannot miss (three fast events still move it);
// inventory.updated is a fast event, published by a step that always
// publishes.
var targets = map[Kind]Bug{
	Lost:          {Kind: Lost, Step: workflow.StepProcessPayment, Event: "payment.processed"},
	Duplicate:     {Kind: Duplicate, Step: workflow.StepUpdateInventory, Event: "inventory.updated"},
	BothInstances: {Kind: BothInstances, Step: workflow.StepProcessPayment, Event: "payment.processed"},
}

// Target is the bug of a kind, with its step and event.
func Target(k Kind) Bug { return targets[k] }

// String describes the bug for log lines and messages.
func (b Bug) String() string {
	switch b.Kind {
	case None:
		return "none"
	case Lost:
		return fmt.Sprintf("lost: %s of step %s is not published", b.Event, b.Step)
	case Duplicate:
		return fmt.Sprintf("duplicate: %s of step %s is published twice", b.Event, b.Step)
	case BothInstances:
		return fmt.Sprintf("both_instances: step %s runs on two instances, publishing %s twice", b.Step, b.Event)
	}
	return string(b.Kind)
}

// Plan is the fraction of tasks that get each kind of bug, and the seed of
// the choice. The zero Plan injects nothing.
type Plan struct {
	Lost, Duplicate, BothInstances float64
	Seed                           uint64
}

// Enabled reports whether any task can be affected.
func (p Plan) Enabled() bool { return p.Lost > 0 || p.Duplicate > 0 || p.BothInstances > 0 }

// Parse reads a plan from its text form, e.g.
// "lost=0.25,duplicate=0.25,both_instances=0.25,seed=7": fractions in [0, 1]
// summing to at most 1, and an optional seed (default 0). Every key is
// optional; "" is the zero Plan.
func Parse(spec string) (Plan, error) {
	var p Plan
	seen := map[string]bool{}
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return Plan{}, fmt.Errorf("bug plan: %q: want key=value", part)
		}
		if seen[k] {
			return Plan{}, fmt.Errorf("bug plan: %s given twice", k)
		}
		seen[k] = true
		if k == "seed" {
			seed, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return Plan{}, fmt.Errorf("bug plan: seed %q: want a whole number >= 0", v)
			}
			p.Seed = seed
			continue
		}
		var dst *float64
		switch Kind(k) {
		case Lost:
			dst = &p.Lost
		case Duplicate:
			dst = &p.Duplicate
		case BothInstances:
			dst = &p.BothInstances
		default:
			return Plan{}, fmt.Errorf("bug plan: unknown key %q (want lost, duplicate, both_instances or seed)", k)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return Plan{}, fmt.Errorf("bug plan: %s=%q: want a fraction between 0 and 1", k, v)
		}
		*dst = f
	}
	if sum := p.Lost + p.Duplicate + p.BothInstances; sum > 1+1e-9 {
		return Plan{}, fmt.Errorf("bug plan: fractions sum to %g, more than 1", sum)
	}
	return p, nil
}

// String is the plan's text form, which Parse reads back; "" for the zero
// Plan.
func (p Plan) String() string {
	if !p.Enabled() && p.Seed == 0 {
		return ""
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return fmt.Sprintf("lost=%s,duplicate=%s,both_instances=%s,seed=%d",
		f(p.Lost), f(p.Duplicate), f(p.BothInstances), p.Seed)
}

// For is the bug the task with this correlation ID gets: a point in [0, 1)
// hashed from the seed and the correlation ID falls into the lost fraction,
// then the duplicate one, then the both_instances one, or past them all
// (no bug).
func (p Plan) For(correlationID string) Bug {
	if !p.Enabled() {
		return Bug{}
	}
	u := unit(p.Seed, correlationID)
	switch {
	case u < p.Lost:
		return targets[Lost]
	case u < p.Lost+p.Duplicate:
		return targets[Duplicate]
	case u < p.Lost+p.Duplicate+p.BothInstances:
		return targets[BothInstances]
	}
	return Bug{}
}

// unit hashes seed and s to a float in [0, 1): FNV-1a, then a splitmix64
// finalizer so that IDs differing only in their last characters still
// spread evenly.
func unit(seed uint64, s string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	_, _ = h.Write(b[:])
	_, _ = h.Write([]byte(s))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
