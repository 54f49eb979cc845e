package fault_test

import (
	"fmt"
	"time"

	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/fault"
)

// A worker's exporter sends one batch until the sink takes it; the first two
// attempts are refused with Unavailable and a RetryInfo of 1s. The ledger then
// shows that nothing was lost and that the exporter waited as asked.
func Example() {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var rules fault.Rules // also the flag.Value behind `traceproof serve --fault`
	for _, text := range []string{
		"grpc traces first=2 -> unavailable retry=1s",
		`correlation=order-B2 -> partial rejected=1 message="quota"`,
	} {
		if err := rules.Set(text); err != nil {
			fmt.Println(err)
			return
		}
	}
	in, err := fault.NewInjector(start, rules...)
	if err != nil {
		fmt.Println(err)
		return
	}

	var ledger fault.Ledger
	span := fault.SpanRef{TraceID: [16]byte{0: 0x4b, 15: 1}, SpanID: [8]byte{7: 1}}
	for _, at := range []time.Duration{0, 1200 * time.Millisecond, 2500 * time.Millisecond} {
		req := fault.Request{
			Time: start.Add(at), Transport: fault.TransportGRPC, Signal: fault.Traces,
			Sender: "127.0.0.1:40000", Instances: []string{"worker-rust-1"}, Correlations: []string{"order-A1"},
		}
		a, injected := in.Decide(req)
		if injected {
			fmt.Printf("+%v: %v, gRPC %v, retryable %v\n", at, a, status.Code(a.GRPCError()), a.Retryable())
		} else {
			fmt.Printf("+%v: the real answer\n", at)
		}
		// A refusal is the fault's answer; otherwise the sink stored the
		// spans and answered success (the zero Answer).
		given := fault.Answer{}
		if a.Refuses() {
			given = a
		}
		ledger.Add(fault.Attempt{Request: req, Spans: []fault.SpanRef{span}, Fault: a, Answer: given})
	}

	fmt.Println(fault.Lost(ledger.Attempts()))
	fmt.Println(fault.Retries(ledger.Attempts()))
	fmt.Println(fault.Duplicates(ledger.Attempts()))

	_, err = fault.ParseRule("grpc -> 429")
	fmt.Println(err)
	// Output:
	// +0s: unavailable retry=1s, gRPC Unavailable, retryable true
	// +1.2s: unavailable retry=1s, gRPC Unavailable, retryable true
	// +2.5s: the real answer
	// no span lost: 1 refused span was stored by a later attempt
	// retries honoured: 2 answers asked for a retry delay or for no retry, and no retry broke one
	// no duplicates: 1 stored span was stored once
	// fault rule "grpc -> 429": HTTP status 429 on a gRPC-only rule
}

// A rule as a Go value, for a receiver's options, and its text.
func ExampleRule() {
	r := fault.Rule{
		Transport: fault.TransportHTTP,
		Every:     2,
		Answer:    fault.HTTP(503).WithRetry(2 * time.Second),
	}
	fmt.Println(r, r.Validate())
	// Output: http every=2 -> 503 retry-after=2s <nil>
}
