package bugs

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

func TestParse(t *testing.T) {
	t.Parallel()
	p, err := Parse(" lost=0.25, duplicate=0.5 ,both_instances=0.125,seed=7")
	require.NoError(t, err)
	assert.Equal(t, Plan{Lost: 0.25, Duplicate: 0.5, BothInstances: 0.125, Seed: 7}, p)
	assert.True(t, p.Enabled())

	back, err := Parse(p.String())
	require.NoError(t, err)
	assert.Equal(t, p, back, "String is read back by Parse")

	zero, err := Parse("")
	require.NoError(t, err)
	assert.Equal(t, Plan{}, zero)
	assert.False(t, zero.Enabled())
	assert.Empty(t, zero.String())

	for spec, want := range map[string]string{
		"lost":                   "want key=value",
		"lost=2":                 "between 0 and 1",
		"lost=-0.1":              "between 0 and 1",
		"lost=NaN":               "between 0 and 1",
		"lost=x":                 "between 0 and 1",
		"lost=0.6,duplicate=0.6": "sum to 1.2",
		"seed=-1":                "whole number",
		"lost=0.1,lost=0.2":      "given twice",
		"vanished=0.1":           `unknown key "vanished"`,
	} {
		_, err := Parse(spec)
		if assert.Error(t, err, spec) {
			assert.Contains(t, err.Error(), want, spec)
		}
	}
}

// TestFor: the choice depends only on the seed and the correlation ID,
// follows the fractions, and changes with the seed.
func TestFor(t *testing.T) {
	t.Parallel()
	p := Plan{Lost: 0.2, Duplicate: 0.3, BothInstances: 0.1, Seed: 42}
	const n = 20000
	counts := map[Kind]int{}
	for i := range n {
		corr := fmt.Sprintf("task-%05d", i)
		b := p.For(corr)
		assert.Equal(t, b, p.For(corr), "the same task always gets the same bug")
		counts[b.Kind]++
	}
	for k, frac := range map[Kind]float64{Lost: 0.2, Duplicate: 0.3, BothInstances: 0.1, None: 0.4} {
		got := float64(counts[k]) / n
		// 20000 draws: a standard deviation below 0.004; 0.02 is 5 of them.
		assert.Less(t, math.Abs(got-frac), 0.02, "%q: %.3f of tasks, want %.2f", k, got, frac)
	}

	q := p
	q.Seed = 43
	differ := 0
	for i := range 1000 {
		corr := fmt.Sprintf("task-%05d", i)
		if p.For(corr).Kind != q.For(corr).Kind {
			differ++
		}
	}
	assert.Greater(t, differ, 300, "another seed picks other tasks")

	assert.Equal(t, Bug{}, Plan{Seed: 9}.For("x"), "a plan with no fractions affects nothing")
	all := Plan{Lost: 1}
	assert.Equal(t, Target(Lost), all.For("anything"))
}

// TestTargets: each bug's event is one its step publishes on success, so an
// affected task really loses or repeats it.
func TestTargets(t *testing.T) {
	t.Parallel()
	def, ok := workflow.Lookup("domain_events_rust", workflow.DomainEventPublishing, "")
	require.True(t, ok)
	for _, k := range Kinds() {
		b := Target(k)
		assert.Equal(t, k, b.Kind)
		step, ok := def.Step(b.Step)
		require.True(t, ok, "%s: step %q", k, b.Step)
		var names []string
		for _, e := range step.EventsFor(true) {
			names = append(names, e.Name)
		}
		assert.Contains(t, names, b.Event, "%s: step %s does not publish %s", k, b.Step, b.Event)
		assert.Contains(t, b.String(), b.Event)
	}
	assert.Equal(t, "none", Bug{}.String())
}
