package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/traceproof/traceproof/spanstore"
)

func TestWrap(t *testing.T) {
	assert.Equal(t, []string{"one two", "three"}, wrap("one two three", 8))
	assert.Equal(t, []string{"(default a,b,", "c,d)"}, wrap("(default a,b,c,d)", 13))
}

func TestRecentMapKeepsTheNewest(t *testing.T) {
	m := newRecentMap[int, string](2)
	m.put(1, "a")
	m.put(2, "b")
	m.put(2, "B")
	m.put(3, "c")
	_, ok := m.get(1)
	assert.False(t, ok, "the oldest key is forgotten")
	v, _ := m.get(2)
	assert.Equal(t, "B", v)
	v, _ = m.get(3)
	assert.Equal(t, "c", v)
	assert.Len(t, m.m, 2)
}

// TestLinePrinterCorrelation: a span's own correlation value wins; a span
// without one shows its trace's; columns widen for a long name.
func TestLinePrinterCorrelation(t *testing.T) {
	var b strings.Builder
	p := newLinePrinter(newOutput(&b), spanstore.DefaultCorrelationKeys())
	id := spanstore.TraceID{1}
	res := spanstore.Resource{Attributes: spanstore.Attributes{{Key: "service.name", Value: spanstore.StringValue("svc")}}}
	p.add([]spanstore.Span{{TraceID: id, Name: "child"}, {TraceID: id, Name: "root", Resource: res,
		Events: []spanstore.Event{{Name: "e", Attributes: spanstore.Attributes{{Key: "task_uuid", Value: spanstore.StringValue("t-1")}}}}}}, spanstore.Origin{Sender: "127.0.0.1:1"})
	p.add([]spanstore.Span{{TraceID: id, Name: "a_rather_long_span_name", Resource: res, Status: spanstore.Status{Code: spanstore.StatusError, Message: "boom"}},
		{TraceID: spanstore.TraceID{2}, Name: "lonely", Resource: res, Origin: spanstore.Origin{Sender: "127.0.0.1:1"}}}, spanstore.Origin{Sender: "127.0.0.1:1"})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	fields := func(i int) []string { return strings.Fields(lines[i]) }
	assert.Equal(t, []string{"-", "-", "child"}, fields(0)[1:4], "no instance, no service")
	assert.Equal(t, "t-1", fields(0)[5], lines[0])
	assert.Equal(t, "t-1", fields(1)[5], lines[1])
	assert.Equal(t, []string{"t-1", "ERROR", `"boom"`}, fields(2)[5:], lines[2])
	assert.Equal(t, "-", fields(3)[5], lines[3])
	assert.Equal(t, "127.0.0.1:1", fields(3)[1], "instance falls back to the sender")
	assert.Equal(t, strings.Index(lines[2], "0s"), strings.Index(lines[3], "0s"), "aligned after widening:\n%s", b.String())
}

// BenchmarkLinePrinter measures what printing adds to a request: formatting
// a batch of 512 spans (a batch span processor's default) and one flush.
func BenchmarkLinePrinter(b *testing.B) {
	res := spanstore.Resource{Attributes: spanstore.Attributes{
		{Key: "service.name", Value: spanstore.StringValue("tasker-core")},
		{Key: "service.instance.id", Value: spanstore.StringValue("worker-rust-1")},
	}}
	batch := make([]spanstore.Span, 512)
	start := time.Now()
	for i := range batch {
		batch[i] = spanstore.Span{TraceID: spanstore.TraceID{byte(i), byte(i >> 8)}, Name: "publish_event", Resource: res,
			Start: start, End: start.Add(1234 * time.Microsecond),
			Attributes: spanstore.Attributes{{Key: "correlation_id", Value: spanstore.StringValue(fmt.Sprint("corr-", i))}}}
	}
	p := newLinePrinter(newOutput(io.Discard), spanstore.DefaultCorrelationKeys())
	b.ReportAllocs()
	for b.Loop() {
		p.add(batch, spanstore.Origin{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/span")
}
