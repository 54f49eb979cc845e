// Package store is the shared state of the tasker system: tasks, steps and the
// durable domain-event queues, in one SQLite file (WAL mode) that every
// orchestration and worker process opens at the same time.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a handle on the shared database. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	path   string
	queues map[string]bool
}

// busyTimeout is how long SQLite itself waits for a lock before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// dsn builds the connection string. Every transaction begun through
// database/sql is BEGIN IMMEDIATE, so a transaction never has to upgrade a
// read snapshot to a write lock (which could fail with SQLITE_BUSY_SNAPSHOT
// without waiting).
func dsn(path string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "foreign_keys(1)")
	return path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and makes sure the
// schema exists, including one durable queue table per name in queues.
// Several processes may call Open on the same path at once. The path must not
// contain '?'.
func Open(ctx context.Context, path string, queues ...string) (*Store, error) {
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("database path %q must not contain '?'", path)
	}
	qs := make(map[string]bool, len(queues))
	for _, q := range queues {
		if err := validQueueName(q); err != nil {
			return nil, err
		}
		qs[q] = true
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)

	// Switching a fresh file to WAL and creating the schema can race with
	// other processes doing the same; retry busy errors with a deadline.
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		err = db.PingContext(ctx)
		if err == nil {
			err = migrate(ctx, db, queues)
		}
		if err == nil {
			break
		}
		if !isBusy(err) || time.Now().After(deadline) {
			_ = db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = db.Close()
			return nil, ctx.Err()
		case <-time.After(time.Duration(5+attempt*5) * time.Millisecond):
		}
	}
	return &Store{db: db, path: path, queues: qs}, nil
}

// Close closes the database handle.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file path.
func (s *Store) Path() string { return s.path }

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// withTx runs fn in a BEGIN IMMEDIATE transaction and commits it.
func (s *Store) withTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
