package spanstore

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore/internal/arena"
)

// DefaultCorrelationKeys returns the attribute keys whose values correlate
// spans with a test's task when no [WithCorrelationKeys] option is given:
// "correlation_id" and "task_uuid". Systems with other names pass their own
// (the domain-event package has the reference system's).
func DefaultCorrelationKeys() []string { return []string{"correlation_id", "task_uuid"} }

// DefaultMaxSpans is the span cap when no WithMaxSpans option is given.
const DefaultMaxSpans = 1_000_000

// chunkSize is the number of records in a chunk; a store capped below it
// uses chunks of its cap (at least 16), so a small store is small.
const chunkSize = 4096

// Store is an indexed, bounded span store with event-driven waiting. A Sink
// owns one; a Store on its own holds loaded dumps or spans handed to Ingest.
// All methods are safe for concurrent use.
type Store struct {
	mu sync.RWMutex

	maxSpans int
	corrKeys []string
	// isCorr[id] says whether interned key id is a correlation key. Keys
	// interned after newStore never are, so it never needs to grow.
	isCorr []bool

	// Record payloads (see internal/arena); extra holds the rare slice and map
	// attribute values by seq.
	attrSlab  arena.Slab[attr]
	eventSlab arena.Slab[eventRec]
	linkSlab  arena.Slab[linkRec]
	strSlab   arena.Slab[byte]
	extra     map[uint64][]Value

	// b builds records and batch stages a request's records until all of
	// it has been read; kept so their scratch buffers are reused across
	// requests. pd is the direct protobuf decoder (protodecode.go). Used
	// only under mu.
	b     recBuilder
	batch batch
	pd    protoDecoder
	rcpt  receipting
	// corrCreated counts correlation entries created: their order.
	corrCreated uint64
	// lastRes and lastScope are those of the previous request: most
	// requests come from a process already seen, and comparing with it is
	// cheaper than building the interning key (intern.go) in keyBuf.
	lastRes, lastScope uint32
	keyBuf             []byte
	sortBuf            Attributes

	strs      *arena.Interner
	resources []resourceEntry
	resIdx    map[string]uint32
	scopes    []scopeEntry
	scopeIdx  map[string]uint32
	origins   []Origin
	originIdx map[Origin]uint32

	// Records live in fixed-size chunks so appending never copies the store and
	// evicting a whole chunk frees it. Seqs [head, next) are live.
	chunks    [][]spanRec
	chunkLen  uint64    // records a chunk holds
	freeChunk []spanRec // an evicted chunk, for add to fill again
	firstSeq  uint64    // seq of chunks[0][0]
	head      uint64
	next      uint64

	traces map[TraceID]*traceEntry
	byName map[uint32][]uint64
	corr   map[string]*corrEntry

	watchers map[watchKey]chan struct{}
	wk       waking
	onStore  []func([]Span, Origin) // see WithOnIngest

	stats statsCounters
}

type resourceEntry struct {
	res   Resource
	corrs []string // correlation values found in its attributes
}

type scopeEntry struct{ scope Scope }

type traceEntry struct {
	seqs  []uint64 // ascending
	corrs []string // correlation values attached to the whole trace
	// Room for what most traces hold, so that a trace costs one allocation.
	seqsBuf  [2]uint64
	corrsBuf [2]string
}

func newTraceEntry() *traceEntry {
	te := &traceEntry{}
	te.seqs, te.corrs = te.seqsBuf[:0], te.corrsBuf[:0]
	return te
}

type corrEntry struct {
	key    string
	first  uint64    // order of creation (Store.corrCreated), for "newest"
	traces []TraceID // in order of attachment
	// Room for the traces of a typical task: one allocation per value.
	tracesBuf [4]TraceID
}

// Option configures a Store.
type Option interface{ apply(*config) }

