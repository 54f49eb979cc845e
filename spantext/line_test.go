package spantext

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/traceproof/traceproof/spanstore"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		512 * time.Nanosecond:     "512ns",
		150_040 * time.Nanosecond: "150µs",
		1_249_999:                 "1.25ms",
		2_400_000_000:             "2.4s",
	} {
		assert.Equal(t, want, FormatDuration(d), "%d", d)
	}
}

func TestPad(t *testing.T) {
	assert.Equal(t, "ab   ", string(appendPadded(nil, "ab", 5)))
	assert.Equal(t, "wörke…", string(appendPadded(nil, "wörker-rust-1", 6)))
}

func TestLinesWidenAndColour(t *testing.T) {
	l := NewLines(false)
	s := spanstore.Span{Name: "publish_event", Start: time.Date(2026, 1, 1, 9, 26, 53, 589e6, time.Local),
		Resource: spanstore.Resource{Attributes: spanstore.Attributes{{Key: "service.name", Value: spanstore.StringValue("tasker-core")},
			{Key: "service.instance.id", Value: spanstore.StringValue("worker-rust-1")}}},
		Status: spanstore.Status{Code: spanstore.StatusError, Message: "queue down"}}
	s.End = s.Start.Add(1500 * time.Microsecond)
	got := string(l.Append(nil, &s, "corr-1"))
	assert.Equal(t, "09:26:53.589  worker-rust-1  tasker-core  publish_event          1.5ms  corr-1  ERROR \"queue down\"\n", got)
	s.Name = "a-much-longer-span-name-than-before"
	assert.Contains(t, string(l.Append(nil, &s, "")), "a-much-longer-span-name-than-before      1.5ms  -  ERROR")
	colored := string(NewLines(true).Append(nil, &s, "c"))
	assert.Contains(t, colored, ansiRed+"ERROR")
	assert.Contains(t, colored, ansiCyan+"worker-rust-1")
}
