package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// The methods in this file break the exactly-once claim on purpose: they let
// a second instance claim a step another instance is running. Only the
// worker's injected both_instances bug (package bugs) calls them.

// ClaimedElsewhere lists up to limit steps of namespace that another instance
// than instanceID has claimed once and is still running: what a second
// instance could take over with ClaimAgain.
func (s *Store) ClaimedElsewhere(ctx context.Context, namespace, instanceID string, limit int) ([]Candidate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.step_uuid, s.task_uuid, s.name, s.position,
		t.namespace, t.name, t.correlation_id, t.context
		FROM steps s JOIN tasks t ON t.task_uuid = s.task_uuid
		WHERE t.namespace = ? AND t.state = 'in_progress'
			AND s.state = 'InProgress' AND s.attempts = 1 AND s.executed_by != ?
		ORDER BY t.created_at, s.position
		LIMIT ?`, namespace, instanceID, limit)
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

// ClaimAgain claims a step that another instance claimed once and is still
// running, making instanceID its executor (so the first instance's result
// will be refused with ErrNotClaimed). At most one second claim per step
// succeeds; it returns false when the step was not in that state.
func (s *Store) ClaimAgain(ctx context.Context, stepUUID, instanceID string) (bool, error) {
	claimed := false
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE steps
			SET executed_by = ?, attempts = attempts + 1, updated_at = ?
			WHERE step_uuid = ? AND state = 'InProgress' AND attempts = 1 AND executed_by != ?`,
			instanceID, now(), stepUUID, instanceID)
		if err != nil {
			return fmt.Errorf("claim step again: %w", err)
		}
		n, err := res.RowsAffected()
		claimed = err == nil && n == 1
		return err
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}

// StepClaims returns how many times a step was claimed and by whom last.
func (s *Store) StepClaims(ctx context.Context, stepUUID string) (attempts int, executedBy string, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT attempts, executed_by FROM steps WHERE step_uuid = ?`, stepUUID).
		Scan(&attempts, &executedBy)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return attempts, executedBy, err
}
