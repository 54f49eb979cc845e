package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"

	"github.com/traceproof/traceproof/bench/spangen"
)

// startSenders starts c.conns senders, alternately over gRPC and HTTP, each
// sending request after request (numbered from seq) until ctx ends. A
// failed request is an error of the soak, unless ctx has ended.
func startSenders(ctx context.Context, wg *sync.WaitGroup, c config, tpl *spangen.Template, seq *atomic.Uint64, grpcAddr, httpAddr string, cnt *counters) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.conns, DisableCompression: true}, Timeout: time.Minute}
	for i := range c.conns {
		var send func(context.Context, []byte) error
		var closeFn func()
		if i%2 == 0 {
			conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
			if err != nil {
				return err
			}
			send = func(ctx context.Context, req []byte) error {
				var resp []byte
				if err := conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &req, &resp); err != nil {
					return err
				}
				return checkResponse(resp)
			}
			closeFn = func() { _ = conn.Close() }
		} else {
			url := "http://" + httpAddr + "/v1/traces"
			send = func(ctx context.Context, req []byte) error { return postProto(ctx, client, url, req) }
			closeFn = func() {}
		}
		wg.Go(func() {
			defer closeFn()
			buf := tpl.Bytes()
			for ctx.Err() == nil {
				tpl.Stamp(buf, seq.Add(1))
				rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := send(rctx, buf)
				cancel()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					cnt.sendErrors.Add(1)
					cnt.fail("send: %v", err)
					continue
				}
				cnt.requests.Add(1)
				cnt.spans.Add(int64(tpl.Spans()))
			}
		})
	}
	return nil
}

func postProto(ctx context.Context, client *http.Client, url string, req []byte) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := client.Do(hr)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s: %.200s", resp.Status, body)
	}
	return checkResponse(body)
}

// checkResponse fails on a partial success: every span must be accepted.
func checkResponse(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	resp := ptraceotlp.NewExportResponse()
	if err := resp.UnmarshalProto(body); err != nil {
		return fmt.Errorf("undecodable response: %v", err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() > 0 {
		return fmt.Errorf("%d spans rejected: %s", ps.RejectedSpans(), ps.ErrorMessage())
	}
	return nil
}

// rawCodec passes pre-encoded protobuf bytes through gRPC unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, errors.New("rawCodec: not *[]byte")
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
