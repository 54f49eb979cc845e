package otlpsink_test

// Benchmarks for docs/BENCHMARKS.md. Run them with bench/run.sh (quick or
// full), or directly:
//
//	go test -run='^$' -bench=. -benchmem ./otlpsink/          # 1M-span store
//	go test -run='^$' -bench=. -benchmem -short ./otlpsink/   # 50k-span store
//
// The load is bench/spangen's: spans shaped like the domain-event spans real
// workers emit (10 attributes, one event with 4, a resource with 5), every
// request stamped with fresh trace IDs and correlation values.

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/traceproof/traceproof/bench/spangen"
	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

var benchOrigin = spanstore.Origin{Sender: "127.0.0.1:50000", Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto}

// bigStore is the "million spans" size; -short shrinks it so the quick mode
// stays quick while still running every benchmark.
func bigStore() (int, string) {
	if testing.Short() {
		return 50_000, "50k"
	}
	return 1_000_000, "1M"
}

// feeder stamps requests of one template and decodes them, as a receiver
// does.
type feeder struct {
	tpl *spangen.Template
	buf []byte
	seq uint64
}

func newFeeder(spans int) *feeder {
	tpl := spangen.New(spans)
	return &feeder{tpl: tpl, buf: tpl.Bytes()}
}

// bytes stamps the next request and returns it encoded.
func (f *feeder) bytes() []byte {
	f.tpl.Stamp(f.buf, f.seq)
	f.seq++
	return f.buf
}

// next stamps and decodes the next request with pdata.
func (f *feeder) next(tb testing.TB) ptrace.Traces {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(f.bytes()); err != nil {
		tb.Fatal(err)
	}
	return req.Traces()
}

// The decoders a receiver can ingest with: direct (Store.IngestProto, the
// sink's default) and pdata (UnmarshalProto, then Store.Ingest: the
// reference, and how the sink decoded before).
var decoders = []string{"direct", "pdata"}

// ingest stamps the next request and stores it with the decoder named.
func (f *feeder) ingest(tb testing.TB, st *spanstore.Store, decoder string) {
	var r spanstore.IngestResult
	if decoder == "direct" {
		var err error
		if r, err = st.IngestProto(f.bytes(), benchOrigin); err != nil {
			tb.Fatal(err)
		}
	} else {
		r = st.Ingest(f.next(tb), benchOrigin)
	}
	if r.Rejected > 0 {
		tb.Fatalf("rejected %d spans: %s", r.Rejected, r.RejectReason)
	}
}

// fill ingests n spans (a multiple of the template's) into st.
func (f *feeder) fill(tb testing.TB, st *spanstore.Store, n int) {
	for range n / f.tpl.Spans() {
		f.ingest(tb, st, "direct")
	}
}

func perSpan(b *testing.B, d time.Duration, spans int) float64 {
	return float64(d.Nanoseconds()) / float64(b.N*spans)
}

// reportCPU reports the process CPU time used since cpu0, per span: wall
// time plus the GC work other cores did meanwhile (see otlpsink.ProcessCPU).
func reportCPU(b *testing.B, cpu0 time.Duration, spans int) {
	if cpu0 != 0 {
		b.ReportMetric(perSpan(b, otlpsink.ProcessCPU()-cpu0, spans), "cpu-ns/span")
	}
}

// BenchmarkReceive compares, on the same stamped requests: op=decode,
// pdata's UnmarshalProto alone (the floor any pdata-based Go receiver pays,
// the Collector's included); op=pdata, that decode followed by Store.Ingest
// (convert to compact records, intern, index by trace, name and correlation);
// and op=direct, Store.IngestProto, which does all of it straight from the
// bytes. Compare them with: benchstat -col /op.
//
// The store starts empty and is replaced every 2^17 spans, so it holds what a
// test's sink typically holds; BenchmarkIngestGrowth covers full stores.
func BenchmarkReceive(b *testing.B) {
	for _, batch := range []int{1, 100, 512} {
		for _, op := range []string{"decode", "pdata", "direct"} {
			b.Run(fmt.Sprintf("batch=%d/op=%s", batch, op), func(b *testing.B) {
				f := newFeeder(batch)
				b.SetBytes(int64(f.tpl.Size()))
				b.ReportAllocs()
				st := spanstore.New()
				cpu0 := otlpsink.ProcessCPU()
				for b.Loop() {
					if op == "decode" {
						f.next(b)
						continue
					}
					f.ingest(b, st, op)
					if st.Len() >= 1<<17 {
						st = spanstore.New()
					}
				}
				reportCPU(b, cpu0, batch)
				b.ReportMetric(perSpan(b, b.Elapsed(), batch), "ns/span")
			})
		}
	}
}

