package store

// Task states. A task leaves pending when its first step is claimed and is
// finalized (complete or error) exactly once, by an orchestration instance.
const (
	TaskPending    = "pending"
	TaskInProgress = "in_progress"
	TaskComplete   = "complete"
	TaskError      = "error"
)

// Step states. A step may be claimed only from Pending or Enqueued.
const (
	StepPending    = "Pending"
	StepEnqueued   = "Enqueued"
	StepInProgress = "InProgress"
	StepComplete   = "Complete"
	StepError      = "Error"
)

// TaskFinal reports whether a task state is terminal.
func TaskFinal(state string) bool {
	return state == TaskComplete || state == TaskError
}
