package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Step is one row of steps.
type Step struct {
	UUID       string
	TaskUUID   string
	Name       string
	Position   int
	State      string
	Result     json.RawMessage // nil until the step ran
	ExecutedBy string
	Attempts   int
	UpdatedAt  time.Time
}

func stepsOf(ctx context.Context, q querier, taskUUID string) ([]Step, error) {
	rows, err := q.QueryContext(ctx, `SELECT step_uuid, task_uuid, name, position, state,
		result, executed_by, attempts, updated_at
		FROM steps WHERE task_uuid = ? ORDER BY position`, taskUUID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Step
	for rows.Next() {
		var st Step
		var result, updated string
		if err := rows.Scan(&st.UUID, &st.TaskUUID, &st.Name, &st.Position, &st.State,
			&result, &st.ExecutedBy, &st.Attempts, &updated); err != nil {
			return nil, err
		}
		if result != "" {
			st.Result = json.RawMessage(result)
		}
		st.UpdatedAt = parseTime(updated)
		out = append(out, st)
	}
	return out, rows.Err()
}

// Candidate is a step that looked claimable when it was listed, with what a
// worker needs to run it.
type Candidate struct {
	StepUUID      string
	TaskUUID      string
	StepName      string
	Position      int
	Namespace     string
	TaskName      string
	CorrelationID string
	Context       json.RawMessage
}

// claimable is the condition for a step (aliased s) to be claimable: it is
// Pending or Enqueued, the previous step (if any) is Complete, and the task is
// not finalized.
const claimable = `s.state IN ('Pending', 'Enqueued')
	AND (s.position = 0 OR EXISTS (SELECT 1 FROM steps p
		WHERE p.task_uuid = s.task_uuid AND p.position = s.position - 1 AND p.state = 'Complete'))
	AND EXISTS (SELECT 1 FROM tasks t2
		WHERE t2.task_uuid = s.task_uuid AND t2.state IN ('pending', 'in_progress'))`

// ClaimableSteps lists up to limit steps of namespace's tasks that can be
// claimed now. Listing does not claim: use ClaimStep.
func (s *Store) ClaimableSteps(ctx context.Context, namespace string, limit int) ([]Candidate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.step_uuid, s.task_uuid, s.name, s.position,
		t.namespace, t.name, t.correlation_id, t.context
		FROM steps s JOIN tasks t ON t.task_uuid = s.task_uuid
		WHERE t.namespace = ? AND t.state IN ('pending', 'in_progress') AND `+claimable+`
		ORDER BY t.created_at, s.position
		LIMIT ?`, namespace, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		var taskCtx string
		if err := rows.Scan(&c.StepUUID, &c.TaskUUID, &c.StepName, &c.Position,
			&c.Namespace, &c.TaskName, &c.CorrelationID, &taskCtx); err != nil {
			return nil, err
		}
		c.Context = json.RawMessage(taskCtx)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimStep atomically moves a claimable step to InProgress under instanceID
// (and its task from pending to in_progress). It returns false when the step
// was not claimable any more, for example because another instance claimed it
// first. Across all processes, at most one ClaimStep per step returns true.
func (s *Store) ClaimStep(ctx context.Context, stepUUID, instanceID string) (bool, error) {
	claimed := false
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		ts := now()
		res, err := tx.ExecContext(ctx, `UPDATE steps AS s
			SET state = 'InProgress', executed_by = ?, attempts = attempts + 1, updated_at = ?
			WHERE s.step_uuid = ? AND `+claimable, instanceID, ts, stepUUID)
		if err != nil {
			return fmt.Errorf("claim step: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil || n != 1 {
			return err
		}
		claimed = true
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET state = 'in_progress', updated_at = ?
			WHERE state = 'pending' AND task_uuid = (SELECT task_uuid FROM steps WHERE step_uuid = ?)`,
			ts, stepUUID)
		return err
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}

// CompleteStep records a successful result for a step claimed by instanceID
// and enqueues the next step.
func (s *Store) CompleteStep(ctx context.Context, stepUUID, instanceID string, result json.RawMessage) error {
	return s.finishStep(ctx, stepUUID, instanceID, StepComplete, result)
}

// FailStep records a failed result for a step claimed by instanceID. Later
// steps stay Pending and never run.
func (s *Store) FailStep(ctx context.Context, stepUUID, instanceID string, result json.RawMessage) error {
	return s.finishStep(ctx, stepUUID, instanceID, StepError, result)
}

func (s *Store) finishStep(ctx context.Context, stepUUID, instanceID, state string, result json.RawMessage) error {
	if len(result) == 0 {
		result = json.RawMessage(`{}`)
	}
	return s.withTx(ctx, func(tx *sql.Tx) error {
		ts := now()
		res, err := tx.ExecContext(ctx, `UPDATE steps SET state = ?, result = ?, updated_at = ?
			WHERE step_uuid = ? AND state = 'InProgress' AND executed_by = ?`,
			state, string(result), ts, stepUUID, instanceID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("step %s: %w", stepUUID, ErrNotClaimed)
		}
		if state != StepComplete {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE steps SET state = 'Enqueued', updated_at = ?
			WHERE state = 'Pending' AND (task_uuid, position) =
				(SELECT task_uuid, position + 1 FROM steps WHERE step_uuid = ?)`, ts, stepUUID)
		return err
	})
}
