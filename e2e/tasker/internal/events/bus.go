package events

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

// Message is what the in-process bus hands to subscribers.
type Message struct {
	EventID       string
	EventName     string
	Namespace     string
	TaskUUID      string
	CorrelationID string
	Payload       map[string]any
}

// Handler receives in-process events.
type Handler func(ctx context.Context, m Message) error

type subscription struct {
	pattern string
	handler Handler
}

// Bus is the in-process event bus used by fast delivery. Handlers run
// synchronously in Publish.
type Bus struct {
	mu   sync.RWMutex
	subs []subscription

	dispatched       atomic.Uint64
	handlerDispatch  atomic.Uint64
	handlerErrors    atomic.Uint64
	unmatchedDropped atomic.Uint64
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{} }

// Subscribe registers h for events whose name matches pattern: "*", an exact
// name, or a prefix such as "payment.*".
func (b *Bus) Subscribe(pattern string, h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs, subscription{pattern: pattern, handler: h})
}

func matches(pattern, name string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, ".*"):
		return strings.HasPrefix(name, strings.TrimSuffix(pattern, "*"))
	default:
		return pattern == name
	}
}

// Publish dispatches m to every matching subscriber and returns the first
// handler error, after running all of them.
func (b *Bus) Publish(ctx context.Context, m Message) error {
	b.dispatched.Add(1)
	b.mu.RLock()
	subs := b.subs
	b.mu.RUnlock()
	var first error
	matched := false
	for _, s := range subs {
		if !matches(s.pattern, m.EventName) {
			continue
		}
		matched = true
		b.handlerDispatch.Add(1)
		if err := s.handler(ctx, m); err != nil {
			b.handlerErrors.Add(1)
			if first == nil {
				first = err
			}
		}
	}
	if !matched {
		b.unmatchedDropped.Add(1)
	}
	return first
}

// BusStats is the in_process_bus part of /metrics/events.
type BusStats struct {
	TotalEventsDispatched uint64 `json:"total_events_dispatched"`
	HandlerDispatches     uint64 `json:"handler_dispatches"`
	HandlerErrors         uint64 `json:"handler_errors"`
	UnmatchedEvents       uint64 `json:"unmatched_events"`
	SubscriberPatterns    int    `json:"subscriber_patterns"`
	HandlerCount          int    `json:"handler_count"`
}

// Stats returns the bus counters.
func (b *Bus) Stats() BusStats {
	b.mu.RLock()
	patterns := map[string]bool{}
	for _, s := range b.subs {
		patterns[s.pattern] = true
	}
	n := len(b.subs)
	b.mu.RUnlock()
	return BusStats{
		TotalEventsDispatched: b.dispatched.Load(),
		HandlerDispatches:     b.handlerDispatch.Load(),
		HandlerErrors:         b.handlerErrors.Load(),
		UnmatchedEvents:       b.unmatchedDropped.Load(),
		SubscriberPatterns:    len(patterns),
		HandlerCount:          n,
	}
}
