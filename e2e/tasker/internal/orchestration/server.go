package orchestration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/traceproof/traceproof/e2e/tasker/internal/httpjson"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// SpanCreateTask is the span of POST /v1/tasks.
const SpanCreateTask = "create_task"

// Long-poll limits for GET /v1/tasks/{uuid}?wait=final.
const (
	defaultWait   = 10 * time.Second
	maxWait       = 60 * time.Second
	waitRecheck   = 10 * time.Millisecond
	maxCreateBody = 1 << 20
)

// Handler serves the orchestration REST API:
//
//	POST /v1/tasks                                  create a task (201)
//	GET  /v1/tasks/{task_uuid}                      read a task (404 if unknown)
//	GET  /v1/tasks/{task_uuid}?wait=final&timeout=D long-poll until finalized (408 on timeout)
//	GET  /health
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/tasks", s.createTask)
	mux.HandleFunc("GET /v1/tasks/{task_uuid}", s.getTask)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, httpjson.Health{Status: "ok", InstanceID: s.cfg.InstanceID, Role: "orchestration"})
	})
	return mux
}

func (s *Service) createTask(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCreateBody))
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	var req CreateTaskRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	if req.CorrelationID == "" {
		httpjson.Error(w, http.StatusBadRequest, "correlation_id is required")
		return
	}
	def, ok := workflow.Lookup(req.Namespace, req.Name, req.Version)
	if !ok {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("unknown workflow %s/%s version %q", req.Namespace, req.Name, req.Version))
		return
	}
	taskCtx := bytes.TrimSpace(req.Context)
	if len(taskCtx) == 0 || bytes.Equal(taskCtx, []byte("null")) {
		taskCtx = []byte("{}")
	}
	if taskCtx[0] != '{' {
		httpjson.Error(w, http.StatusBadRequest, "context must be a JSON object")
		return
	}

	ctx, span := s.tracer.Start(r.Context(), SpanCreateTask,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String(AttrCorrelationID, req.CorrelationID),
			attribute.String(AttrNamespace, def.Namespace),
			attribute.String(AttrTaskName, def.Name),
			attribute.String(AttrOrchestrationInstance, s.cfg.InstanceID),
		))
	defer span.End()
	task, err := s.store.CreateTask(ctx, store.NewTask{
		Namespace:     def.Namespace,
		Name:          def.Name,
		Version:       def.Version,
		Context:       json.RawMessage(taskCtx),
		CorrelationID: req.CorrelationID,
		Steps:         def.StepNames(),
	})
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		s.log.Error("creating task", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "creating task: "+err.Error())
		return
	}
	span.SetAttributes(attribute.String(AttrTaskUUID, task.UUID))
	s.created.Add(ctx, 1, metric.WithAttributes(attribute.String(AttrNamespace, def.Namespace)))
	s.log.Info("task created", "task_uuid", task.UUID, "namespace", def.Namespace, "correlation_id", req.CorrelationID)
	httpjson.Write(w, http.StatusCreated, taskResponse(task))
}

func (s *Service) getTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("task_uuid")
	q := r.URL.Query()
	switch q.Get("wait") {
	case "":
		task, err := s.store.GetTask(r.Context(), id)
		s.writeTask(w, task, err)
	case "final":
		timeout := defaultWait
		if v := q.Get("timeout"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("bad timeout %q", v))
				return
			}
			timeout = min(d, maxWait)
		}
		s.waitFinal(w, r, id, timeout)
	default:
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("unknown wait %q (only wait=final)", q.Get("wait")))
	}
}

// waitFinal re-reads the task on a short ticker until it is finalized, the
// timeout passes (408 with the task as it is), or the request or server ends.
func (s *Service) waitFinal(w http.ResponseWriter, r *http.Request, id string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(waitRecheck)
	defer tick.Stop()
	for {
		task, err := s.store.GetTask(ctx, id)
		if err == nil && store.TaskFinal(task.State) {
			s.writeTask(w, task, nil)
			return
		}
		if err != nil && ctx.Err() == nil {
			s.writeTask(w, task, err)
			return
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		if r.Context().Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			// client went away or the server is shutting down
			httpjson.Error(w, http.StatusServiceUnavailable, "wait aborted: "+r.Context().Err().Error())
			return
		}
		task, err = s.store.GetTask(context.WithoutCancel(ctx), id)
		if err != nil {
			s.writeTask(w, task, err)
			return
		}
		status := http.StatusRequestTimeout
		if store.TaskFinal(task.State) {
			status = http.StatusOK
		}
		httpjson.Write(w, status, taskResponse(task))
		return
	}
}

func (s *Service) writeTask(w http.ResponseWriter, task store.Task, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "task not found")
	case err != nil:
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
	default:
		httpjson.Write(w, http.StatusOK, taskResponse(task))
	}
}
