package store

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClaimAgain: a step one instance runs can be taken over exactly once,
// by another instance, and the first instance's result is then refused.
func TestClaimAgain(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	task := newTask(t, s, "corr-again")
	one := task.Steps[0].UUID

	got, err := s.ClaimedElsewhere(ctx, "ns", "w2", 10)
	require.NoError(t, err)
	assert.Empty(t, got, "an Enqueued step is not claimed elsewhere")
	ok, err := s.ClaimAgain(ctx, one, "w2")
	require.NoError(t, err)
	assert.False(t, ok, "a step nobody claimed cannot be claimed again")

	ok, err = s.ClaimStep(ctx, one, "w1")
	require.NoError(t, err)
	require.True(t, ok)

	mine, err := s.ClaimedElsewhere(ctx, "ns", "w1", 10)
	require.NoError(t, err)
	assert.Empty(t, mine, "w1's own step is not claimed elsewhere for w1")
	got, err = s.ClaimedElsewhere(ctx, "ns", "w2", 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, one, got[0].StepUUID)
	assert.Equal(t, "corr-again", got[0].CorrelationID)
	assert.JSONEq(t, `{"a":1}`, string(got[0].Context))

	ok, err = s.ClaimAgain(ctx, one, "w1")
	require.NoError(t, err)
	assert.False(t, ok, "the holder cannot claim its own step again")
	ok, err = s.ClaimAgain(ctx, one, "w2")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.ClaimAgain(ctx, one, "w3")
	require.NoError(t, err)
	assert.False(t, ok, "only one second claim")

	attempts, by, err := s.StepClaims(ctx, one)
	require.NoError(t, err)
	assert.Equal(t, 2, attempts)
	assert.Equal(t, "w2", by)
	_, _, err = s.StepClaims(ctx, "no-such-step")
	assert.ErrorIs(t, err, ErrNotFound)

	assert.ErrorIs(t, s.CompleteStep(ctx, one, "w1", json.RawMessage(`{}`)), ErrNotClaimed,
		"the first instance lost the step")
	require.NoError(t, s.CompleteStep(ctx, one, "w2", json.RawMessage(`{}`)))
	got, err = s.ClaimedElsewhere(ctx, "ns", "w3", 10)
	require.NoError(t, err)
	assert.Empty(t, got, "a Complete step is not claimed elsewhere")
}
