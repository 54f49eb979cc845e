package orchestration

import (
	"encoding/json"
	"time"

	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
)

// CreateTaskRequest is the body of POST /v1/tasks.
type CreateTaskRequest struct {
	Namespace     string          `json:"namespace"`
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	Context       json.RawMessage `json:"context"`
	CorrelationID string          `json:"correlation_id"`
}

// TaskResponse is a task as the API returns it.
type TaskResponse struct {
	TaskUUID      string          `json:"task_uuid"`
	Namespace     string          `json:"namespace"`
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	Context       json.RawMessage `json:"context"`
	CorrelationID string          `json:"correlation_id"`
	State         string          `json:"state"`
	FinalizedBy   string          `json:"finalized_by"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	FinalizedAt   *time.Time      `json:"finalized_at"`
	Steps         []StepResponse  `json:"steps"`
}

// StepResponse is a step as the API returns it.
type StepResponse struct {
	StepUUID   string          `json:"step_uuid"`
	Name       string          `json:"name"`
	Position   int             `json:"position"`
	State      string          `json:"state"`
	Result     json.RawMessage `json:"result"`
	ExecutedBy string          `json:"executed_by"`
	Attempts   int             `json:"attempts"`
}

func taskResponse(t store.Task) TaskResponse {
	r := TaskResponse{
		TaskUUID:      t.UUID,
		Namespace:     t.Namespace,
		Name:          t.Name,
		Version:       t.Version,
		Context:       t.Context,
		CorrelationID: t.CorrelationID,
		State:         t.State,
		FinalizedBy:   t.FinalizedBy,
		CreatedAt:     t.CreatedAt,
		UpdatedAt:     t.UpdatedAt,
		Steps:         make([]StepResponse, 0, len(t.Steps)),
	}
	if !t.FinalizedAt.IsZero() {
		fa := t.FinalizedAt
		r.FinalizedAt = &fa
	}
	for _, s := range t.Steps {
		res := s.Result
		if len(res) == 0 {
			res = json.RawMessage("null")
		}
		r.Steps = append(r.Steps, StepResponse{
			StepUUID:   s.UUID,
			Name:       s.Name,
			Position:   s.Position,
			State:      s.State,
			Result:     res,
			ExecutedBy: s.ExecutedBy,
			Attempts:   s.Attempts,
		})
	}
	return r
}
