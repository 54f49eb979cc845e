package otlpsink

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/spanstore"
)

// The gRPC services are registered by hand, with a codec that does not
// decode at all: rawCodec hands each handler the request's bytes and sends
// the bytes the handler encoded. Decoding happens in the handler, like the
// HTTP transport's, so a body that does not decode is answered with
// InvalidArgument, as the OTLP spec asks (a failing codec makes grpc-go say
// Internal), decode errors and oversized requests are counted, and the
// trace signal can decode straight into the store (spanstore's IngestProto)
// without building pdata first.

func (s *Sink) newGRPCServer() *grpc.Server {
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(s.cfg.maxMessageBytes),
		grpc.UnknownServiceHandler(s.grpcUnknown),
		grpc.ForceServerCodecV2(rawCodec{}),
		// Workers keep their stacks between requests: a new goroutine per
		// request would grow its stack for the decoder every time (6% of the
		// CPU of 1-span requests). grpc-go falls back to a new goroutine
		// when all are busy.
		grpc.NumStreamWorkers(uint32(4*runtime.GOMAXPROCS(0))),
	)
	for _, sig := range signals {
		srv.RegisterService(&grpc.ServiceDesc{
			ServiceName: sig.service,
			HandlerType: (*any)(nil),
			Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: s.ledgerGRPC(sig, s.grpcExport(sig))}},
		}, s)
	}
	return srv
}

func (s *Sink) grpcExport(sig signal) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		o := spanstore.Origin{Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			o.Sender = p.Addr.String()
		}
		// grpc-go keeps grpc-encoding out of the incoming metadata; the
		// stream it puts in the context says it.
		if c, ok := grpc.ServerTransportStreamFromContext(ctx).(interface{ RecvCompress() string }); ok {
			o.Compressed = c.RecvCompress() != "" && c.RecvCompress() != "identity"
		}
		if s.cfg.token != "" {
			var got string
			if a := metadata.ValueFromIncomingContext(ctx, "authorization"); len(a) > 0 {
				got = a[0]
			}
			if !s.tokenOK(got) {
				msg := fmt.Sprintf("%s from %s: missing or wrong bearer token", sig.name, o.Sender)
				s.recv.refused(grpcSite(o, sig), "unauthenticated", msg)
				return nil, status.Error(codes.Unauthenticated, "traceproof sink: missing or wrong \"authorization: Bearer <token>\" metadata")
			}
		}
		var req rawMessage
		if err := dec(&req); err != nil {
			// grpc-go has already answered (ResourceExhausted for an
			// oversized message, Internal for a body that did not
			// decompress); count it.
			msg := fmt.Sprintf("%s from %s: %v", sig.name, o.Sender, status.Convert(err).Message())
			if status.Code(err) == codes.ResourceExhausted {
				s.recv.refused(grpcSite(o, sig), "too large", msg)
			} else {
				s.recv.decodeError(grpcSite(o, sig), msg)
			}
			return nil, err
		}
		// Decoding is synchronous and keeps nothing of the body, so its
		// buffers go back to their pools as soon as it is done.
		resp, err := s.export(ctx, sig, req.bytes(), o)
		req.free()
		var derr *decodeError
		if errors.As(err, &derr) {
			msg := fmt.Sprintf("cannot decode OTLP %s request from %s: %v", sig.name, o.Sender, derr.err)
			s.recv.decodeError(grpcSite(o, sig), msg)
			return nil, status.Error(codes.InvalidArgument, msg)
		}
		if err != nil {
			return nil, err
		}
		b, err := resp.MarshalProto()
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		return &rawMessage{resp: b}, nil
	}
}

// tokenOK compares an Authorization value with the configured token in
// constant time.
func (s *Sink) tokenOK(header string) bool {
	want := "Bearer " + s.cfg.token
	return subtle.ConstantTimeCompare([]byte(header), []byte(want)) == 1
}

// rawMessage is a request or response as bytes on the wire. A request
// grpc-go received in one buffer is referenced; one in several (a message
// longer than an HTTP/2 frame) is copied into a pooled buffer, one of those
// the HTTP transport reads bodies into: unlike grpc-go's, that pool does not
// clear what it hands out, which is a tenth of the CPU of a 64 KiB request.
type rawMessage struct {
	data mem.BufferSlice
	buf  *bytes.Buffer
	resp []byte
}

func (m *rawMessage) bytes() []byte {
	switch {
	case m.buf != nil:
		return m.buf.Bytes()
	case len(m.data) == 1:
		return m.data[0].ReadOnlyData()
	}
	return nil
}

func (m *rawMessage) free() {
	m.data.Free()
	if m.buf != nil {
		putBodyBuffer(m.buf)
	}
	*m = rawMessage{}
}

// rawCodec is the server's only codec. It never fails: whether a request
// decodes is for the handler to say.
type rawCodec struct{}

var _ encoding.CodecV2 = rawCodec{}

// Name is "proto" so that it serves the content subtype OTLP clients send
// (application/grpc and application/grpc+proto).
func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("traceproof sink: cannot send a %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.resp)}, nil
}

// Unmarshal keeps the request's bytes for the handler, which frees them.
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("traceproof sink: cannot receive into a %T", v)
	}
	if len(data) <= 1 {
		data.Ref()
		m.data = data
		return nil
	}
	m.buf = getBodyBuffer()
	m.buf.Grow(data.Len())
	for _, d := range data {
		m.buf.Write(d.ReadOnlyData())
	}
	return nil
}
