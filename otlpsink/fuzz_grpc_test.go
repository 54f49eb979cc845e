package otlpsink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the client side of gzip
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// wireBytes puts fuzzed bytes on the gRPC wire as they are.
type wireBytes []byte

type wireCodec struct{}

func (wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*wireBytes)
	if !ok {
		return nil, fmt.Errorf("wireCodec: %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*wireBytes) = data.Materialize()
	return nil
}

func (wireCodec) Name() string { return "proto" }

// FuzzGRPCExport sends fuzzed bytes, as they are or gzip-compressed, to a
// real sink's Export methods over a real gRPC connection, as a raw-bytes
// client. Whatever the bytes: the answer is OK, with an export response
// that decodes, or InvalidArgument; OK is counted as a request, and
// InvalidArgument as a decode error reported once to WithOnRefused; the
// sink keeps the span it held and accepts the next good request. Every input
// goes to a sink with each decoder, and both answer it alike. The seed
// corpus is in testdata/fuzz/FuzzGRPCExport.
func FuzzGRPCExport(f *testing.F) {
	sinks := fuzzSinks(f, true)
	var conns []*grpc.ClientConn
	for _, s := range sinks {
		cc, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(wireCodec{})))
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { cc.Close() })
		conns = append(conns, cc)
	}
	good := goodTracesProto(f)
	f.Fuzz(func(t *testing.T, service uint8, gz bool, body []byte) {
		var answers []codes.Code
		for i, s := range sinks {
			answers = append(answers, s.fuzzGRPC(t, conns[i], good, service, gz, body))
		}
		if answers[0] != answers[1] {
			t.Fatalf("%x: the direct decoder's sink answers %s, pdata's %s", body, answers[0], answers[1])
		}
	})
}

// fuzzGRPC is one input of FuzzGRPCExport against s; it returns the code.
func (s *fuzzSink) fuzzGRPC(t *testing.T, cc *grpc.ClientConn, good []byte, service uint8, gz bool, body []byte) codes.Code {
	t.Helper()
	sig := signals[int(service)%len(signals)]
	method := "/" + sig.service + "/Export"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+fuzzToken)
	var opts []grpc.CallOption
	if gz {
		opts = append(opts, grpc.UseCompressor("gzip"))
	}

	before := s.Stats()
	s.refusals.take()
	req, resp := wireBytes(body), wireBytes(nil)
	err := cc.Invoke(ctx, method, &req, &resp, opts...)
	after := s.Stats()
	got := s.refusals.take()

	switch code := status.Code(err); code {
	case codes.OK:
		if len(got) != 0 || refusedTotal(after) != refusedTotal(before) || after.Requests != before.Requests+1 {
			t.Fatalf("%s %x: OK, yet refusals %v, Requests %d -> %d", sig.name, body, got, before.Requests, after.Requests)
		}
		if derr := decodeExportResponse(sig.name, resp); derr != nil {
			t.Fatalf("%s %x: OK with a response that does not decode: %v", sig.name, body, derr)
		}
	case codes.InvalidArgument:
		if len(got) != 1 || got[0].Reason != ReasonDecode || got[0].Path != method {
			t.Fatalf("%s %x: InvalidArgument reported to WithOnRefused as %+v", sig.name, body, got)
		}
		if after.DecodeErrors != before.DecodeErrors+1 || refusedTotal(after) != refusedTotal(before)+1 {
			t.Fatalf("%s %x: InvalidArgument, but decode errors went from %d to %d", sig.name, body, before.DecodeErrors, after.DecodeErrors)
		}
	default:
		t.Fatalf("%s %x (gzip %v): %s: %v; want OK or InvalidArgument", sig.name, body, gz, code, err)
	}
	s.checkHeld(t)

	req = wireBytes(good)
	if err := cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &req, &resp); err != nil {
		t.Fatalf("after %s %x: a good request fails: %v", sig.name, body, err)
	}
	return status.Code(err)
}

func decodeExportResponse(signal string, b []byte) error {
	switch signal {
	case "traces":
		return ptraceotlp.NewExportResponse().UnmarshalProto(b)
	case "metrics":
		return pmetricotlp.NewExportResponse().UnmarshalProto(b)
	}
	return plogotlp.NewExportResponse().UnmarshalProto(b)
}
