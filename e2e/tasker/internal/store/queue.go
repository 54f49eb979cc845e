package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// QueueMessage is one durable domain-event message.
type QueueMessage struct {
	MsgID         int64
	EventID       string
	EventName     string
	TaskUUID      string
	CorrelationID string
	Payload       json.RawMessage // includes task_uuid and correlation_id
	EnqueuedAt    time.Time
}

// SendJSONMessage appends a message to a durable queue table (one of the
// queues passed to Open) and returns its message id.
func (s *Store) SendJSONMessage(ctx context.Context, queue string, m QueueMessage) (int64, error) {
	if !s.queues[queue] {
		return 0, fmt.Errorf("unknown queue %q", queue)
	}
	if !json.Valid(m.Payload) {
		return 0, fmt.Errorf("queue %s: payload is not valid JSON", queue)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO `+queue+`
		(event_id, event_name, task_uuid, correlation_id, payload, enqueued_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		m.EventID, m.EventName, m.TaskUUID, m.CorrelationID, string(m.Payload), now())
	if err != nil {
		return 0, fmt.Errorf("queue %s: %w", queue, err)
	}
	return res.LastInsertId()
}

// QueueMessages reads the messages of a durable queue for one correlation id
// (all messages when correlationID is empty), oldest first.
func (s *Store) QueueMessages(ctx context.Context, queue, correlationID string) ([]QueueMessage, error) {
	if !s.queues[queue] {
		return nil, fmt.Errorf("unknown queue %q", queue)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT msg_id, event_id, event_name, task_uuid,
		correlation_id, payload, enqueued_at FROM `+queue+`
		WHERE ? = '' OR correlation_id = ? ORDER BY msg_id`, correlationID, correlationID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []QueueMessage
	for rows.Next() {
		var m QueueMessage
		var payload, enq string
		if err := rows.Scan(&m.MsgID, &m.EventID, &m.EventName, &m.TaskUUID,
			&m.CorrelationID, &payload, &enq); err != nil {
			return nil, err
		}
		m.Payload = json.RawMessage(payload)
		m.EnqueuedAt = parseTime(enq)
		out = append(out, m)
	}
	return out, rows.Err()
}
