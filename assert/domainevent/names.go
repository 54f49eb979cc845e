package domainevent

import "github.com/traceproof/traceproof/spanstore"

// Names are the span and attribute names by which a system publishes domain
// events. [DefaultNames] has DESIGN.md's; other systems pass theirs with
// [WithNames]. Empty fields take the defaults.
//
// The correlation ID is found through the source's correlation keys, which
// attach it to whole traces: route_event carries it in a span event,
// publish_event as a span attribute, and publish only through its parent.
// Give the reference system's keys ([CorrelationKeys]) to the store.
type Names struct {
	// RouteSpan roots each event's trace and says how it is delivered.
	RouteSpan string
	// DurableSpan is RouteSpan's child for durable and broadcast events.
	DurableSpan string
	// FastSpan is RouteSpan's child for fast and broadcast events.
	FastSpan string
	// SendSpan is DurableSpan's child that writes to the queue; failures
	// mention it when a durable publish did not confirm.
	SendSpan string
	// EventNameAttr names the event, on every span above.
	EventNameAttr string
	// DeliveryModeAttr on RouteSpan holds Fast, Durable or Broadcast.
	DeliveryModeAttr string
	// PublishedEvent is the span event on DurableSpan that confirms a
	// durable publish.
	PublishedEvent string
}

// DefaultNames returns the names of DESIGN.md.
func DefaultNames() Names {
	return Names{
		RouteSpan:        "route_event",
		DurableSpan:      "publish_event",
		FastSpan:         "publish",
		SendSpan:         "send_json_message",
		EventNameAttr:    "event_name",
		DeliveryModeAttr: "delivery_mode",
		PublishedEvent:   "Domain event published successfully",
	}
}

// CorrelationKeys returns the attribute keys the reference system (tasker)
// correlates by: its correlation and task IDs, plain and namespaced. Pass
// them to [spanstore.WithCorrelationKeys].
func CorrelationKeys() []string {
	return append(spanstore.DefaultCorrelationKeys(), "tasker.correlation_id", "tasker.task_uuid")
}

func (n Names) withDefaults() Names {
	d := DefaultNames()
	for _, f := range []struct {
		dst *string
		def string
	}{
		{&n.RouteSpan, d.RouteSpan}, {&n.DurableSpan, d.DurableSpan}, {&n.FastSpan, d.FastSpan},
		{&n.SendSpan, d.SendSpan}, {&n.EventNameAttr, d.EventNameAttr},
		{&n.DeliveryModeAttr, d.DeliveryModeAttr}, {&n.PublishedEvent, d.PublishedEvent},
	} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	return n
}

// Option configures [On] and [Check].
type Option interface{ apply(*Names) }

type optionFunc func(*Names)

func (f optionFunc) apply(n *Names) { f(n) }

// WithNames sets the span and attribute names of domain events, for systems
// whose names differ from DESIGN.md's.
func WithNames(n Names) Option { return optionFunc(func(dst *Names) { *dst = n.withDefaults() }) }
