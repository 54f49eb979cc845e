package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestChildEnv(t *testing.T) {
	t.Parallel()
	base := []string{"PATH=/bin", "OTEL_EXPORTER_OTLP_ENDPOINT=http://elsewhere:4317", "HOME=/root", "otel_service_name=x"}
	got := childEnv(base, "worker-rust-1", nil)
	assert.Equal(t, []string{"PATH=/bin", "HOME=/root", "OTEL_RESOURCE_ATTRIBUTES=service.instance.id=worker-rust-1"}, got)

	got = childEnv(base, "worker-rust-1", []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1234",
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test",
		"PATH=/usr/bin",
	})
	assert.Equal(t, []string{
		"PATH=/usr/bin", "HOME=/root",
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test,service.instance.id=worker-rust-1",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1234",
	}, got)

	got = childEnv(nil, "w", []string{"OTEL_RESOURCE_ATTRIBUTES=service.instance.id=custom"})
	assert.Equal(t, []string{"OTEL_RESOURCE_ATTRIBUTES=service.instance.id=custom"}, got)
}

func TestExpectedEvents(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []DomainEvent{
		{"order.validated", "Fast", StepValidateOrder},
		{"payment.processed", "Durable", StepProcessPayment},
		{"inventory.updated", "Fast", StepUpdateInventory},
		{"notification.sent", "Fast", StepSendNotification},
	}, ExpectedEvents(false))
	assert.Equal(t, []DomainEvent{
		{"order.validated", "Fast", StepValidateOrder},
		{"payment.failed", "Durable", StepProcessPayment},
	}, ExpectedEvents(true))
	assert.Equal(t, "domain_events_py", NamespaceFor("python"))
	assert.Equal(t, "domain_events_domain_events", QueueName(NamespaceFor("ruby")))
	assert.Equal(t, "", NamespaceFor("cobol"))
}
