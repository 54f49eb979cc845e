package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/traceproof/traceproof/internal/english"
	"github.com/traceproof/traceproof/spanstore"
	"github.com/traceproof/traceproof/spantext"
)

// output is serve's stdout: buffered, flushed once per batch of spans, and
// shared by the request goroutines and the tree timers under mu.
type output struct {
	mu    sync.Mutex
	w     *bufio.Writer
	color bool
}

func newOutput(w io.Writer) *output {
	return &output{w: bufio.NewWriterSize(w, 64<<10), color: useColor(w)}
}

// flushLocked flushes the buffer. A failed write to stdout is not worth
// stopping the sink for: the spans are still stored and written to --out.
func (o *output) flushLocked() { _ = o.w.Flush() }

// spanPrinter prints what the sink receives. add runs on the request's
// goroutine (the sender waits for it), close once the sink has stopped.
type spanPrinter interface {
	add(spans []spanstore.Span, o spanstore.Origin)
	close()
}

// linePrinter prints one line per span as it arrives:
//
//	09:26:53.589  worker-rust-1  tasker-core  publish_event      1.5ms  corr-1
//
// Columns widen as wider values arrive (up to a cap), so a stream of spans
// stays aligned without knowing its values in advance.
type linePrinter struct {
	out  *output
	keys []string
	// lines formats the spans, its columns widening; guarded by out.mu.
	lines *spantext.Lines
	// traceCorr remembers recent traces' correlation values, so a span that
	// carries none (send_json_message) shows its trace's; guarded by out.mu.
	traceCorr *recentMap[spanstore.TraceID, string]
	buf       []byte // one line being formatted; guarded by out.mu
}

func newLinePrinter(out *output, keys []string) *linePrinter {
	return &linePrinter{
		out:       out,
		keys:      keys,
		lines:     spantext.NewLines(out.color),
		traceCorr: newRecentMap[spanstore.TraceID, string](4096),
	}
}

func (p *linePrinter) add(spans []spanstore.Span, _ spanstore.Origin) {
	// Format outside the lock: only the column widths and the output are
	// shared, and the batch is written with one flush.
	corrs := make([]string, len(spans))
	batchCorr := map[spanstore.TraceID]string{}
	for i := range spans {
		corrs[i] = correlationOf(&spans[i], p.keys)
		if corrs[i] != "" {
			if _, ok := batchCorr[spans[i].TraceID]; !ok {
				batchCorr[spans[i].TraceID] = corrs[i]
			}
		}
	}
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	for id, v := range batchCorr {
		if _, ok := p.traceCorr.get(id); !ok {
			p.traceCorr.put(id, v)
		}
	}
	for i := range spans {
		s := &spans[i]
		corr := corrs[i]
		if corr == "" {
			corr, _ = p.traceCorr.get(s.TraceID)
		}
		p.line(s, corr)
	}
	p.out.flushLocked()
}

func (p *linePrinter) line(s *spanstore.Span, corr string) {
	p.buf = p.lines.Append(p.buf[:0], s, corr)
	_, _ = p.out.w.Write(p.buf)
}

func (p *linePrinter) close() {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	p.out.flushLocked()
}

// correlationOf returns the first value found for keys (in order) on the
// span, its events or its resource, or "".
func correlationOf(s *spanstore.Span, keys []string) string {
	for _, k := range keys {
		if v, ok := s.Lookup(k); ok {
			if str := v.AsString(); str != "" {
				return str
			}
		}
	}
	return ""
}

// treePrinter prints each trace as a tree (spantext.WriteTree) once it has
// gone quiet: no span arrived for it for the quiet period. A timer per pending
// trace does it; close prints whatever is still pending.
type treePrinter struct {
	out   *output
	quiet time.Duration
	// store, when set, holds the whole of each trace: a trace is printed as
	// stored, so spans that arrive after their trace was printed (a parent
	// exported late) show again in context rather than as orphans alone.
	store *spanstore.Store

	// guarded by out.mu
	pending map[spanstore.TraceID]*pendingTrace
	printed *recentMap[spanstore.TraceID, int]
	closed  bool
}