type config struct {
	maxSpans int
	corrKeys []string
	onIngest []func([]Span, Origin)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMaxSpans caps the number of stored spans; past it the oldest are evicted
// and counted in Stats().Evicted. n <= 0 means [DefaultMaxSpans].
func WithMaxSpans(n int) Option {
	return optionFunc(func(c *config) { c.maxSpans = n })
}

// WithCorrelationKeys replaces [DefaultCorrelationKeys]: the attribute keys
// (looked up in span, span-event and resource attributes) whose values
// correlate a span, and the rest of its trace, with a task.
func WithCorrelationKeys(keys ...string) Option {
	return optionFunc(func(c *config) { c.corrKeys = slices.Clone(keys) })
}

// WithOnIngest calls f with the spans of every Ingest call that stored any,
// once stored and after waiters were woken, on the ingesting goroutine (an
// OTLP sender waits for it). f must not call back into the store's writing
// methods.
func WithOnIngest(f func(spans []Span, o Origin)) Option {
	return optionFunc(func(c *config) { c.onIngest = append(c.onIngest, f) })
}

// New returns an empty store.
func New(opts ...Option) *Store {
	c := config{}
	for _, o := range opts {
		o.apply(&c)
	}
	return newStore(c)
}

func newStore(c config) *Store {
	if c.maxSpans <= 0 {
		c.maxSpans = DefaultMaxSpans
	}
	if c.corrKeys == nil {
		c.corrKeys = DefaultCorrelationKeys()
	}
	st := &Store{
		maxSpans:  c.maxSpans,
		chunkLen:  uint64(min(chunkSize, max(16, c.maxSpans))),
		corrKeys:  c.corrKeys,
		strs:      arena.NewInterner(),
		resIdx:    make(map[string]uint32),
		scopeIdx:  make(map[string]uint32),
		originIdx: make(map[Origin]uint32),
		watchers:  make(map[watchKey]chan struct{}),
		onStore:   c.onIngest,
	}
	for _, k := range c.corrKeys {
		id := st.strs.ID(k)
		for int(id) >= len(st.isCorr) {
			st.isCorr = append(st.isCorr, false)
		}
		st.isCorr[id] = true
	}
	st.b.st = st
	st.pd.st = st
	st.lastRes, st.lastScope = noID, noID
	st.next = 1 // Seq counts from 1
	st.clear()
	st.stats.init()
	return st
}

// CorrelationKeys returns the keys this store correlates by.
func (st *Store) CorrelationKeys() []string { return slices.Clone(st.corrKeys) }

func (st *Store) clear() {
	st.chunks, st.freeChunk = nil, nil
	// Slab blocks shrink with the chunks of a small store.
	scale := func(n, least int) int { return max(least, n*int(st.chunkLen)/chunkSize) }
	st.attrSlab = arena.New[attr](scale(attrBlock, 64))
	st.eventSlab = arena.New[eventRec](scale(eventBlock, 32))
	st.linkSlab = arena.New[linkRec](scale(linkBlock, 16))
	st.strSlab = arena.New[byte](scale(strBlock, 4096))
	st.extra = make(map[uint64][]Value)
	st.firstSeq = st.next
	st.head = st.next
	st.traces = make(map[TraceID]*traceEntry)
	st.byName = make(map[uint32][]uint64)
	st.corr = make(map[string]*corrEntry)
}

// IngestResult says what one Ingest call did.
type IngestResult struct {
	Accepted int
	// Rejected spans had an all-zero trace or span ID, which OTLP calls
	// invalid; they are counted in Stats and reported to the sender as a
	// partial success.
	Rejected int
	// RejectReason describes the first rejected span.
	RejectReason string
}

// Ingest stores the spans of td as if they had arrived from origin. td is only
// read, never retained: the caller keeps ownership.
func (st *Store) Ingest(td ptrace.Traces, origin Origin) IngestResult {
	return st.ingestAt(td, origin, time.Now())
}

func (st *Store) ingestAt(td ptrace.Traces, origin Origin, now time.Time) IngestResult {
	return st.ingestReceiptAt(td, origin, now, nil)
}

// ingestReceiptAt is Ingest at a given time, filling rc if not nil.
func (st *Store) ingestReceiptAt(td ptrace.Traces, origin Origin, now time.Time, rc *Receipt) IngestResult {
	received := now.UnixNano()
	st.mu.Lock()
	bt := &st.batch
	oi := st.originID(origin)
	for _, rs := range td.ResourceSpans().All() {
		ri := st.resourceIDPdata(rs.Resource(), rs.SchemaUrl())
		n := 0
		for _, ss := range rs.ScopeSpans().All() {
			si := st.scopeIDPdata(ss.Scope())
			for _, sp := range ss.Spans().All() {
				if sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty() {
					bt.reject(sp.Name())
					continue
				}
				bt.recs = append(bt.recs, st.b.buildPdata(sp, st.nextSeq(), received, ri, si, oi))
				n++
			}
		}
		bt.group(ri, n)
	}
	return st.commit(origin, now, rc)
}

// batch holds the records of one request until all of it has been read, so
// that a request that does not decode stores nothing.
type batch struct {
	recs   []spanRec
	groups []resGroup // spans per resource, in request order, for Stats
	res    IngestResult
}

type resGroup struct {
	res   uint32
	spans int
}

// nextSeq is the seq the next staged record will be stored as.
func (st *Store) nextSeq() uint64 { return st.next + uint64(len(st.batch.recs)) }

func (bt *batch) reject(name string) {
	if bt.res.Rejected == 0 {
		bt.res.RejectReason = "span " + quoteName(name) + " has an all-zero trace or span ID"
	}
	bt.res.Rejected++
}

func (bt *batch) group(res uint32, spans int) {
	if spans > 0 {
		bt.groups = append(bt.groups, resGroup{res, spans})
	}
}

// maxKeptBatch bounds the staging capacity kept between requests, so one huge
// request does not pin its staging memory for the store's life.
const maxKeptBatch = 4096

func (bt *batch) reset() {
	if cap(bt.recs) > maxKeptBatch {
		bt.recs = nil
	}
	bt.recs, bt.groups, bt.res = bt.recs[:0], bt.groups[:0], IngestResult{}
}

// commit stores the staged records, counts the request, evicts, and wakes
// waiters and hooks, filling rc if not nil. Caller holds mu; commit releases
// it.
func (st *Store) commit(origin Origin, now time.Time, rc *Receipt) IngestResult {
	bt := &st.batch
	if rc != nil {
		st.rcpt.start(rc)
	}
	first := st.next
	st.wk.lastTrace = nil
	for i := range bt.recs {
		st.add(bt.recs[i])
	}
	res := bt.res
	res.Accepted = len(bt.recs)
	for _, g := range bt.groups {
		st.stats.instance(st.resources[g.res].res, origin.Sender, g.spans, now)
		if rc != nil {
			st.rcpt.resource(st, g.res)
		}
	}
	bt.reset()
	st.stats.request(origin, res.Accepted, res.Rejected, now)
	if res.Rejected > 0 {
		st.stats.errorSent(fmt.Sprintf("rejected %d spans from %s: %s", res.Rejected, origin.Sender, res.RejectReason))
	}
	st.evict()

	var spans []Span // only when someone wants them
	if len(st.onStore) > 0 {
		spans = make([]Span, 0, st.next-first)
		for seq := max(first, st.head); seq < st.next; seq++ {
			spans = append(spans, st.materialize(seq, st.rec(seq)))
		}
	}
	hooks := st.onStore
	chans := st.takeWoken()
	st.rcpt.rc = nil
	st.mu.Unlock()

	for _, ch := range chans {
		close(ch)
	}
	for _, h := range hooks {
		h(spans, origin)
	}
	return res
}

// abort drops the staged records of a request that did not decode. Their
// payload stays in the slabs as unused space, released with the blocks
// around it. Caller holds mu; abort releases it.
func (st *Store) abort() {
	bt := &st.batch
	for i := range bt.recs {
		if bt.recs[i].hasExtra {
			delete(st.extra, st.next+uint64(i))
		}
	}
	bt.reset()
	st.mu.Unlock()
}

func quoteName(s string) string { return "\"" + s + "\"" }

// add appends a record and indexes it. Caller holds mu.
func (st *Store) add(r spanRec) uint64 {
	seq := st.next
	st.next++
	if len(st.chunks) == 0 || uint64(len(st.chunks[len(st.chunks)-1])) == st.chunkLen {
		if len(st.chunks) == 0 {
			st.firstSeq = seq
		}
		c := st.freeChunk
		st.freeChunk = nil
		if c == nil {
			c = make([]spanRec, 0, st.chunkLen)
		}
		st.chunks = append(st.chunks, c)
	}
	last := len(st.chunks) - 1
	st.chunks[last] = append(st.chunks[last], r)
	rv := st.view(seq, &st.chunks[last][len(st.chunks[last])-1])

	st.byName[r.name] = append(st.byName[r.name], seq)
	te := st.traces[r.traceID]
	if te == nil {
		te = newTraceEntry()
		st.traces[r.traceID] = te
	}
	te.seqs = append(te.seqs, seq)

	if st.rcpt.rc != nil {
		st.rcpt.span(&r)
	}
	// A correlation value found on this span attaches to its whole trace, so a
	// child that carries the ID only through its parent is found either way
	// round, whichever arrives first.
	st.forCorrelations(rv, func(v string) {
		if i := slices.Index(te.corrs, v); i >= 0 {
			if st.rcpt.rc != nil {
				st.rcpt.correlation(te.corrs[i])
			}
			return
		}
		ce := st.corr[v]
		if ce == nil {
			// v aliases the span's string arena; the index must not keep
			// that alive after the span is evicted.
			v = strings.Clone(v)
			st.corrCreated++
			ce = &corrEntry{key: v, first: st.corrCreated}
			ce.traces = ce.tracesBuf[:0]
			st.corr[v] = ce
		}
		te.corrs = append(te.corrs, ce.key)
		ce.traces = append(ce.traces, r.traceID)
		if st.rcpt.rc != nil {
			st.rcpt.correlation(ce.key)
		}
	})
	if len(st.watchers) > 0 {
		if st.wk.kinds[watchName] > 0 {
			st.wake(watchKey{kind: watchName, s: st.strs.Get(r.name)})
		}
		// Spans of one trace come together: its keys were just looked up
		// unless the trace gained a correlation value since.
		if te != st.wk.lastTrace || len(te.corrs) != st.wk.lastCorrs {
			st.wk.lastTrace, st.wk.lastCorrs = te, len(te.corrs)
			if st.wk.kinds[watchTrace] > 0 {
				st.wake(watchKey{kind: watchTrace, trace: r.traceID})
			}
			if st.wk.kinds[watchCorr] > 0 {
				for _, v := range te.corrs {
					st.wake(watchKey{kind: watchCorr, s: v})
				}
			}
		}
	}
	return seq
}

// forCorrelations calls f with each correlation value of the record: from its
// attributes, its events' attributes and its resource.
func (st *Store) forCorrelations(r recView, f func(string)) {
	attrs := r.attrs
	if len(r.links) > 0 { // link attributes describe another span
		attrs = attrs[:r.links[0].a0]
	}
	for _, a := range attrs {
		if int(a.key) < len(st.isCorr) && st.isCorr[a.key] {
			if v := r.value(a).AsString(); v != "" {
				f(v)
			}
		}
	}
	for _, v := range st.resources[r.resource].corrs {
		f(v)
	}
}

// rec returns the live record for seq, or nil if it was evicted.
func (st *Store) rec(seq uint64) *spanRec {
	if seq < st.head || seq >= st.next {
		return nil
	}
	off := seq - st.firstSeq
	return &st.chunks[off/st.chunkLen][off%st.chunkLen]
}

// evict drops the oldest spans while the store is over its cap. Each evicted
// span is the oldest of its trace and of its name, so it sits at the front of
// those index lists.
func (st *Store) evict() {
	if int(st.next-st.head) <= st.maxSpans {
		return
	}
	defer func() {
		last := st.head - 1
		st.attrSlab.Release(last)
		st.eventSlab.Release(last)
		st.linkSlab.Release(last)
		st.strSlab.Release(last)
	}()
	for int(st.next-st.head) > st.maxSpans {
		r := st.rec(st.head)
		if names := st.byName[r.name]; len(names) <= 1 {
			delete(st.byName, r.name)
		} else {
			st.byName[r.name] = names[1:]
		}
		if te := st.traces[r.traceID]; te != nil {
			te.seqs = te.seqs[1:]
			if len(te.seqs) == 0 {
				delete(st.traces, r.traceID)
				for _, v := range te.corrs {
					st.detach(v, r.traceID)
				}
			}
		}
		if r.hasExtra {
			delete(st.extra, st.head)
		}
		*r = spanRec{}
		st.head++
		st.stats.evicted++
		if st.head-st.firstSeq == st.chunkLen {
			st.freeChunk = st.chunks[0][:0]
			st.chunks[0] = nil
			st.chunks = st.chunks[1:]
			st.firstSeq += st.chunkLen
		}
	}
}

func (st *Store) detach(v string, id TraceID) {
	ce := st.corr[v]
	if ce == nil {
		return
	}
	if i := slices.Index(ce.traces, id); i >= 0 {
		ce.traces = slices.Delete(ce.traces, i, i+1)
	}
	if len(ce.traces) == 0 {
		delete(st.corr, v)
	}
}

func (st *Store) originID(o Origin) uint32 {
	if id, ok := st.originIdx[o]; ok {
		return id
	}
	id := uint32(len(st.origins))
	st.origins = append(st.origins, o)
	st.originIdx[o] = id
	return id
}

// Reset forgets every stored span. Counters in Stats keep counting; waits in
// progress keep waiting for spans that arrive after the reset.
func (st *Store) Reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.clear()
}

// Len returns the number of spans stored now.
func (st *Store) Len() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return int(st.next - st.head)
}
