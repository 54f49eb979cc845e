package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// waitStderr waits until serve's stderr satisfies ok, woken by each write.
func (p *proc) waitStderr(what string, ok func(string) bool) string {
	p.t.Helper()
	deadline := time.NewTimer(timeout())
	defer deadline.Stop()
	for {
		s, changed := p.stderr.watch()
		if ok(s) {
			return s
		}
		select {
		case <-changed:
		case <-deadline.C:
			p.t.Fatalf("timed out waiting for %s on serve's stderr:\n%s", what, s)
		}
	}
}

func (p *proc) waitStderrLine(what string, re *regexp.Regexp) string {
	p.t.Helper()
	var line string
	p.waitStderr(what, func(s string) bool {
		line = re.FindString(s)
		return line != ""
	})
	return line
}

// rawPost sends one request and returns its status.
func rawPost(t *testing.T, url, ctype, body string, hdr ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeSaysWhatWentWrong: each refused, undecodable, unauthenticated
// or misdirected request prints a line on stderr as it happens, with its
// time, sender, path, reason and the fix; a flood prints at most 10 lines a
// second and one line counting the rest; the exit summary lists them all by
// reason.
func TestServeSaysWhatWentWrong(t *testing.T) {
	p := startServe(t, "--token", "tok")
	base := "http://" + p.httpAddr
	auth := []string{"Authorization", "Bearer tok"}
	stamp := `\d\d:\d\d:\d\d\.\d{3}`
	sender := `127\.0\.0\.1:\d+`

	assert.Equal(t, http.StatusNotFound, rawPost(t, base+"/v1/trace", "application/x-protobuf", "", auth...))
	p.waitStderrLine("the unknown path", regexp.MustCompile(`(?m)^traceproof serve: refused: `+stamp+` http unknown path: POST /v1/trace from `+sender+
		`: not an OTLP path; OTLP/HTTP exporters post to /v1/traces, /v1/metrics and /v1/logs: OTEL_EXPORTER_OTLP_ENDPOINT takes the base URL .*$`))

	assert.Equal(t, http.StatusUnauthorized, rawPost(t, base+"/v1/traces", "application/x-protobuf", ""))
	p.waitStderrLine("the missing token", regexp.MustCompile(`(?m)^traceproof serve: refused: `+stamp+` http unauthenticated: POST /v1/traces from `+sender+
		`: missing or wrong "Authorization: Bearer <token>" header$`))

	assert.Equal(t, http.StatusBadRequest, rawPost(t, base+"/v1/traces", "application/json",
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AQIDBAUGBwgJCgsMDQ4PEA==","spanId":"0102030405060708"}]}]}]}`, auth...))
	p.waitStderrLine("the undecodable body", regexp.MustCompile(`(?m)^traceproof serve: refused: `+stamp+` http decode error: POST /v1/traces from `+sender+`: cannot decode OTLP traces json: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: traceId must be 32 hex digits \(OTLP/JSON uses hex, not base64\): .*$`))

	exp := newExporter(t, "grpc", p.grpcAddr, "wrong")
	err := exp.ExportSpans(testContext(t), paymentProcessed.spans())
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	p.waitStderrLine("the gRPC refusal", regexp.MustCompile(`(?m)^traceproof serve: refused: `+stamp+` grpc unauthenticated at /opentelemetry\.proto\.collector\.trace\.v1\.TraceService/Export: traces from `+sender+`: missing or wrong bearer token$`))

	// A flood: 300 requests to a wrong path, 8 at a time.
	before := strings.Count(p.stderr.String(), "\n")
	const flood = 300
	var wg sync.WaitGroup
	next := atomic.Int32{}
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= flood {
				if code := rawPost(t, base+"/", "application/json", "{}", auth...); code != http.StatusNotFound {
					t.Errorf("flood: status %d", code)
				}
			}
		})
	}
	wg.Wait()
	moreLine := regexp.MustCompile(`(?m)^traceproof serve: refused: … (\d+) more refused in the last second \(unknown path (\d+)\); all are counted in the summary at exit$`)
	// The flood's lines, once its last second has ended: individual lines
	// plus the counted ones account for every request.
	counted := func(s string) (lines, more int) {
		for _, l := range strings.Split(s, "\n")[before:] {
			if m := moreLine.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				more += n
			} else if strings.HasPrefix(l, "traceproof serve: refused: ") {
				lines++
			}
		}
		return
	}
	s := p.waitStderr("every flood request accounted for", func(s string) bool {
		lines, more := counted(s)
		return lines+more == flood
	})
	lines, more := counted(s)
	t.Logf("flood of %d: %d lines, %d counted in '… more' lines", flood, lines, more)
	assert.Positive(t, more, "the flood is rate-limited")
	assert.Less(t, lines, flood)

	code, _ := p.stop()
	require.Equal(t, 0, code, p.stderr.String())
	stderr := p.stderr.String()
	summary := stderr[strings.Index(stderr, "traceproof serve: 304 requests refused, by reason:"):]
	t.Logf("exit summary:\n%s", summary)
	sl := strings.Split(summary, "\n")
	require.GreaterOrEqual(t, len(sl), 5)
	assert.Regexp(t, `^  unknown path     301 \(/ 300, /v1/trace 1\); latest: `+stamp+` http unknown path: POST / from `+sender+`: not an OTLP path; OTLP/HTTP exporters post to /v1/traces`, sl[1])
	assert.Regexp(t, `^  unauthenticated  2; latest: `+stamp+` grpc unauthenticated at /opentelemetry`, sl[2])
	assert.Regexp(t, `^  decode error     1; latest: `+stamp+` http decode error: POST /v1/traces`, sl[3])
	assert.True(t, strings.HasPrefix(sl[4], "traceproof: stopped; "), sl[4])
}