type pendingTrace struct {
	id    spanstore.TraceID
	spans []spanstore.Span
	last  time.Time
	timer *time.Timer
}

func newTreePrinter(out *output, quiet time.Duration) *treePrinter {
	return &treePrinter{
		out:     out,
		quiet:   quiet,
		pending: map[spanstore.TraceID]*pendingTrace{},
		printed: newRecentMap[spanstore.TraceID, int](4096),
	}
}

func (p *treePrinter) add(spans []spanstore.Span, _ spanstore.Origin) {
	now := time.Now()
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	if p.closed {
		// The sink is stopping and pending trees are printed: print late
		// spans at once rather than dropping them.
		p.print(spansByTrace(spans))
		p.out.flushLocked()
		return
	}
	for _, s := range spans {
		pt := p.pending[s.TraceID]
		if pt == nil {
			pt = &pendingTrace{id: s.TraceID}
			p.pending[s.TraceID] = pt
			pt.timer = time.AfterFunc(p.quiet, func() { p.fire(pt) })
		}
		pt.spans = append(pt.spans, s)
		pt.last = now
	}
}

// fire runs when a pending trace's timer expires. The timer is armed once per
// trace and re-armed here for the rest of the quiet period when spans arrived
// meanwhile, rather than reset on every span.
func (p *treePrinter) fire(pt *pendingTrace) {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	if p.closed || p.pending[pt.id] != pt {
		return
	}
	if wait := p.quiet - time.Since(pt.last); wait > 0 {
		pt.timer.Reset(wait)
		return
	}
	delete(p.pending, pt.id)
	p.print([]*pendingTrace{pt})
	p.out.flushLocked()
}

func (p *treePrinter) close() {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	p.closed = true
	var all []*pendingTrace
	for _, pt := range p.pending {
		pt.timer.Stop()
		all = append(all, pt)
	}
	clear(p.pending)
	slices.SortFunc(all, func(a, b *pendingTrace) int {
		return a.spans[0].Start.Compare(b.spans[0].Start)
	})
	p.print(all)
	p.out.flushLocked()
}

// print writes the trees of traces, a blank line after each. Caller holds
// out.mu.
func (p *treePrinter) print(traces []*pendingTrace) {
	for _, pt := range traces {
		spans := pt.spans
		if p.store != nil {
			if stored := p.store.Trace(pt.id); len(stored) >= len(spans) {
				spans = stored
			}
		}
		if n, ok := p.printed.get(pt.id); ok && len(spans) > n {
			fmt.Fprintf(p.out.w, "(trace %s: %s more arrived; the whole trace again)\n", pt.id, english.Plural(len(spans)-n, "span"))
		}
		p.printed.put(pt.id, len(spans))
		_ = spantext.WriteTree(p.out.w, spans, spantext.TreeOptions{Color: p.out.color})
		_ = p.out.w.WriteByte('\n')
	}
}

func spansByTrace(spans []spanstore.Span) []*pendingTrace {
	var out []*pendingTrace
	idx := map[spanstore.TraceID]*pendingTrace{}
	for _, s := range spans {
		pt := idx[s.TraceID]
		if pt == nil {
			pt = &pendingTrace{id: s.TraceID}
			idx[s.TraceID] = pt
			out = append(out, pt)
		}
		pt.spans = append(pt.spans, s)
	}
	return out
}

// recentMap is a map that keeps only its most recently added keys, so state
// kept per trace stays bounded however long serve runs. Not safe for
// concurrent use.
type recentMap[K comparable, V any] struct {
	m    map[K]V
	ring []K
	next int
}

func newRecentMap[K comparable, V any](size int) *recentMap[K, V] {
	return &recentMap[K, V]{m: make(map[K]V, size), ring: make([]K, 0, size)}
}

func (r *recentMap[K, V]) get(k K) (V, bool) {
	v, ok := r.m[k]
	return v, ok
}

func (r *recentMap[K, V]) put(k K, v V) {
	if _, ok := r.m[k]; ok {
		r.m[k] = v
		return
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, k)
	} else {
		delete(r.m, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % len(r.ring)
	}
	r.m[k] = v
}
