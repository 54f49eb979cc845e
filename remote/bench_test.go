package remote_test

// Benchmarks of the remote API under many held long-polls, for
// docs/remote-bench.md:
//
//	go test -run='^$' -bench=. -benchtime=3000x ./remote/
//
// One Handler, mounted on an otlpsink.Sink as traceproof serve mounts it,
// holds 1,000 POST /api/v1/wait long-polls over loopback HTTP, each on its
// own correlation, as 1,000 parallel tests of a suite would.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/bench/spangen"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

const benchPolls = 1000

// closing is set while a benchmark's server shuts down.
var closing atomic.Bool

var benchOrigin = spanstore.Origin{Sender: "127.0.0.1:50000", Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto}

// benchServer is a store with the API on a sink's HTTP port, and a client
// that keeps a connection per long-poll.
func benchServer(b *testing.B) (*spanstore.Store, *remote.Handler, string, *http.Client) {
	st := spanstore.New(spanstore.WithMaxSpans(200_000))
	h := remote.NewHandler(st, nil)
	sink, err := otlpsink.New(otlpsink.WithStore(st), otlpsink.WithGRPCAddr(""), otlpsink.WithHandler("/api/", h))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		closing.Store(true) // the polls still held end now; that is no error
		h.Close()
		_ = sink.Close()
		closing.Store(false)
	})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * benchPolls
	return st, h, sink.HTTPURL(), &http.Client{Transport: tr}
}

// poll is one long-poll: it posts a wait for the correlation and returns
// once the request is written (the server then holds it), delivering the
// time its answer arrived on done.
func poll(b *testing.B, c *http.Client, url, corr string, timeout time.Duration, done chan<- time.Time) {
	body := `{"query": {"correlation": "` + corr + `"}, "timeout": "` + timeout.String() + `", "limit": 1}`
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/wait", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	wrote := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) },
	}))
	go func() {
		resp, err := c.Do(req)
		if err != nil {
			if !closing.Load() {
				b.Error(err)
			}
			done <- time.Time{}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- time.Now()
	}()
	<-wrote
}

// heldBy waits until n requests hold a waiting slot.
func heldBy(b *testing.B, h *remote.Handler, n int) {
	deadline := time.Now().Add(30 * time.Second)
	for h.Waiting() < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d long-polls held", h.Waiting(), n)
		}
		time.Sleep(time.Millisecond) // setup only, outside the timed loop
	}
}

// BenchmarkWaitWake measures how soon a long-poll answers once its span
// arrives, with 1,000 held by one server: each iteration ingests one span
// carrying one waiter's correlation and times from the Ingest call to the
// client reading the whole answer over loopback HTTP. The woken waiter
// posts its next long-poll at once; it is not targeted again for 999
// iterations. p50-ns and p99-ns are the percentiles, ns/op the mean.
func BenchmarkWaitWake(b *testing.B) {
	st, h, url, c := benchServer(b)
	corr := func(w, round int) string { return "held-" + strconv.Itoa(w) + "-" + strconv.Itoa(round) }
	dones := make([]chan time.Time, benchPolls)
	for w := range dones {
		dones[w] = make(chan time.Time, 1)
		poll(b, c, url, corr(w, 0), time.Minute, dones[w])
	}
	heldBy(b, h, benchPolls)

	td := spangen.Traces(1, 0)
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	ev := sp.Events().At(0).Attributes()
	rounds := make([]int, benchPolls)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		w := i % benchPolls
		i++
		v := corr(w, rounds[w])
		sp.SetTraceID(spangen.TraceID(uint64(1<<40 + i)))
		sp.Attributes().PutStr("correlation_id", v)
		ev.PutStr("correlation_id", v)
		ev.PutStr("task_uuid", "task-"+v)
		t0 := time.Now()
		st.Ingest(td, benchOrigin)
		t1 := <-dones[w]
		if t1.IsZero() {
			b.FailNow()
		}
		lat = append(lat, t1.Sub(t0))
		rounds[w]++
		poll(b, c, url, corr(w, rounds[w]), time.Minute, dones[w])
	}
	b.StopTimer()
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/op")
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
}

// BenchmarkIngestWithHeldPolls measures what 1,000 held long-polls cost
// ingest: batches of 100 domain-event spans (decoded beforehand) go into the
// store with none held, one, and 1,000 held on correlations that never
// arrive (one shows what any watcher costs the store, 1,000 what many add). The clients holding them run in a process of their own (this
// test binary, re-run as one; see TestMain), as a suite's would, so that
// cpu-ns/span is the server's CPU time per span (GC included) and nothing
// of the clients'; ingest-ns/span is the Ingest calls alone.
func BenchmarkIngestWithHeldPolls(b *testing.B) {
	const batch, batches = 100, 500
	reqs := make([]ptrace.Traces, batches)
	for i := range reqs {
		reqs[i] = spangen.Traces(batch, uint64(i))
	}
	for _, polls := range []int{0, 1, benchPolls} {
		b.Run(fmt.Sprintf("polls=%d", polls), func(b *testing.B) {
			st, h, url, _ := benchServer(b)
			if polls > 0 {
				pollsElsewhere(b, url, polls)
			}
			heldBy(b, h, polls)
			// Fill the store to its cap first, so both runs evict alike.
			for i := range 200_000 / batch {
				st.Ingest(reqs[i%batches], benchOrigin)
			}
			runtime.GC() // not the previous run's garbage
			var ingest time.Duration
			i := 0
			cpu0 := processCPU()
			for b.Loop() {
				td := reqs[i%batches]
				i++
				t0 := time.Now()
				st.Ingest(td, benchOrigin)
				ingest += time.Since(t0)
			}
			b.StopTimer()
			if cpu := processCPU(); cpu0 != 0 {
				b.ReportMetric(float64((cpu-cpu0).Nanoseconds())/float64(b.N*batch), "cpu-ns/span")
			}
			b.ReportMetric(float64(ingest.Nanoseconds())/float64(b.N*batch), "ingest-ns/span")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/span")
			if h.Waiting() != polls {
				b.Fatalf("%d long-polls held at the end, want %d", h.Waiting(), polls)
			}
		})
	}
}

// envPollClient makes this test binary the client process of
// pollsElsewhere: "URL N" holds N long-polls on url until stdin closes.
const envPollClient = "TRACEPROOF_REMOTE_BENCH_POLLS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(envPollClient); spec != "" {
		os.Exit(pollClient(spec))
	}
	os.Exit(m.Run())
}

// pollClient holds the long-polls, says "held" once every request is
// written, and exits when its stdin closes.
func pollClient(spec string) int {
	url, n, _ := strings.Cut(spec, " ")
	count, err := strconv.Atoi(n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad", envPollClient, spec)
		return 2
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * count
	c := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for w := range count {
		wg.Add(1)
		body := `{"query": {"correlation": "never-` + strconv.Itoa(w) + `"}, "timeout": "5m", "limit": 1}`
		req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/wait", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { wg.Done() },
		}))
		go func() {
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	fmt.Println("held")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// pollsElsewhere starts the client process holding n long-polls on url,
// ended at cleanup.
func pollsElsewhere(b *testing.B, url string, n int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envPollClient+"="+url+" "+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		closing.Store(true)
		stdin.Close()
		_ = cmd.Wait()
		closing.Store(false)
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "held\n" {
		b.Fatalf("the poll client said %q (%v)", line, err)
	}
}
