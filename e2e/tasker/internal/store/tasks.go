package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Task is one row of tasks, with its steps ordered by position.
type Task struct {
	UUID          string
	Namespace     string
	Name          string
	Version       string
	Context       json.RawMessage
	CorrelationID string
	State         string
	FinalizedBy   string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinalizedAt   time.Time // zero until finalized
	Steps         []Step
}

// NewTask is what CreateTask needs.
type NewTask struct {
	Namespace     string
	Name          string
	Version       string
	Context       json.RawMessage // a JSON object; empty means {}
	CorrelationID string
	Steps         []string // step names in execution order
}

// CreateTask inserts a task and its steps in one transaction: the first step
// Enqueued, the others Pending.
func (s *Store) CreateTask(ctx context.Context, nt NewTask) (Task, error) {
	if len(nt.Context) == 0 {
		nt.Context = json.RawMessage(`{}`)
	}
	taskUUID, err := uuid.NewV7()
	if err != nil {
		return Task{}, err
	}
	ts := now()
	var t Task
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tasks
			(task_uuid, namespace, name, version, context, correlation_id, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			taskUUID.String(), nt.Namespace, nt.Name, nt.Version, string(nt.Context),
			nt.CorrelationID, TaskPending, ts, ts); err != nil {
			return fmt.Errorf("insert task: %w", err)
		}
		for i, name := range nt.Steps {
			stepUUID, err := uuid.NewV7()
			if err != nil {
				return err
			}
			state := StepPending
			if i == 0 {
				state = StepEnqueued
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO steps
				(step_uuid, task_uuid, name, position, state, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				stepUUID.String(), taskUUID.String(), name, i, state, ts, ts); err != nil {
				return fmt.Errorf("insert step %s: %w", name, err)
			}
		}
		// Read the task back before committing: once committed, a worker
		// may claim its first step at once, and the answer must be the
		// task as created.
		var err error
		t, err = getTask(ctx, tx, taskUUID.String())
		return err
	})
	if err != nil {
		return Task{}, err
	}
	return t, nil
}

// querier is what reading a task needs: the database, or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// GetTask reads a task and its steps. It returns ErrNotFound for an unknown
// task.
func (s *Store) GetTask(ctx context.Context, taskUUID string) (Task, error) {
	return getTask(ctx, s.db, taskUUID)
}

func getTask(ctx context.Context, q querier, taskUUID string) (Task, error) {
	var t Task
	var taskCtx, created, updated, finalized string
	err := q.QueryRowContext(ctx, `SELECT task_uuid, namespace, name, version, context,
		correlation_id, state, finalized_by, created_at, updated_at, finalized_at
		FROM tasks WHERE task_uuid = ?`, taskUUID).Scan(
		&t.UUID, &t.Namespace, &t.Name, &t.Version, &taskCtx,
		&t.CorrelationID, &t.State, &t.FinalizedBy, &created, &updated, &finalized)
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, ErrNotFound
	}
	if err != nil {
		return Task{}, err
	}
	t.Context = json.RawMessage(taskCtx)
	t.CreatedAt, t.UpdatedAt, t.FinalizedAt = parseTime(created), parseTime(updated), parseTime(finalized)
	t.Steps, err = stepsOf(ctx, q, taskUUID)
	if err != nil {
		return Task{}, err
	}
	return t, nil
}

// FinalizeCandidate is a task whose steps have all reached a terminal
// outcome: all Complete, or one in Error.
type FinalizeCandidate struct {
	TaskUUID      string
	Namespace     string
	Name          string
	CorrelationID string
	FinalState    string // TaskComplete or TaskError
}

// FinalizableTasks lists up to limit unfinalized tasks that are ready to be
// finalized. Several orchestration instances may see the same candidates;
// FinalizeTask decides which one wins.
func (s *Store) FinalizableTasks(ctx context.Context, limit int) ([]FinalizeCandidate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.task_uuid, t.namespace, t.name, t.correlation_id,
		EXISTS (SELECT 1 FROM steps e WHERE e.task_uuid = t.task_uuid AND e.state = 'Error')
		FROM tasks t
		WHERE t.state IN ('pending', 'in_progress')
		AND NOT EXISTS (SELECT 1 FROM steps r WHERE r.task_uuid = t.task_uuid AND r.state = 'InProgress')
		AND (
			EXISTS (SELECT 1 FROM steps e WHERE e.task_uuid = t.task_uuid AND e.state = 'Error')
			OR NOT EXISTS (SELECT 1 FROM steps o WHERE o.task_uuid = t.task_uuid AND o.state <> 'Complete')
		)
		ORDER BY t.created_at
		LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []FinalizeCandidate
	for rows.Next() {
		var c FinalizeCandidate
		var hasError bool
		if err := rows.Scan(&c.TaskUUID, &c.Namespace, &c.Name, &c.CorrelationID, &hasError); err != nil {
			return nil, err
		}
		c.FinalState = TaskComplete
		if hasError {
			c.FinalState = TaskError
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FinalizeTask moves an unfinalized task to state (TaskComplete or TaskError)
// and records the finalizing instance. Only one caller ever wins: it returns
// true for that caller and false for everyone else.
func (s *Store) FinalizeTask(ctx context.Context, taskUUID, state, instanceID string) (bool, error) {
	if !TaskFinal(state) {
		return false, fmt.Errorf("finalize: %q is not a final state", state)
	}
	ts := now()
	res, err := s.db.ExecContext(ctx, `UPDATE tasks
		SET state = ?, finalized_by = ?, finalized_at = ?, updated_at = ?
		WHERE task_uuid = ? AND state IN ('pending', 'in_progress')`,
		state, instanceID, ts, ts, taskUUID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}
