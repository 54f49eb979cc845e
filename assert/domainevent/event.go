package domainevent

import "github.com/traceproof/traceproof/spanstore"

// Delivery is how a domain event is delivered, as route_event's
// delivery_mode spells it.
type Delivery string

// Delivery modes.
const (
	// DeliveryDurable events go through a queue; they count once their
	// publish_event records "Domain event published successfully".
	DeliveryDurable Delivery = "Durable"
	// DeliveryFast events go through the in-process bus; they count once
	// their publish span exists.
	DeliveryFast Delivery = "Fast"
	// DeliveryBroadcast events go both ways and count once both confirm.
	DeliveryBroadcast Delivery = "Broadcast"
)

// Event is an event a test expects: a name and, unless empty, the delivery
// mode it must be routed with.
type Event struct {
	Name string
	Mode Delivery
}

// Fast expects a fast event.
func Fast(name string) Event { return Event{name, DeliveryFast} }

// Durable expects a durable event.
func Durable(name string) Event { return Event{name, DeliveryDurable} }

// Broadcast expects a broadcast event.
func Broadcast(name string) Event { return Event{name, DeliveryBroadcast} }

func (e Event) String() string {
	if e.Mode == "" {
		return e.Name
	}
	return e.Name + " (" + string(e.Mode) + ")"
}

// Proof is a domain event proven published.
type Proof struct {
	Name string
	// Mode is the delivery mode route_event recorded.
	Mode Delivery
	// Route is the route_event span; Publish are the spans that confirm it
	// (publish_event for durable, publish for fast, both for broadcast).
	Route   spanstore.Span
	Publish []spanstore.Span
	// Instance ran the task step that published it.
	Instance string
}
