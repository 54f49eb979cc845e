package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/traceproof/traceproof/otlpsink"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		512 * time.Nanosecond:     "512ns",
		150_040 * time.Nanosecond: "150µs",
		1_249_999:                 "1.25ms",
		2_400_000_000:             "2.4s",
	} {
		assert.Equal(t, want, otlpsink.FormatDuration(d), "%d", d)
	}
}

func TestPad(t *testing.T) {
	assert.Equal(t, "ab   ", string(appendPadded(nil, "ab", 5)))
	assert.Equal(t, "wörke…", string(appendPadded(nil, "wörker-rust-1", 6)))
}

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
	p := newLinePrinter(newOutput(&b), otlpsink.DefaultCorrelationKeys)
	id := otlpsink.TraceID{1}
	res := otlpsink.Resource{Attributes: otlpsink.Attributes{{Key: "service.name", Value: otlpsink.StringValue("svc")}}}
	p.add([]otlpsink.Span{{TraceID: id, Name: "child"}, {TraceID: id, Name: "root", Resource: res,
		Events: []otlpsink.Event{{Name: "e", Attributes: otlpsink.Attributes{{Key: "task_uuid", Value: otlpsink.StringValue("t-1")}}}}}}, otlpsink.Origin{Sender: "127.0.0.1:1"})
	p.add([]otlpsink.Span{{TraceID: id, Name: "a_rather_long_span_name", Resource: res, Status: otlpsink.Status{Code: otlpsink.StatusError, Message: "boom"}},
		{TraceID: otlpsink.TraceID{2}, Name: "lonely", Resource: res, Origin: otlpsink.Origin{Sender: "127.0.0.1:1"}}}, otlpsink.Origin{Sender: "127.0.0.1:1"})
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
	res := otlpsink.Resource{Attributes: otlpsink.Attributes{
		{Key: "service.name", Value: otlpsink.StringValue("tasker-core")},
		{Key: "service.instance.id", Value: otlpsink.StringValue("worker-rust-1")},
	}}
	batch := make([]otlpsink.Span, 512)
	start := time.Now()
	for i := range batch {
		batch[i] = otlpsink.Span{TraceID: otlpsink.TraceID{byte(i), byte(i >> 8)}, Name: "publish_event", Resource: res,
			Start: start, End: start.Add(1234 * time.Microsecond),
			Attributes: otlpsink.Attributes{{Key: "correlation_id", Value: otlpsink.StringValue(fmt.Sprint("corr-", i))}}}
	}
	p := newLinePrinter(newOutput(io.Discard), otlpsink.DefaultCorrelationKeys)
	b.ReportAllocs()
	for b.Loop() {
		p.add(batch, otlpsink.Origin{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/span")
}
