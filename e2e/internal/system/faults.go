package system

import (
	"fmt"
	"slices"
	"strings"

	"github.com/traceproof/traceproof/fault"
)

// The fault mode: TRACEPROOF_E2E_FAULTS gives the suite's sink fault rules
// (fault.ParseRule's syntax, separated by ';'), so that the suite proves its
// domain events while the sink refuses, say, the first requests of every
// instance:
//
//	TRACEPROOF_E2E_FAULTS='traces first=2 -> unavailable; http traces first=2 -> 503'
//
// With the built-in system, a rule that selects no instance or sender
// applies to each instance on its own: it is repeated for every process the
// suite starts, with instance=ID added, so that first=2 refuses the first two
// requests of every instance rather than the first two of the run. (Through
// the Collector, a request carries several instances' spans; it meets the
// rule of the first instance whose count is not used up.) For an external
// system the rules apply as written.

// parseFaults reads EnvFaults.
func parseFaults(v string) ([]fault.Rule, error) {
	var rules []fault.Rule
	for _, text := range splitRules(v) {
		r, err := fault.ParseRule(strings.TrimSpace(text))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvFaults, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// splitRules splits at the ';' outside double-quoted values
// (message="a; b"), dropping empty rules.
func splitRules(v string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, v[start:])
	return slices.DeleteFunc(out, func(s string) bool { return strings.TrimSpace(s) == "" })
}

// plannedInstances are the instance IDs the harness starts for mode and
// flavours (checkPlanned verifies it did).
func plannedInstances(mode string, flavours []string) []string {
	n := 1
	if mode == ModeCluster {
		n = 2
	}
	var ids []string
	for i := 1; i <= n; i++ {
		ids = append(ids, fmt.Sprintf("orchestration-%d", i))
	}
	for _, f := range flavours {
		for i := 1; i <= n; i++ {
			ids = append(ids, fmt.Sprintf("worker-%s-%d", f, i))
		}
	}
	return ids
}

// perInstance repeats each rule that selects no instance or sender once per
// planned instance, in rule order.
func perInstance(rules []fault.Rule, mode string, flavours []string) []fault.Rule {
	var out []fault.Rule
	for _, r := range rules {
		if r.Instance != "" || r.Sender != "" {
			out = append(out, r)
			continue
		}
		for _, id := range plannedInstances(mode, flavours) {
			r := r
			r.Instance = id
			out = append(out, r)
		}
	}
	return out
}

// checkPlanned fails when the cluster's instances are not the ones the
// fault rules were repeated for.
func (s *System) checkPlanned() error {
	if len(s.faults) == 0 {
		return nil
	}
	var got []string
	for _, in := range s.Cluster.Instances() {
		got = append(got, in.ID)
	}
	want := plannedInstances(s.Mode, s.flavours)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s: the rules were repeated for instances %q, but the cluster runs %q", EnvFaults, want, got)
	}
	return nil
}

// FaultRules are the sink's fault rules, as configured (before they were
// repeated per instance); nil outside the fault mode.
func (s *System) FaultRules() []fault.Rule { return s.faults }
