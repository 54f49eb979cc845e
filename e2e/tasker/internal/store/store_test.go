package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testQueues = []string{"domain_events_rust_domain_events", "domain_events_domain_events"}

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tasker.db")
	s, err := Open(context.Background(), path, testQueues...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func newTask(t *testing.T, s *Store, corr string) Task {
	t.Helper()
	task, err := s.CreateTask(context.Background(), NewTask{
		Namespace: "ns", Name: "wf", Version: "1.0.0",
		Context:       json.RawMessage(`{"a":1}`),
		CorrelationID: corr,
		Steps:         []string{"one", "two", "three"},
	})
	require.NoError(t, err)
	return task
}

func TestCreateAndGetTask(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	task := newTask(t, s, "corr-1")
	assert.Equal(t, TaskPending, task.State)
	assert.Equal(t, "corr-1", task.CorrelationID)
	assert.JSONEq(t, `{"a":1}`, string(task.Context))
	require.Len(t, task.Steps, 3)
	assert.Equal(t, StepEnqueued, task.Steps[0].State)
	assert.Equal(t, StepPending, task.Steps[1].State)
	assert.Equal(t, StepPending, task.Steps[2].State)
	assert.Equal(t, []string{"one", "two", "three"}, []string{task.Steps[0].Name, task.Steps[1].Name, task.Steps[2].Name})

	_, err := s.GetTask(ctx, "no-such-task")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestClaimOnlyFromPendingOrEnqueuedAfterPreviousComplete(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	task := newTask(t, s, "corr-claim")
	one, two := task.Steps[0].UUID, task.Steps[1].UUID

	// The second step is Pending but its predecessor is not Complete.
	ok, err := s.ClaimStep(ctx, two, "w1")
	require.NoError(t, err)
	assert.False(t, ok, "step two claimed before step one completed")

	cands, err := s.ClaimableSteps(ctx, "ns", 10)
	require.NoError(t, err)
	require.Len(t, cands, 1)
	assert.Equal(t, one, cands[0].StepUUID)
	assert.Equal(t, "corr-claim", cands[0].CorrelationID)

	ok, err = s.ClaimStep(ctx, one, "w1")
	require.NoError(t, err)
	require.True(t, ok)
	// InProgress: nobody can claim it again, not even the holder.
	for _, who := range []string{"w1", "w2"} {
		ok, err = s.ClaimStep(ctx, one, who)
		require.NoError(t, err)
		assert.False(t, ok, "re-claim of an InProgress step by %s", who)
	}
	got, err := s.GetTask(ctx, task.UUID)
	require.NoError(t, err)
	assert.Equal(t, TaskInProgress, got.State)
	assert.Equal(t, StepInProgress, got.Steps[0].State)
	assert.Equal(t, "w1", got.Steps[0].ExecutedBy)
	assert.Equal(t, 1, got.Steps[0].Attempts)

	// Only the claim holder may complete it.
	err = s.CompleteStep(ctx, one, "w2", json.RawMessage(`{}`))
	assert.ErrorIs(t, err, ErrNotClaimed)
	require.NoError(t, s.CompleteStep(ctx, one, "w1", json.RawMessage(`{"ok":true}`)))
	// Complete: not claimable again.
	ok, err = s.ClaimStep(ctx, one, "w2")
	require.NoError(t, err)
	assert.False(t, ok)

	got, err = s.GetTask(ctx, task.UUID)
	require.NoError(t, err)
	assert.Equal(t, StepComplete, got.Steps[0].State)
	assert.JSONEq(t, `{"ok":true}`, string(got.Steps[0].Result))
	assert.Equal(t, StepEnqueued, got.Steps[1].State)

	ok, err = s.ClaimStep(ctx, two, "w2")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.FailStep(ctx, two, "w2", json.RawMessage(`{"error":"boom"}`)))
	got, err = s.GetTask(ctx, task.UUID)
	require.NoError(t, err)
	assert.Equal(t, StepError, got.Steps[1].State)
	assert.Equal(t, StepPending, got.Steps[2].State, "a failed step must not enqueue the next")
	ok, err = s.ClaimStep(ctx, got.Steps[2].UUID, "w1")
	require.NoError(t, err)
	assert.False(t, ok, "a step after an Error step was claimed")

	fc, err := s.FinalizableTasks(ctx, 10)
	require.NoError(t, err)
	require.Len(t, fc, 1)
	assert.Equal(t, TaskError, fc[0].FinalState)
}

// Concurrent claimers, each with its own database handle (as separate
// processes would have), race for the same step: exactly one wins.
func TestConcurrentClaimExactlyOneWins(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	ctx := context.Background()
	const claimers = 8
	handles := make([]*Store, claimers)
	for i := range handles {
		h, err := Open(ctx, path, testQueues...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = h.Close() })
		handles[i] = h
	}
	for round := 0; round < 5; round++ {
		task := newTask(t, s, fmt.Sprintf("corr-race-%d", round))
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, h := range handles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				id := fmt.Sprintf("w%d", i)
				ok, err := h.ClaimStep(ctx, task.Steps[0].UUID, id)
				if err != nil {
					t.Errorf("claimer %s: %v", id, err)
					return
				}
				if ok {
					wins.Add(1)
					winner.Store(id)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Equal(t, int32(1), wins.Load(), "round %d", round)
		got, err := s.GetTask(ctx, task.UUID)
		require.NoError(t, err)
		assert.Equal(t, winner.Load(), got.Steps[0].ExecutedBy)
		assert.Equal(t, 1, got.Steps[0].Attempts)
	}
}

func TestFinalizeOnce(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	ctx := context.Background()
	task := newTask(t, s, "corr-final")

	fc, err := s.FinalizableTasks(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, fc, "a task with unfinished steps is not finalizable")

	for _, st := range task.Steps {
		ok, err := s.ClaimStep(ctx, st.UUID, "w1")
		require.NoError(t, err)
		require.True(t, ok)
		fc, err := s.FinalizableTasks(ctx, 10)
		require.NoError(t, err)
		assert.Empty(t, fc, "a task with an InProgress step is not finalizable")
		require.NoError(t, s.CompleteStep(ctx, st.UUID, "w1", nil))
	}
	fc, err = s.FinalizableTasks(ctx, 10)
	require.NoError(t, err)
	require.Len(t, fc, 1)
	assert.Equal(t, TaskComplete, fc[0].FinalState)
	assert.Equal(t, "corr-final", fc[0].CorrelationID)

	other, err := Open(ctx, path, testQueues...)
	require.NoError(t, err)
	defer func() { _ = other.Close() }()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i, h := range []*Store{s, other, s, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := h.FinalizeTask(ctx, task.UUID, TaskComplete, fmt.Sprintf("orchestration-%d", i))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	ok, err := s.FinalizeTask(ctx, task.UUID, TaskError, "late")
	require.NoError(t, err)
	assert.False(t, ok)
	got, err := s.GetTask(ctx, task.UUID)
	require.NoError(t, err)
	assert.Equal(t, TaskComplete, got.State)
	assert.NotEmpty(t, got.FinalizedBy)
	assert.False(t, got.FinalizedAt.IsZero())
	fc, err = s.FinalizableTasks(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, fc)

	_, err = s.FinalizeTask(ctx, task.UUID, TaskPending, "x")
	assert.Error(t, err)
}

// Several handles opening a fresh file at once all create the schema safely.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fresh.db")
	ctx := context.Background()
	var wg sync.WaitGroup
	stores := make([]*Store, 6)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, path, testQueues...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "opener %d", i)
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	var mode string
	require.NoError(t, stores[0].db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
}

func TestQueue(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	q := testQueues[0]
	id, err := s.SendJSONMessage(ctx, q, QueueMessage{
		EventID: "e1", EventName: "payment.processed", TaskUUID: "t1", CorrelationID: "c1",
		Payload: json.RawMessage(`{"task_uuid":"t1","correlation_id":"c1"}`),
	})
	require.NoError(t, err)
	assert.Positive(t, id)
	_, err = s.SendJSONMessage(ctx, q, QueueMessage{EventID: "e2", EventName: "x", TaskUUID: "t2", CorrelationID: "c2", Payload: json.RawMessage(`{}`)})
	require.NoError(t, err)

	msgs, err := s.QueueMessages(ctx, q, "c1")
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, "payment.processed", msgs[0].EventName)
	all, err := s.QueueMessages(ctx, q, "")
	require.NoError(t, err)
	assert.Len(t, all, 2)

	_, err = s.SendJSONMessage(ctx, "nope", QueueMessage{Payload: json.RawMessage(`{}`)})
	assert.Error(t, err)
	_, err = s.SendJSONMessage(ctx, q, QueueMessage{EventID: "e3", Payload: json.RawMessage(`{`)})
	assert.Error(t, err)
	// event ids are unique
	_, err = s.SendJSONMessage(ctx, q, QueueMessage{EventID: "e1", Payload: json.RawMessage(`{}`)})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, ErrNotFound))

	_, err = Open(ctx, filepath.Join(t.TempDir(), "x.db"), "Bad-Name;")
	assert.Error(t, err)
}
