package harness

import "github.com/traceproof/traceproof/e2e/tasker/internal/bugs"

// BugEnv is the environment variable from which workers read the publishing
// bugs to inject (see BugPlan); Config.Bugs sets it for the workers the
// harness starts. Workers also inherit it from the harness's environment
// when Config.Bugs is zero, so that `TASKER_INJECT_BUG=lost=0.5 go test
// ./e2e/...` shows a whole suite catching bugs.
const BugEnv = bugs.EnvVar

// BugPlan says which fraction of tasks gets which injected bug, and the
// seed of the choice: BugPlan{Lost: 0.25, Duplicate: 0.25,
// BothInstances: 0.25, Seed: 7}. Its text form, as BugEnv and the worker's
// --inject-bug flag take it, is "lost=0.25,duplicate=0.25,both_instances=0.25,seed=7"
// (String, ParseBugPlan). The zero BugPlan injects nothing.
type BugPlan = bugs.Plan

// Bug is what goes wrong for one task: its Kind (BugNone when the task is not
// affected), the Step whose publishing goes wrong, and the Event lost,
// duplicated or published by both instances.
type Bug = bugs.Bug

// BugKind is a kind of injected bug.
type BugKind = bugs.Kind

// Kinds of injected bugs, with their fixed targets in the reference workflow.
const (
	BugNone BugKind = bugs.None
	// BugLost: payment.processed (durable, step process_payment) is not
	// routed or published at all.
	BugLost BugKind = bugs.Lost
	// BugDuplicate: inventory.updated (fast, step update_inventory) is
	// routed and published twice by the same instance.
	BugDuplicate BugKind = bugs.Duplicate
	// BugBothInstances: the exactly-once claim of step process_payment is
	// bypassed, so two worker instances execute it and both publish its
	// event (payment.processed on success). It needs two or more instances
	// of the flavour.
	BugBothInstances BugKind = bugs.BothInstances
)

// ParseBugPlan reads a BugPlan from its text form.
func ParseBugPlan(spec string) (BugPlan, error) { return bugs.Parse(spec) }

// InjectedBug is the bug the task with this correlation ID gets under plan:
// the very function the workers run to decide, so a test knows in advance
// which of its tasks are affected, by which bug, in which step and event.
// The choice depends only on the plan (fractions and seed) and the
// correlation ID.
func InjectedBug(plan BugPlan, correlationID string) Bug { return plan.For(correlationID) }
