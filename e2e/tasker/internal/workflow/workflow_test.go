package workflow

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	for _, f := range Flavours() {
		ns, ok := NamespaceFor(f)
		require.True(t, ok)
		d, ok := Lookup(ns, DomainEventPublishing, "")
		require.True(t, ok, ns)
		assert.Equal(t, []string{StepValidateOrder, StepProcessPayment, StepUpdateInventory, StepSendNotification}, d.StepNames())
		_, ok = Lookup(ns, DomainEventPublishing, "1.0.0")
		assert.True(t, ok)
		_, ok = Lookup(ns, DomainEventPublishing, "2.0.0")
		assert.False(t, ok)
		_, ok = Lookup(ns, "other", "")
		assert.False(t, ok)
	}
	_, ok := Lookup("nope", DomainEventPublishing, "")
	assert.False(t, ok)
	assert.Equal(t, []string{"python", "ruby", "rust"}, Flavours())
	assert.Equal(t, []string{"domain_events", "domain_events_py", "domain_events_rust"}, Namespaces())
}

func names(ds []EventDecl) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name+"/"+string(d.Mode))
	}
	return out
}

func TestStepsAndEvents(t *testing.T) {
	t.Parallel()
	d, _ := Lookup("domain_events_rust", DomainEventPublishing, "")
	in := Input{Context: map[string]any{"order_id": "ORD-1", "amount": 42.0}}

	v, _ := d.Step(StepValidateOrder)
	out := v.Handler(in)
	assert.True(t, out.Success)
	assert.Equal(t, map[string]any{"order_id": "ORD-1", "validated": true}, out.Result)
	assert.Equal(t, []string{"order.validated/Fast"}, names(v.EventsFor(true)))

	p, _ := d.Step(StepProcessPayment)
	out = p.Handler(in)
	assert.True(t, out.Success)
	assert.Equal(t, "completed", out.Result["status"])
	assert.NotEmpty(t, out.Result["transaction_id"])
	assert.Equal(t, []string{"payment.processed/" + string(events.Durable)}, names(p.EventsFor(true)))
	assert.Equal(t, []string{"payment.failed/Durable"}, names(p.EventsFor(false)))
	out = p.Handler(Input{Context: map[string]any{"simulate_failure": true}})
	assert.False(t, out.Success)
	assert.Contains(t, out.Result["error"], "simulated failure")

	u, _ := d.Step(StepUpdateInventory)
	out = u.Handler(in)
	assert.Equal(t, true, out.Result["success"])
	assert.NotEmpty(t, out.Result["items"])
	assert.Equal(t, []string{"inventory.updated/Fast"}, names(u.EventsFor(true)))
	assert.Equal(t, []string{"inventory.updated/Fast"}, names(u.EventsFor(false)))

	n, _ := d.Step(StepSendNotification)
	out = n.Handler(in)
	assert.Equal(t, "email", out.Result["channel"])
	assert.NotEmpty(t, out.Result["notification_id"])
	assert.Equal(t, []string{"notification.sent/Fast"}, names(n.EventsFor(true)))
}