// BenchmarkWaitLatency measures how soon a waiter wakes after an ingest that
// completes what it waits for. Each of N waiters watches its own correlation
// value (Store.Watch, the primitive under Wait); each iteration ingests one
// span carrying one waiter's value, as the receiver does (IngestProto), and
// times from the call to that waiter's wake, so the figure includes the
// one-span ingest itself: an upper bound of "end of ingest to wake". ns/op
// is the mean; p50-ns and p99-ns the percentiles.
func BenchmarkWaitLatency(b *testing.B) {
	for _, waiters := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("waiters=%d", waiters), func(b *testing.B) {
			st := spanstore.New()
			value := func(w, round int) string {
				return "wait-" + strconv.Itoa(w) + "-" + strconv.Itoa(round)
			}
			stop := make(chan struct{})
			woke := make(chan time.Time)
			ready := make([]chan struct{}, waiters) // a token: waiter w watches its next value
			fail := make(chan string, waiters)
			for w := range waiters {
				ready[w] = make(chan struct{}, 1)
				go func() {
					for round := 0; ; round++ {
						spans, ch := st.Watch(spanstore.Filter{Correlation: value(w, round)})
						if len(spans) != 0 {
							fail <- fmt.Sprintf("waiter %d round %d: %d spans before the ingest", w, round, len(spans))
							return
						}
						ready[w] <- struct{}{}
						select {
						case <-ch:
							woke <- time.Now()
						case <-stop:
							return
						}
					}
				}()
			}
			defer close(stop)
			for w := range waiters { // every waiter registered before the clock starts
				<-ready[w]
				ready[w] <- struct{}{}
			}

			td := spangen.Traces(1, 0)
			sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			evAttrs := sp.Events().At(0).Attributes()
			var lat []time.Duration
			i := 0
			for b.Loop() {
				w, round := i%waiters, i/waiters
				i++
				select {
				case <-ready[w]:
				case msg := <-fail:
					b.Fatal(msg)
				}
				v := value(w, round)
				sp.SetTraceID(spangen.TraceID(uint64(i)))
				sp.Attributes().PutStr("correlation_id", v)
				evAttrs.PutStr("correlation_id", v)
				evAttrs.PutStr("task_uuid", "task-"+v)
				body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if _, err := st.IngestProto(body, benchOrigin); err != nil {
					b.Fatal(err)
				}
				select {
				case tw := <-woke:
					lat = append(lat, tw.Sub(t0))
				case <-time.After(10 * time.Second):
					b.Fatalf("waiter %d not woken 10s after the ingest of its span", w)
				}
			}
			slices.Sort(lat)
			var sum time.Duration
			for _, d := range lat {
				sum += d
			}
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
			b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/op")
			b.ReportMetric(pct(0.50), "p50-ns")
			b.ReportMetric(pct(0.99), "p99-ns")
		})
	}
}

// BenchmarkHeapPerSpan fills a store with a million spans (50k with -short)
// and reports the live heap it adds, after GC, per span (B/span), and the
// ingest cost while filling (ingest-ns/span, decode included). store=pdata
// is the baseline of a sink that keeps the decoded pdata requests instead.
// The store is filled with IngestProto; the other decoder stores the same
// records.
func BenchmarkHeapPerSpan(b *testing.B) {
	n, name := bigStore()
	for _, kind := range []string{"traceproof", "pdata"} {
		b.Run("store="+kind+"/spans="+name, func(b *testing.B) {
			var perSpanBytes, ingestNS float64
			for b.Loop() {
				f := newFeeder(100)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				t0 := time.Now()
				var kept []ptrace.Traces
				var st *spanstore.Store
				if kind == "traceproof" {
					st = spanstore.New()
					f.fill(b, st, n)
				} else {
					kept = make([]ptrace.Traces, 0, n/100)
					for range n / 100 {
						kept = append(kept, f.next(b))
					}
				}
				ingestNS = float64(time.Since(t0).Nanoseconds()) / float64(n)
				runtime.GC()
				runtime.ReadMemStats(&after)
				if st != nil && st.Len() != n {
					b.Fatalf("store holds %d spans, want %d", st.Len(), n)
				}
				runtime.KeepAlive(st)
				runtime.KeepAlive(kept)
				perSpanBytes = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
			}
			b.ReportMetric(perSpanBytes, "B/span")
			b.ReportMetric(ingestNS, "ingest-ns/span")
		})
	}
}

