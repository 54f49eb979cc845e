package otlpsink

import (
	"context"
	"crypto/subtle"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/traceproof/traceproof/spanstore"
)

// The gRPC services are registered by hand rather than through pdata's
// RegisterGRPCServer so that a body that does not decode is answered with
// InvalidArgument, as the OTLP spec asks (grpc-go would say Internal), and so
// that decode errors and oversized requests are counted. Decoding is still
// pdata's: grpcMsg only adapts pdata's request types to the codec pdata
// registers for gRPC.

func (s *Sink) newGRPCServer() *grpc.Server {
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(s.cfg.maxMessageBytes),
		grpc.StatsHandler(compressionSeen{}),
		grpc.UnknownServiceHandler(s.grpcUnknown),
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
		if c, ok := ctx.Value(compressionKey{}).(*string); ok && *c != "" && *c != "identity" {
			o.Compressed = true
		}
		md, _ := metadata.FromIncomingContext(ctx)
		if s.cfg.token != "" {
			var got string
			if a := md.Get("authorization"); len(a) > 0 {
				got = a[0]
			}
			if !s.tokenOK(got) {
				msg := fmt.Sprintf("%s from %s: missing or wrong bearer token", sig.name, o.Sender)
				s.recv.refused(grpcSite(o, sig), "unauthenticated", msg)
				return nil, status.Error(codes.Unauthenticated, "traceproof sink: missing or wrong \"authorization: Bearer <token>\" metadata")
			}
		}
		m := &grpcMsg{req: sig.newReq()}
		err := dec(m)
		if err != nil {
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
		if m.err != nil {
			msg := fmt.Sprintf("cannot decode OTLP %s request from %s: %v", sig.name, o.Sender, m.err)
			s.recv.decodeError(grpcSite(o, sig), msg)
			return nil, status.Error(codes.InvalidArgument, msg)
		}
		out, err := s.consume(ctx, sig, m.req, o)
		if err != nil {
			return nil, err
		}
		resp, err := out.MarshalProto()
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		return &grpcMsg{resp: resp}, nil
	}
}

// tokenOK compares an Authorization value with the configured token in
// constant time.
func (s *Sink) tokenOK(header string) bool {
	want := "Bearer " + s.cfg.token
	return subtle.ConstantTimeCompare([]byte(header), []byte(want)) == 1
}

// grpcMsg satisfies the method set pdata's gRPC codec looks for, so requests
// are decoded by pdata and responses sent as the bytes pdata encoded. A decode
// error is kept rather than returned: grpc-go would answer it with Internal
// before the handler could say InvalidArgument.
type grpcMsg struct {
	req  exportRequest
	err  error
	resp []byte
}

func (m *grpcMsg) UnmarshalProto(b []byte) error {
	m.err = m.req.UnmarshalProto(b)
	return nil
}

func (m *grpcMsg) SizeProto() int              { return len(m.resp) }
func (m *grpcMsg) MarshalProto(buf []byte) int { return copy(buf, m.resp) }

// compressionSeen records each request's grpc-encoding, which grpc-go keeps
// out of the incoming metadata and shows only to stats handlers.
type compressionSeen struct{}

type compressionKey struct{}

func (compressionSeen) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, compressionKey{}, new(string))
}

func (compressionSeen) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		if c, ok := ctx.Value(compressionKey{}).(*string); ok {
			*c = h.Compression
		}
	}
}

func (compressionSeen) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (compressionSeen) HandleConn(context.Context, stats.ConnStats)                       {}
