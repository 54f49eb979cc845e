// Command loadgen is traceproof's out-of-process load generator: it sends
// pre-encoded OTLP trace requests (bench/spangen: batches of 100 spans of
// about 640 bytes, each request stamped with fresh trace IDs and correlation
// values) over several concurrent connections, as fast as the receiver
// accepts them, and measures the receiver process from its own accounting.
//
//	loadgen run -name traceproof -addr 127.0.0.1:4317 -pid 1234 -out results.jsonl
//	loadgen report results.jsonl
//	loadgen freeport 2
//
// run sends over gRPC (default) or HTTP/protobuf: first -fill spans in
// 100-span requests (so that a receiver that stores spans is full, and
// evicting, before anything is measured), then -batch-span requests for
// -warmup and then -duration (or until -spans spans were accepted in the
// measured window), and reports
// spans per second accepted, the receiver's CPU seconds per million spans
// (utime+stime from /proc/PID/stat over the measured window) and its peak
// resident memory (VmHWM from /proc/PID/status). It exits non-zero if any
// request failed or nothing was accepted. report renders a results file as
// Markdown tables with ratios to traceproof.
//
// Only loopback targets are accepted: this is a benchmark, not a load tester.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"

	"github.com/traceproof/traceproof/bench/spangen"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen run|report|freeport [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "report":
		err = reportCmd(os.Args[2:])
	case "freeport":
		err = freeportCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want run, report or freeport", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// Result is one measured run, one JSON line in the results file.
type Result struct {
	Name          string  `json:"name"`
	Proto         string  `json:"proto"`
	Round         int     `json:"round"`
	Conns         int     `json:"conns"`
	Batch         int     `json:"batch"`
	RequestBytes  int     `json:"request_bytes"`
	Seconds       float64 `json:"seconds"`
	Requests      int64   `json:"requests"`
	Spans         int64   `json:"spans"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
	SpansPerSec   float64 `json:"spans_per_sec"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMSpans  float64 `json:"cpu_s_per_mspans"`
	PeakRSSKiB    int64   `json:"peak_rss_kib"`
	RSSKiB        int64   `json:"rss_kib"`
	LoadgenCPUSec float64 `json:"loadgen_cpu_seconds"`
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	name := fs.String("name", "receiver", "receiver name for the report")
	proto := fs.String("proto", "grpc", "grpc or http (OTLP/HTTP protobuf)")
	addr := fs.String("addr", "127.0.0.1:4317", "receiver host:port (loopback only)")
	conns := fs.Int("conns", 4, "concurrent connections, one request in flight on each")
	batch := fs.Int("batch", 100, "spans per request")
	warmup := fs.Duration("warmup", 2*time.Second, "load before the measured window")
	duration := fs.Duration("duration", 10*time.Second, "measured window")
	maxSpans := fs.Int64("spans", 0, "end the measured window once this many spans were accepted (0: no limit)")
	fill := fs.Int64("fill", 0, "send this many spans in 100-span requests before the warm-up, unmeasured")
	firstSeq := fs.Uint64("first-seq", 0, "number requests (and so traces and tasks) from `N`: runs against one receiver must not overlap")
	pid := fs.Int("pid", 0, "receiver process ID to measure (0: none)")
	round := fs.Int("round", 1, "round number, for the report")
	ready := fs.Duration("ready-timeout", 60*time.Second, "how long to wait for the receiver to accept a first request")
	out := fs.String("out", "", "append the result as a JSON line to `FILE`")
	_ = fs.Parse(args)

	if err := checkLoopback(*addr); err != nil {
		return err
	}
	if *conns < 1 || *batch < 1 || *duration <= 0 {
		return errors.New("-conns, -batch and -duration must be positive")
	}
	tpl := spangen.New(*batch)
	var newSender func() (sender, error)
	switch *proto {
	case "grpc":
		newSender = func() (sender, error) { return newGRPCSender(*addr) }
	case "http":
		client := &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true,
		}, Timeout: 30 * time.Second}
		url := "http://" + *addr + "/v1/traces"
		newSender = func() (sender, error) { return &httpSender{client: client, url: url}, nil }
	default:
		return fmt.Errorf("-proto %q: want grpc or http", *proto)
	}

	// Wait until the receiver answers (Jaeger takes a while to start).
	probe, err := newSender()
	if err != nil {
		return err
	}
	var seq atomic.Uint64
	seq.Store(*firstSeq)
	deadline := time.Now().Add(*ready)
	for {
		err := probe.send(context.Background(), tpl.Request(seq.Add(1)))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s at %s not ready after %s: %v", *name, *addr, *ready, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	probe.close()

	fill0 := time.Now()
	if err := fillReceiver(newSender, *conns, *fill, &seq); err != nil {
		return fmt.Errorf("%s: filling with %d spans: %v", *name, *fill, err)
	}
	if *fill > 0 {
		fmt.Printf("%-12s %-4s round %d: filled with %d spans in %.1fs\n", *name, *proto, *round, *fill, time.Since(fill0).Seconds())
	}

	var (
		spans, requests, errs atomic.Int64
		firstErr              atomic.Pointer[string]
		stop                  atomic.Bool
		wg                    sync.WaitGroup
	)
	hardStop := time.Now().Add(*warmup + *duration + 30*time.Second) // bounded whatever happens
	for range *conns {
		s, err := newSender()
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer s.close()
			buf := tpl.Bytes()
			for !stop.Load() && time.Now().Before(hardStop) {
				tpl.Stamp(buf, seq.Add(1))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := s.send(ctx, buf)
				cancel()
				if err != nil {
					if errs.Add(1) == 1 {
						msg := err.Error()
						firstErr.Store(&msg)
					}
					if errs.Load() > 100 {
						return // the receiver is broken; no point hammering it
					}
					continue
				}
				requests.Add(1)
				spans.Add(int64(*batch))
			}
		})
	}

	time.Sleep(*warmup)
	cpu0, err := procCPU(*pid)
	if err != nil {
		stop.Store(true)
		wg.Wait()
		return err
	}
	self0 := selfCPU()
	spans0, req0, t0 := spans.Load(), requests.Load(), time.Now()
	end := t0.Add(*duration)
	for time.Now().Before(end) && errs.Load() <= 100 {
		if *maxSpans > 0 && spans.Load()-spans0 >= *maxSpans {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	spans1, req1, t1 := spans.Load(), requests.Load(), time.Now()
	cpu1, err := procCPU(*pid)
	self1 := selfCPU()
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return err
	}

	r := Result{
		Name: *name, Proto: *proto, Round: *round, Conns: *conns, Batch: *batch,
		RequestBytes: tpl.Size(),
		Seconds:      t1.Sub(t0).Seconds(),
		Requests:     req1 - req0,
		Spans:        spans1 - spans0,
		Errors:       errs.Load(),
		CPUSeconds:   cpu1 - cpu0,
	}
	if p := firstErr.Load(); p != nil {
		r.FirstError = *p
	}
	r.SpansPerSec = float64(r.Spans) / r.Seconds
	if r.Spans > 0 {
		r.CPUPerMSpans = r.CPUSeconds / float64(r.Spans) * 1e6
	}
	r.LoadgenCPUSec = self1 - self0
	if *pid != 0 {
		r.PeakRSSKiB, r.RSSKiB, err = procMem(*pid)
		if err != nil {
			return err
		}
	}
	fmt.Printf("%-12s %-4s round %d: %9.0f spans/s, %6.2f CPU-s per 1M spans, peak RSS %6.1f MiB (%d spans in %.1fs, %d errors; loadgen %.2f CPU-s)\n",
		r.Name, r.Proto, r.Round, r.SpansPerSec, r.CPUPerMSpans, float64(r.PeakRSSKiB)/1024, r.Spans, r.Seconds, r.Errors, r.LoadgenCPUSec)
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		line, _ := json.Marshal(r)
		_, err = f.Write(append(line, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	switch {
	case r.Errors > 0:
		return fmt.Errorf("%s: %d requests failed; first: %s", r.Name, r.Errors, r.FirstError)
	case r.Spans == 0:
		return fmt.Errorf("%s: no spans accepted in the measured window", r.Name)
	}
	return nil
}

// fillReceiver sends n spans in 100-span requests over conns connections,
// within 10 minutes; any failure ends it.
func fillReceiver(newSender func() (sender, error), conns int, n int64, seq *atomic.Uint64) error {
	if n <= 0 {
		return nil
	}
	tpl := spangen.New(100)
	var sent atomic.Int64
	var firstErr atomic.Pointer[error]
	deadline := time.Now().Add(10 * time.Minute)
	var wg sync.WaitGroup
	for range conns {
		s, err := newSender()
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer s.close()
			buf := tpl.Bytes()
			for sent.Add(100) <= n+99 && firstErr.Load() == nil {
				if time.Now().After(deadline) {
					err := errors.New("not done in 10 minutes")
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				tpl.Stamp(buf, seq.Add(1))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := s.send(ctx, buf)
				cancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q: only loopback targets are allowed", addr)
}

// sender sends one encoded ExportTraceServiceRequest and checks the answer.
type sender interface {
	send(ctx context.Context, req []byte) error
	close()
}

// rawCodec passes pre-encoded protobuf bytes through gRPC unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

type grpcSender struct{ conn *grpc.ClientConn }

func newGRPCSender(addr string) (*grpcSender, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		return nil, err
	}
	return &grpcSender{conn: conn}, nil
}

func (s *grpcSender) send(ctx context.Context, req []byte) error {
	var resp []byte
	if err := s.conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &req, &resp); err != nil {
		return err
	}
	return checkResponse(resp)
}

func (s *grpcSender) close() { _ = s.conn.Close() }

type httpSender struct {
	client *http.Client
	url    string
}

func (s *httpSender) send(ctx context.Context, req []byte) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(req))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := s.client.Do(hr)
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

func (s *httpSender) close() {}

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

// procCPU is the user+system CPU time of process pid, all threads, in
// seconds; 0 for pid 0.
func procCPU(pid int) (float64, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("receiver process: %w", err)
	}
	// Fields after "(comm)": state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	return float64(ut+st) / float64(clockTicks()), nil
}

// clockTicks is sysconf(_SC_CLK_TCK), read from the auxiliary vector.
func clockTicks() uint64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err == nil {
		for i := 0; i+16 <= len(b); i += 16 {
			const atClkTck = 17
			if binary.NativeEndian.Uint64(b[i:]) == atClkTck {
				return binary.NativeEndian.Uint64(b[i+8:])
			}
		}
	}
	return 100
}