// exportLoop exports paymentProcessed's spans over transport until stop,
// counting the acknowledged requests in acked; reached is closed once n are.
func exportLoop(t *testing.T, transport, addr string, acked *atomic.Int64, n int64, reached chan struct{}, once *sync.Once, stop *atomic.Bool) func() {
	exp := newExporter(t, transport, addr, "")
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout())
			err := exp.ExportSpans(ctx, paymentProcessed.spans())
			cancel()
			if err != nil {
				if !stop.Load() {
					// The sink went away under the exporter: that is
					// the test's kill, reported through stop.
					for !stop.Load() {
						time.Sleep(time.Millisecond)
					}
				}
				return
			}
			if acked.Add(1) >= n {
				once.Do(func() { close(reached) })
			}
		}
	})
	return wg.Wait
}

// checkOutLines parses every complete line of an --out file and returns
// their number; a fragment after the last newline is returned too.
func checkOutLines(t *testing.T, path string) (complete int, fragment string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.Split(data, []byte("\n"))
	fragment = string(lines[len(lines)-1])
	var um ptrace.JSONUnmarshaler
	for i, l := range lines[:len(lines)-1] {
		td, err := um.UnmarshalTraces(l)
		require.NoError(t, err, "line %d of %s: %.120s", i+1, path, l)
		require.Equal(t, 3, td.SpanCount(), "line %d", i+1)
	}
	return len(lines) - 1, fragment
}

// TestServeOutSurvivesKill: SIGKILL a real serve while exporters send over
// gRPC and HTTP: every line the --out file holds parses, every request
// acknowledged before the kill has its line, and dump renders the file.
// After SIGTERM under the same load, the file is complete: it ends with a
// newline and holds every request serve says it wrote.
func TestServeOutSurvivesKill(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "spans.jsonl")
			p := startServe(t, "--out", out, "--print", "none")
			var acked atomic.Int64
			var stop atomic.Bool
			reached := make(chan struct{})
			var once sync.Once
			waitGRPC := exportLoop(t, "grpc", p.grpcAddr, &acked, 40, reached, &once, &stop)
			waitHTTP := exportLoop(t, "http", p.httpAddr, &acked, 40, reached, &once, &stop)
			select {
			case <-reached:
			case <-time.After(timeout()):
				t.Fatalf("only %d requests acknowledged", acked.Load())
			}
			ackedBefore := acked.Load()
			code, _ := p.stopWith(sig)
			stop.Store(true)
			waitGRPC()
			waitHTTP()

			complete, fragment := checkOutLines(t, out)
			t.Logf("%s: %d requests acknowledged before the signal, %d after; %d complete lines, fragment of %d bytes", sig, ackedBefore, acked.Load()-ackedBefore, complete, len(fragment))
			assert.GreaterOrEqual(t, int64(complete), ackedBefore, "every acknowledged request has its line")
			if sig == syscall.SIGTERM {
				require.Equal(t, 0, code, p.stderr.String())
				assert.Empty(t, fragment, "after SIGTERM the file ends with a whole line")
				assert.GreaterOrEqual(t, int64(complete), acked.Load())
				assert.Contains(t, p.stderr.String(), strconv.Itoa(complete)+" requests written to "+out)
			} else if fragment != "" {
				// A kill in the middle of a write leaves a line cut short;
				// it is never a whole line.
				_, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(fragment))
				assert.Error(t, err, "a fragment without its newline")
			}

			code, tree, errOut := runBinary(t, "dump", "--strict", out)
			if fragment == "" {
				assert.Equal(t, 0, code, errOut)
				assert.Empty(t, errOut)
			} else {
				assert.Equal(t, exitError, code)
				assert.Contains(t, errOut, ":"+strconv.Itoa(complete+1)+": cut short")
			}
			assert.Contains(t, tree, paymentProcessed.traceID().String())
		})
	}
}
