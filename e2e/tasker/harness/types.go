package harness

import (
	"time"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

// The reference workflow.
const (
	WorkflowName    = workflow.DomainEventPublishing        // "domain_event_publishing"
	WorkflowVersion = workflow.DomainEventPublishingVersion // "1.0.0"
)

// Step names of the reference workflow, in order.
const (
	StepValidateOrder    = workflow.StepValidateOrder
	StepProcessPayment   = workflow.StepProcessPayment
	StepUpdateInventory  = workflow.StepUpdateInventory
	StepSendNotification = workflow.StepSendNotification
)

// Task states, as the API reports them.
const (
	TaskPending    = store.TaskPending
	TaskInProgress = store.TaskInProgress
	TaskComplete   = store.TaskComplete
	TaskError      = store.TaskError
)

// Step states, as the API reports them.
const (
	StepPending    = store.StepPending
	StepEnqueued   = store.StepEnqueued
	StepInProgress = store.StepInProgress
	StepComplete   = store.StepComplete
	StepError      = store.StepError
)

// Flavours lists the worker flavours: python, ruby, rust.
func Flavours() []string { return workflow.Flavours() }

// NamespaceFor is the namespace a flavour's workers serve ("" if unknown):
// rust → domain_events_rust, ruby → domain_events, python → domain_events_py.
func NamespaceFor(flavour string) string {
	ns, _ := workflow.NamespaceFor(flavour)
	return ns
}

// QueueName is a namespace's durable queue (the send_json_message "queue").
func QueueName(namespace string) string { return events.QueueName(namespace) }

// DomainEvent is an event the reference workflow publishes.
type DomainEvent struct {
	Name         string // e.g. payment.processed
	DeliveryMode string // Durable or Fast
	Step         string // the step that publishes it
}

// ExpectedEvents lists, in order, the domain events one task of the
// reference workflow publishes: on success order.validated,
// payment.processed, inventory.updated, notification.sent; with
// simulate_failure order.validated and payment.failed.
func ExpectedEvents(simulateFailure bool) []DomainEvent {
	def, _ := workflow.Lookup(NamespaceFor("rust"), WorkflowName, WorkflowVersion)
	var out []DomainEvent
	for _, s := range def.Steps {
		success := !(simulateFailure && s.Name == StepProcessPayment)
		for _, e := range s.EventsFor(success) {
			out = append(out, DomainEvent{Name: e.Name, DeliveryMode: string(e.Mode), Step: s.Name})
		}
		if !success {
			break
		}
	}
	return out
}

// CreateTaskRequest is the body of POST /v1/tasks.
type CreateTaskRequest struct {
	Namespace     string         `json:"namespace"`
	Name          string         `json:"name"`
	Version       string         `json:"version,omitempty"`
	Context       map[string]any `json:"context,omitempty"`
	CorrelationID string         `json:"correlation_id"`
}

// DomainEventTask is a request for the reference workflow in a flavour's
// namespace, failing its payment step when simulateFailure is set.
func DomainEventTask(flavour, correlationID string, simulateFailure bool) CreateTaskRequest {
	ctx := map[string]any{
		"order_id": "ORD-" + correlationID,
		"amount":   99.95,
		"items":    []any{map[string]any{"sku": "SKU-001", "quantity": 2}},
	}
	if simulateFailure {
		ctx["simulate_failure"] = true
	}
	return CreateTaskRequest{
		Namespace:     NamespaceFor(flavour),
		Name:          WorkflowName,
		Version:       WorkflowVersion,
		Context:       ctx,
		CorrelationID: correlationID,
	}
}

// Task is a task as the orchestration API returns it.
type Task struct {
	TaskUUID      string         `json:"task_uuid"`
	Namespace     string         `json:"namespace"`
	Name          string         `json:"name"`
	Version       string         `json:"version"`
	Context       map[string]any `json:"context"`
	CorrelationID string         `json:"correlation_id"`
	State         string         `json:"state"`
	FinalizedBy   string         `json:"finalized_by"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	FinalizedAt   *time.Time     `json:"finalized_at"`
	Steps         []Step         `json:"steps"`
}

// Final reports whether the task has been finalized (complete or error).
func (t Task) Final() bool { return t.State == TaskComplete || t.State == TaskError }

// Step returns the named step.
func (t Task) Step(name string) (Step, bool) {
	for _, s := range t.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// Step is one step of a task.
type Step struct {
	StepUUID   string         `json:"step_uuid"`
	Name       string         `json:"name"`
	Position   int            `json:"position"`
	State      string         `json:"state"`
	Result     map[string]any `json:"result"` // nil until the step ran
	ExecutedBy string         `json:"executed_by"`
	Attempts   int            `json:"attempts"`
}

// EventMetrics is a worker's GET /metrics/events.
type EventMetrics struct {
	Router       RouterMetrics `json:"router"`
	InProcessBus BusMetrics    `json:"in_process_bus"`
	CapturedAt   time.Time     `json:"captured_at"`
	WorkerID     string        `json:"worker_id"`
}

// RouterMetrics are the worker's domain-event router counters.
type RouterMetrics struct {
	TotalRouted        uint64 `json:"total_routed"`
	DurableRouted      uint64 `json:"durable_routed"`
	FastRouted         uint64 `json:"fast_routed"`
	BroadcastRouted    uint64 `json:"broadcast_routed"`
	FastDeliveryErrors uint64 `json:"fast_delivery_errors"`
	RoutingErrors      uint64 `json:"routing_errors"`
}

// BusMetrics are the worker's in-process bus counters.
type BusMetrics struct {
	TotalEventsDispatched uint64 `json:"total_events_dispatched"`
	HandlerDispatches     uint64 `json:"handler_dispatches"`
	HandlerErrors         uint64 `json:"handler_errors"`
	UnmatchedEvents       uint64 `json:"unmatched_events"`
	SubscriberPatterns    int    `json:"subscriber_patterns"`
	HandlerCount          int    `json:"handler_count"`
}

// Health is GET /health of any instance.
type Health struct {
	Status     string `json:"status"`
	InstanceID string `json:"instance_id"`
	Role       string `json:"role"`
	Namespace  string `json:"namespace,omitempty"`
}
