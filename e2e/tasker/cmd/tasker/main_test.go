package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/e2e/tasker/internal/bugs"
)

func TestParse(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	o, err := parse([]string{"worker", "--flavour", "python", "--db", "x.db", "--instance-id", "worker-python-1"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, "worker", o.role)
	assert.Equal(t, "domain_events_py", o.namespace)
	assert.Equal(t, "127.0.0.1:0", o.listen)
	assert.Equal(t, "worker-python-1", o.instanceID)

	o, err = parse([]string{"worker", "--flavour", "rust", "--db", "x.db", "--inject-bug", "lost=0.5,seed=3"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, bugs.Plan{Lost: 0.5, Seed: 3}, o.bugs)
	_, err = parse([]string{"worker", "--flavour", "rust", "--db", "x.db", "--inject-bug", "lost=3"}, &stderr)
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "--inject-bug")
		assert.Contains(t, err.Error(), "between 0 and 1")
	}

	o, err = parse([]string{"orchestration", "--db", "x.db"}, &stderr)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(o.instanceID, "orchestration-"))

	for _, args := range [][]string{
		nil,
		{"scheduler", "--db", "x"},
		{"worker", "--db", "x"},
		{"worker", "--flavour", "cobol", "--db", "x"},
		{"orchestration"},
		{"orchestration", "--db", "x", "extra"},
		{"orchestration", "--db", "x", "--flavour", "rust"},
	} {
		_, err := parse(args, &stderr)
		assert.Error(t, err, "%q", args)
	}
	assert.Equal(t, 2, run([]string{"worker"}, &bytes.Buffer{}, &bytes.Buffer{}))
	assert.Equal(t, 0, run([]string{"help"}, &bytes.Buffer{}, &bytes.Buffer{}))
}
