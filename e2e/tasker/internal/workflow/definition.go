package workflow

import (
	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
)

// Condition says when a step publishes an event.
type Condition string

// Publication conditions.
const (
	OnSuccess Condition = "success"
	OnFailure Condition = "failure"
	Always    Condition = "always"
)

// EventDecl declares a domain event a step publishes.
type EventDecl struct {
	Name      string
	Mode      events.DeliveryMode
	Condition Condition
}

// Input is what a step handler sees.
type Input struct {
	TaskUUID      string
	StepUUID      string
	StepName      string
	Namespace     string
	CorrelationID string
	Context       map[string]any
}

// Outcome is what a step handler returns.
type Outcome struct {
	Success bool
	Result  map[string]any // stored as the step result
}

// Handler runs one step.
type Handler func(in Input) Outcome

// StepDef is one step of a workflow.
type StepDef struct {
	Name    string
	Handler Handler
	Events  []EventDecl
}

// EventsFor returns the events the step publishes for an outcome.
func (s StepDef) EventsFor(success bool) []EventDecl {
	var out []EventDecl
	for _, e := range s.Events {
		switch {
		case e.Condition == Always,
			e.Condition == OnSuccess && success,
			e.Condition == OnFailure && !success:
			out = append(out, e)
		}
	}
	return out
}

// Definition is a workflow template.
type Definition struct {
	Namespace string
	Name      string
	Version   string
	Steps     []StepDef
}

// StepNames lists the step names in execution order.
func (d Definition) StepNames() []string {
	out := make([]string, len(d.Steps))
	for i, s := range d.Steps {
		out[i] = s.Name
	}
	return out
}

// Step finds a step by name.
func (d Definition) Step(name string) (StepDef, bool) {
	for _, s := range d.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return StepDef{}, false
}

// Lookup finds the workflow for a namespace, name and version. An empty
// version means the latest (the only) one.
func Lookup(namespace, name, version string) (Definition, bool) {
	if name != DomainEventPublishing {
		return Definition{}, false
	}
	if version != "" && version != DomainEventPublishingVersion {
		return Definition{}, false
	}
	for _, ns := range namespaces {
		if ns == namespace {
			return domainEventPublishing(namespace), true
		}
	}
	return Definition{}, false
}