// BenchmarkLookup times queries against a store of a million spans (50k with
// -short), 125,000 tasks of 8 spans (4 traces of 2): Correlated (the correlation index, then
// the task's 4 traces, 8 spans built) and Trace (one trace, 2 spans).
func BenchmarkLookup(b *testing.B) {
	n, name := bigStore()
	b.Run("spans="+name, func(b *testing.B) {
		st := spanstore.New()
		newFeeder(100).fill(b, st, n)
		tasks := uint64(n / spangen.SpansPerTask)
		runtime.GC()
		b.Run("by=correlation", func(b *testing.B) {
			b.ReportAllocs()
			var i uint64
			for b.Loop() {
				task := (i * 7919) % tasks // scattered over the store
				i++
				if got := st.Correlated(spangen.CorrelationID(task)); len(got) != spangen.SpansPerTask {
					b.Fatalf("task %d: %d spans, want %d", task, len(got), spangen.SpansPerTask)
				}
			}
		})
		b.Run("by=trace", func(b *testing.B) {
			b.ReportAllocs()
			traces := uint64(n / spangen.SpansPerTrace)
			var i uint64
			for b.Loop() {
				tr := (i * 7919) % traces
				i++
				if got := st.Trace(spangen.TraceID(tr)); len(got) != spangen.SpansPerTrace {
					b.Fatalf("trace %d: %d spans, want %d", tr, len(got), spangen.SpansPerTrace)
				}
			}
		})
		b.Run("by=wait-satisfied", func(b *testing.B) {
			// What a test's Wait costs when the spans are already there.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.ReportAllocs()
			var i uint64
			for b.Loop() {
				task := (i * 7919) % tasks
				i++
				if _, err := st.Wait(ctx, spanstore.Filter{Correlation: spangen.CorrelationID(task)}, spangen.SpansPerTask); err != nil {
					b.Fatal(err)
				}
			}
		})
		runtime.KeepAlive(st)
	})
}

// BenchmarkIngestGrowth shows whether ingest cost stays flat as the store
// grows, and what steady state costs: decode + ingest of N-span requests
// into a store already holding 10k or a million spans (50k with -short),
// with each decoder. The store is capped at that size, so each ingest also
// evicts as many spans as it adds and the size holds: "store full,
// evicting". cpu-ns/span includes the GC work on the other core.
func BenchmarkIngestGrowth(b *testing.B) {
	n, name := bigStore()
	for _, size := range []struct {
		n    int
		name string
	}{{10_000, "10k"}, {n, name}} {
		for _, batch := range []int{1, 100} {
			for _, dec := range decoders {
				b.Run(fmt.Sprintf("stored=%s/batch=%d/decoder=%s", size.name, batch, dec), func(b *testing.B) {
					st := spanstore.New(spanstore.WithMaxSpans(size.n))
					newFeeder(100).fill(b, st, size.n)
					f := newFeeder(batch)
					f.seq = uint64(size.n) // fresh traces
					runtime.GC()
					b.ReportAllocs()
					cpu0 := otlpsink.ProcessCPU()
					for b.Loop() {
						f.ingest(b, st, dec)
					}
					reportCPU(b, cpu0, batch)
					if st.Len() != size.n {
						b.Fatalf("store holds %d spans, want %d", st.Len(), size.n)
					}
					b.ReportMetric(perSpan(b, b.Elapsed(), batch), "ns/span")
				})
			}
		}
	}
}
