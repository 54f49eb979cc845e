package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
)

const coreSchema = `
CREATE TABLE IF NOT EXISTS tasks (
	task_uuid      TEXT PRIMARY KEY,
	namespace      TEXT NOT NULL,
	name           TEXT NOT NULL,
	version        TEXT NOT NULL,
	context        TEXT NOT NULL,
	correlation_id TEXT NOT NULL,
	state          TEXT NOT NULL DEFAULT 'pending',
	finalized_by   TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	finalized_at   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tasks_state_idx ON tasks(state);
CREATE INDEX IF NOT EXISTS tasks_correlation_idx ON tasks(correlation_id);
CREATE TABLE IF NOT EXISTS steps (
	step_uuid   TEXT PRIMARY KEY,
	task_uuid   TEXT NOT NULL REFERENCES tasks(task_uuid),
	name        TEXT NOT NULL,
	position    INTEGER NOT NULL,
	state       TEXT NOT NULL,
	result      TEXT NOT NULL DEFAULT '',
	executed_by TEXT NOT NULL DEFAULT '',
	attempts    INTEGER NOT NULL DEFAULT 0,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	UNIQUE (task_uuid, position)
);
CREATE INDEX IF NOT EXISTS steps_state_idx ON steps(state);
`

const queueSchema = `
CREATE TABLE IF NOT EXISTS %[1]s (
	msg_id         INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id       TEXT NOT NULL UNIQUE,
	event_name     TEXT NOT NULL,
	task_uuid      TEXT NOT NULL,
	correlation_id TEXT NOT NULL,
	payload        TEXT NOT NULL,
	enqueued_at    TEXT NOT NULL,
	read_ct        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS %[1]s_correlation_idx ON %[1]s(correlation_id);
`

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func validQueueName(name string) error {
	if !identRe.MatchString(name) {
		return fmt.Errorf("invalid queue name %q", name)
	}
	return nil
}

// migrate creates the schema idempotently in one write transaction, so that
// several processes starting at once all succeed.
func migrate(ctx context.Context, db *sql.DB, queues []string) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, coreSchema); err != nil {
		return fmt.Errorf("core schema: %w", err)
	}
	for _, q := range queues {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(queueSchema, q)); err != nil {
			return fmt.Errorf("queue %s: %w", q, err)
		}
	}
	return tx.Commit()
}
