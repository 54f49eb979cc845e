package workflow

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
)

// The reference workflow.
const (
	DomainEventPublishing        = "domain_event_publishing"
	DomainEventPublishingVersion = "1.0.0"
)

// Step names of domain_event_publishing, in order.
const (
	StepValidateOrder    = "validate_order"
	StepProcessPayment   = "process_payment"
	StepUpdateInventory  = "update_inventory"
	StepSendNotification = "send_notification"
)

func domainEventPublishing(namespace string) Definition {
	return Definition{
		Namespace: namespace,
		Name:      DomainEventPublishing,
		Version:   DomainEventPublishingVersion,
		Steps: []StepDef{
			{
				Name:    StepValidateOrder,
				Handler: validateOrder,
				Events:  []EventDecl{{Name: "order.validated", Mode: events.Fast, Condition: OnSuccess}},
			},
			{
				Name:    StepProcessPayment,
				Handler: processPayment,
				Events: []EventDecl{
					{Name: "payment.processed", Mode: events.Durable, Condition: OnSuccess},
					{Name: "payment.failed", Mode: events.Durable, Condition: OnFailure},
				},
			},
			{
				Name:    StepUpdateInventory,
				Handler: updateInventory,
				Events:  []EventDecl{{Name: "inventory.updated", Mode: events.Fast, Condition: Always}},
			},
			{
				Name:    StepSendNotification,
				Handler: sendNotification,
				Events:  []EventDecl{{Name: "notification.sent", Mode: events.Fast, Condition: OnSuccess}},
			},
		},
	}
}

func shortID() string { return uuid.NewString()[:8] }

func validateOrder(in Input) Outcome {
	orderID, _ := in.Context["order_id"].(string)
	if orderID == "" {
		orderID = "ORD-" + shortID()
	}
	return Outcome{Success: true, Result: map[string]any{"order_id": orderID, "validated": true}}
}

func processPayment(in Input) Outcome {
	if fail, _ := in.Context["simulate_failure"].(bool); fail {
		return Outcome{Success: false, Result: map[string]any{
			"error":  "payment declined: simulated failure",
			"status": "failed",
		}}
	}
	res := map[string]any{"transaction_id": "TXN-" + shortID(), "status": "completed"}
	if amount, ok := in.Context["amount"]; ok {
		res["amount"] = amount
	}
	return Outcome{Success: true, Result: res}
}

func updateInventory(in Input) Outcome {
	items, ok := in.Context["items"].([]any)
	if !ok {
		items = []any{map[string]any{"sku": "SKU-001", "quantity": 1}}
	}
	return Outcome{Success: true, Result: map[string]any{"items": items, "success": true}}
}

func sendNotification(in Input) Outcome {
	channel, _ := in.Context["channel"].(string)
	if channel == "" {
		channel = "email"
	}
	return Outcome{Success: true, Result: map[string]any{
		"notification_id": fmt.Sprintf("NOTIF-%s", shortID()),
		"channel":         channel,
	}}
}
