package events

import "time"

// RouterStats is the router part of /metrics/events.
type RouterStats struct {
	TotalRouted        uint64 `json:"total_routed"`
	DurableRouted      uint64 `json:"durable_routed"`
	FastRouted         uint64 `json:"fast_routed"`
	BroadcastRouted    uint64 `json:"broadcast_routed"`
	FastDeliveryErrors uint64 `json:"fast_delivery_errors"`
	RoutingErrors      uint64 `json:"routing_errors"`
}

// Snapshot is the body of a worker's GET /metrics/events.
type Snapshot struct {
	Router       RouterStats `json:"router"`
	InProcessBus BusStats    `json:"in_process_bus"`
	CapturedAt   time.Time   `json:"captured_at"`
	WorkerID     string      `json:"worker_id"`
}

// Snapshot captures the router's and its bus's counters now.
func (r *Router) Snapshot(workerID string) Snapshot {
	return Snapshot{
		Router:       r.Stats(),
		InProcessBus: r.bus.Stats(),
		CapturedAt:   time.Now().UTC(),
		WorkerID:     workerID,
	}
}
