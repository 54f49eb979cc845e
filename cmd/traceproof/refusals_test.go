package main

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

func unknownPathRefusal(at time.Time, i int) otlpsink.Refusal {
	sender := fmt.Sprintf("127.0.0.1:%d", 40000+i)
	return otlpsink.Refusal{Time: at, Sender: sender, Transport: spanstore.TransportHTTP, Path: "/v1/trace",
		Reason: otlpsink.ReasonUnknownPath, Message: "POST /v1/trace from " + sender + ": not an OTLP path; OTLP/HTTP exporters post to /v1/traces"}
}

// TestRefusalPrinterRateLimit: a flood prints at most perSecond lines in a
// second, then, when that second ends, one line counting the rest by
// reason; the next second starts afresh; close prints what the last second
// held back and the run's refusals by reason, with the latest message of
// each kind.
func TestRefusalPrinterRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out syncBuffer
		p := newRefusalPrinter(&out, 3)
		lines := func() []string { return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") }
		t0 := time.Now()

		for i := range 5 {
			p.add(unknownPathRefusal(time.Now(), i))
		}
		p.add(otlpsink.Refusal{Time: time.Now(), Sender: "127.0.0.1:9", Transport: spanstore.TransportGRPC,
			Path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export", Reason: otlpsink.ReasonDecode,
			Message: "cannot decode OTLP traces request from 127.0.0.1:9: proto: cannot parse invalid wire-format data"})
		require.Len(t, lines(), 3, "3 lines at once, the rest held back")
		stamp := t0.Format("15:04:05.000")
		assert.Equal(t, "traceproof serve: refused: "+stamp+" http unknown path: POST /v1/trace from 127.0.0.1:40000: not an OTLP path; OTLP/HTTP exporters post to /v1/traces", lines()[0])

		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		assert.Len(t, lines(), 3, "nothing until the second ends")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		require.Len(t, lines(), 4)
		assert.Equal(t, "traceproof serve: refused: … 3 more refused in the last second (unknown path 2, decode error 1); all are counted in the summary at exit", lines()[3])

		// A new second: printed at once again.
		time.Sleep(500 * time.Millisecond)
		p.add(otlpsink.Refusal{Time: time.Now(), Sender: "127.0.0.1:9", Transport: spanstore.TransportGRPC,
			Path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export", Reason: otlpsink.ReasonDecode,
			Message: "cannot decode OTLP traces request from 127.0.0.1:9: proto: cannot parse invalid wire-format data"})
		require.Len(t, lines(), 5)
		assert.Equal(t, "traceproof serve: refused: "+t0.Add(1500*time.Millisecond).Format("15:04:05.000")+
			" grpc decode error at /opentelemetry.proto.collector.trace.v1.TraceService/Export: cannot decode OTLP traces request from 127.0.0.1:9: proto: cannot parse invalid wire-format data", lines()[4])
		for i := range 4 {
			p.add(unknownPathRefusal(time.Now(), 10+i))
		}
		require.Len(t, lines(), 7, "3 per second")

		// Exit, with two refusals held back: its line, then the summary
		// (counts from Stats, which counts everything).
		p.close(spanstore.Stats{DecodeErrors: 2, UnknownPaths: map[string]uint64{"/v1/trace": 9}, Refused: map[string]uint64{"unauthenticated": 1}})
		got := lines()[7:]
		assert.Equal(t, []string{
			"traceproof serve: refused: … 2 more refused in the last second (unknown path 2); all are counted in the summary at exit",
			"traceproof serve: 12 requests refused, by reason:",
			"  unknown path     9 (/v1/trace 9); latest: " + t0.Add(1500*time.Millisecond).Format("15:04:05.000") + " http unknown path: POST /v1/trace from 127.0.0.1:40013: not an OTLP path; OTLP/HTTP exporters post to /v1/traces",
			"  decode error     2; latest: " + t0.Add(1500*time.Millisecond).Format("15:04:05.000") + " grpc decode error at /opentelemetry.proto.collector.trace.v1.TraceService/Export: cannot decode OTLP traces request from 127.0.0.1:9: proto: cannot parse invalid wire-format data",
			"  unauthenticated  1",
		}, got)

		// Nothing after close, and no timer left behind.
		p.add(unknownPathRefusal(time.Now(), 99))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Len(t, lines(), 12)
	})
}

func TestRefusalPrinterQuietRun(t *testing.T) {
	var out syncBuffer
	p := newRefusalPrinter(&out, 10)
	p.close(spanstore.Stats{})
	assert.Empty(t, out.String(), "no summary when nothing was refused")
}
