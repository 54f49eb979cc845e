// Package events routes domain events the way the real workers do, with the
// same span shapes: a route_event root span per event, then publish_event and
// send_json_message for durable delivery (a queue table insert), or publish
// for fast delivery (an in-process bus), or both for broadcast.
package events

// DeliveryMode is how a domain event is delivered.
type DeliveryMode string

// Delivery modes, spelled as the span attribute values.
const (
	Durable   DeliveryMode = "Durable"
	Fast      DeliveryMode = "Fast"
	Broadcast DeliveryMode = "Broadcast"
)

// Event is one domain event published by a step.
type Event struct {
	Name          string
	Mode          DeliveryMode
	Namespace     string
	TaskUUID      string
	StepUUID      string
	StepName      string
	CorrelationID string
	// Payload is the event body; task_uuid, correlation_id and friends are
	// added to it when it is published.
	Payload map[string]any
}

// QueueName is the durable queue of a namespace.
func QueueName(namespace string) string { return namespace + "_domain_events" }