// procMem reads VmHWM (peak resident set) and VmRSS of pid, in KiB.
func procMem(pid int) (hwm, rss int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss, sc.Err()
}

func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func freeportCmd(args []string) error {
	n := 1
	if len(args) > 0 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil {
			return err
		}
	}
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	return nil
}

// reportCmd renders results as Markdown: per transport, the median over
// rounds of each receiver's figures and their ratios to traceproof's, then
// every round.
func reportCmd(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: loadgen report RESULTS.jsonl")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var rs []Result
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("%s: %v", args[0], err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return fmt.Errorf("%s: no results", args[0])
	}
	type group struct {
		proto string
		batch int
	}
	var groups []group
	var names []string
	rounds := 0
	for _, r := range rs {
		if g := (group{r.Proto, r.Batch}); !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
		if !slices.Contains(names, r.Name) {
			names = append(names, r.Name)
		}
		rounds = max(rounds, r.Round)
	}
	w := os.Stdout
	fmt.Fprintf(w, "Load: %d connections, one request in flight per connection, %d-byte spans. Medians over %d rounds; ratios are to traceproof's median in the same run.\n\n",
		rs[0].Conns, rs[0].RequestBytes/max(1, rs[0].Batch), rounds)
	for _, g := range groups {
		med := map[string]Result{}
		for _, n := range names {
			var sel []Result
			for _, r := range rs {
				if r.Proto == g.proto && r.Batch == g.batch && r.Name == n {
					sel = append(sel, r)
				}
			}
			if len(sel) > 0 {
				med[n] = medianResult(sel)
			}
		}
		base, hasBase := med["traceproof"]
		fmt.Fprintf(w, "**%s, %d spans a request**\n\n", map[string]string{"grpc": "OTLP/gRPC", "http": "OTLP/HTTP protobuf"}[g.proto], g.batch)
		fmt.Fprintln(w, "| receiver | spans/s accepted | receiver CPU-s per 1M spans | peak RSS (MiB) | spans/s ÷ traceproof | CPU ÷ traceproof | peak RSS ÷ traceproof |")
		fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, n := range names {
			m, ok := med[n]
			if !ok {
				continue
			}
			ratio := func(a, b float64) string {
				if !hasBase || b == 0 {
					return "–"
				}
				return fmt.Sprintf("%.2f×", a/b)
			}
			fmt.Fprintf(w, "| %s | %.0f | %.2f | %.0f | %s | %s | %s |\n", n, m.SpansPerSec, m.CPUPerMSpans, float64(m.PeakRSSKiB)/1024,
				ratio(m.SpansPerSec, base.SpansPerSec), ratio(m.CPUPerMSpans, base.CPUPerMSpans), ratio(float64(m.PeakRSSKiB), float64(base.PeakRSSKiB)))
		}
		fmt.Fprintln(w)
		if col, ok := med["otelcol"]; ok && hasBase && col.CPUPerMSpans > 0 {
			target := 0.7 // issue 13: batched requests
			if g.batch == 1 {
				target = 1.0
			}
			fmt.Fprintf(w, "traceproof's receiver CPU per span is %.2f× the Collector's (target: at most %.1f×).\n\n", base.CPUPerMSpans/col.CPUPerMSpans, target)
		}
	}
	fmt.Fprintln(w, "Every round:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| transport | batch | round | receiver | spans/s | CPU-s per 1M spans | peak RSS (MiB) | spans measured | seconds | loadgen CPU-s |")
	fmt.Fprintln(w, "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %s | %.0f | %.2f | %.0f | %d | %.1f | %.2f |\n", r.Proto, r.Batch, r.Round, r.Name, r.SpansPerSec, r.CPUPerMSpans,
			float64(r.PeakRSSKiB)/1024, r.Spans, r.Seconds, r.LoadgenCPUSec)
	}
	return nil
}

// medianResult takes the median of each figure independently.
func medianResult(rs []Result) Result {
	med := func(f func(Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	m := rs[0]
	m.SpansPerSec = med(func(r Result) float64 { return r.SpansPerSec })
	m.CPUPerMSpans = med(func(r Result) float64 { return r.CPUPerMSpans })
	m.PeakRSSKiB = int64(med(func(r Result) float64 { return float64(r.PeakRSSKiB) }))
	return m
}
