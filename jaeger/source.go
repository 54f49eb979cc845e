package jaeger

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// Source reads spans from Jaeger's query service and answers the queries
// of package assert from them: it is an assert.Source, so assert.On(t, src)
// and every assertion and domain-event helper run unchanged.
//
// It polls (Jaeger has no push) and loads every trace it finds, whole, into
// an in-memory spanstore.Store it owns, adding each span once. The store's
// own index then answers: a correlation value found in any span, span-event
// or resource attribute of a trace correlates the whole trace, exactly as
// in the in-process sink, whatever Jaeger's search indexes.
//
// Create it with [New] and stop its poller with [Source.Close]. All methods
// are safe for concurrent use.
type Source struct {
	cfg    Config
	store  *spanstore.Store
	origin spanstore.Origin

	// pollFn is one poll: s.pollOnce, or a test's stand-in.
	pollFn func(ctx context.Context, wanted []spanstore.TraceID) pollResult

	ctx    context.Context // ends the requests in flight on Close
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup

	// seen holds the span of every ID ingested; only the poller's goroutine
	// uses it.
	seen map[spanKey]struct{}

	mu       sync.Mutex
	closed   bool
	running  bool          // the poller's goroutine is alive
	pending  bool          // a poll was asked for that has not started yet
	kick     chan struct{} // asks a sleeping poller to poll now
	nextDone chan struct{} // closed when the next poll to start completes
	lastDone time.Time     // when the last poll completed
	// firstDone is closed when the first poll completes: no answer comes
	// from a source that has never looked at Jaeger.
	firstDone chan struct{}
	// waiters are the channels Changed handed out that are still open:
	// the poller runs while there is one.
	waiters map[<-chan struct{}]struct{}
	// wanted are trace IDs asked for (a TraceID filter), which each poll
	// fetches by ID; see want.
	wanted map[spanstore.TraceID]struct{}
	health Health
	errs   []problem // the most recent problems, newest last
	notes  []string  // the latest poll's remarks (unknown services)
}

type spanKey struct {
	trace [16]byte
	span  [8]byte
}

// Health says how the source's polls went: whether what it answers is all
// Jaeger held. A poll that failed or was incomplete is counted and its
// message kept in Stats().LastErrors, so a failure report shows it; Err
// turns the counts into an error a test can check (see [Source.Err]).
type Health struct {
	// Polls counts completed polls, Requests the HTTP requests they made.
	Polls, Requests uint64
	// Failed counts polls in which a request failed or an answer did not
	// decode; Incomplete counts polls in which a search still returned
	// SearchDepth traces in a window too narrow to split further, so some
	// traces were not fetched.
	Failed, Incomplete uint64
	// LastError is the last problem, at LastErrorAt.
	LastError   string
	LastErrorAt time.Time
	// LastPoll is when the last poll completed.
	LastPoll time.Time
	// Delay is [Source.Delay].
	Delay time.Duration
}

const keptErrors = 10

// New returns a source over the Jaeger at cfg.URL. It makes no request
// until the first Spans or Changed: a Jaeger that is down shows up there,
// as errors in Stats, never as "0 spans".
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults(time.Now())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{
		cfg:       cfg,
		store:     spanstore.New(spanstore.WithCorrelationKeys(cfg.CorrelationKeys...)),
		origin:    spanstore.Origin{Sender: "jaeger " + cfg.URL, Transport: spanstore.TransportAPI, Encoding: spanstore.EncodingJSON},
		ctx:       ctx,
		cancel:    cancel,
		stop:      make(chan struct{}),
		seen:      make(map[spanKey]struct{}),
		kick:      make(chan struct{}, 1),
		nextDone:  make(chan struct{}),
		firstDone: make(chan struct{}),
		waiters:   make(map[<-chan struct{}]struct{}),
		wanted:    make(map[spanstore.TraceID]struct{}),
	}
	s.health.Delay = s.Delay()
	s.pollFn = s.pollOnce
	return s, nil
}

// Close stops the poller and waits for it; requests in flight are
// cancelled. Spans afterwards answers from what was fetched, and Changed
// channels no longer close. Close is idempotent.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Delay is how long after Jaeger accepted a span the source may still not
// answer it: the settle window (ingestion delay) plus the longest wait
// between polls, plus the time of one poll, which it cannot know ahead.
// An absence the source reports (assert's Never, NotPublished, the settle
// window of Exactly and Published) is proven only for spans that reached
// Jaeger at least that long before the check ended: give those checks
// windows longer than Delay; their settle windows widen to [Source.Settle].
func (s *Source) Delay() time.Duration { return s.cfg.Settle + s.cfg.MaxBackoff }

// Settle is the settle window assertions over this source use in place of
// assert's default (300ms, for an in-process sink), so that an extra span
// still on its way through Jaeger fails Exactly or Published: assert.Check
// and assert.On pick it up by themselves (an explicit assert.WithSettle
// still wins). It is [Source.Delay].
func (s *Source) Settle() time.Duration { return s.Delay() }

// CorrelationKeys returns the keys the source correlates by.
func (s *Source) CorrelationKeys() []string { return s.store.CorrelationKeys() }

// Spans returns the spans f selects among those fetched, in the order they
// were fetched. The first call waits for the source's first poll. While the
// poller runs (someone waits on a Changed channel) the answer is as of its
// last poll; otherwise, when the last poll is older than MaxBackoff, Spans
// polls first, so a one-off query sees what Jaeger holds now.
func (s *Source) Spans(f spanstore.Filter) []spanstore.Span {
	s.want(f, false)
	s.mu.Lock()
	var done chan struct{}
	switch {
	case s.closed:
	case !s.running && (s.lastDone.IsZero() || time.Since(s.lastDone) > s.cfg.MaxBackoff):
		done = s.requestPoll()
	case s.lastDone.IsZero():
		done = s.firstDone // the poller is running its first poll
	}
	s.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-s.stop:
		}
	}
	return s.store.Spans(f)
}

// Changed returns a channel closed when a poll fetches a span that could
// change what f selects. The source's single poller runs while any such
// channel is open, so waiting costs one goroutine however many wait.
func (s *Source) Changed(f spanstore.Filter) <-chan struct{} {
	s.want(f, true)
	ch := s.store.Changed(f)
	s.mu.Lock()
	if !s.closed {
		s.waiters[ch] = struct{}{}
		s.startPoller()
	}
	s.mu.Unlock()
	return ch
}

// want notes a trace asked for by ID: a search by service finds only traces
// with a span of Config.Services, so such a trace is fetched by its ID, on
// every poll while the poller runs (it may still grow). A Spans call wants
// it only when the source holds none of it: the engine reads every trace it
// already has by ID, and those need no fetch of their own.
func (s *Source) want(f spanstore.Filter, waiting bool) {
	if f.TraceID.IsZero() || f.Correlation != "" || (!waiting && len(s.store.Trace(f.TraceID)) > 0) {
		return
	}
	s.mu.Lock()
	s.wanted[f.TraceID] = struct{}{}
	s.mu.Unlock()
}

// Stats describes what the source fetched, for failure reports: the span
// counts of its store, one sender (the Jaeger it polls, with its Delay),
// and in LastErrors every recent failed or incomplete poll, followed by the
// latest poll's remarks (a service Jaeger does not know).
func (s *Source) Stats() spanstore.Stats {
	st := s.store.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	sender := spanstore.SenderStats{
		Sender: fmt.Sprintf("%s (polled; a span shows here up to %s after Jaeger accepts it, so an absence is proven only that far)",
			s.origin.Sender, s.Delay()),
		Requests: s.health.Requests,
		Spans:    st.Spans,
		LastSeen: s.health.LastPoll,
	}
	st.Senders = []spanstore.SenderStats{sender}
	st.LastErrors = nil
	for _, p := range s.errs {
		st.LastErrors = append(st.LastErrors, p.String())
	}
	st.LastErrors = append(st.LastErrors, s.notes...)
	return st
}

// Health returns the counts of the source's polls.
func (s *Source) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

// Err returns an error when any poll so far failed or was incomplete, so a
// check that passed may have passed on less than Jaeger held (a Never over
// spans it could not fetch); nil when every poll was complete. Tests call
// it at the end (the e2e suite does in t.Cleanup).
func (s *Source) Err() error {
	h := s.Health()
	if h.Failed == 0 && h.Incomplete == 0 {
		return nil
	}
	return fmt.Errorf("jaeger source: %d of %d polls failed and %d were incomplete; last, at %s: %s",
		h.Failed, h.Polls, h.Incomplete, h.LastErrorAt.Format("15:04:05.000"), h.LastError)
}

// requestPoll asks for a poll that starts after now and returns the channel
// closed when it completes. Caller holds mu.
func (s *Source) requestPoll() chan struct{} {
	s.pending = true
	done := s.nextDone
	s.startPoller()
	select {
	case s.kick <- struct{}{}:
	default: // a kick is already queued
	}
	return done
}

// startPoller starts the poller's goroutine unless it runs. Caller holds mu.
func (s *Source) startPoller() {
	if s.running || s.closed {
		return
	}
	s.running = true
	s.wg.Add(1)
	go s.loop()
}

// loop is the poller: poll, then sleep for the backoff (or until kicked),
// for as long as a Changed channel is open or a poll was asked for.
func (s *Source) loop() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		s.mu.Lock()
		done := s.nextDone
		s.nextDone = make(chan struct{})
		s.pending = false
		select {
		case <-s.kick: // this poll answers it
		default:
		}
		wanted := make([]spanstore.TraceID, 0, len(s.wanted))
		for id := range s.wanted {
			wanted = append(wanted, id)
		}
		s.mu.Unlock()

		r := s.pollFn(s.ctx, wanted)

		s.mu.Lock()
		s.record(r)
		close(done)
		for ch := range s.waiters {
			if isClosed(ch) {
				delete(s.waiters, ch)
			}
		}
		if s.closed || (len(s.waiters) == 0 && !s.pending) {
			s.running = false
			clear(s.wanted) // no one waits for them any more
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()

		backoff = nextBackoff(backoff, s.cfg.MinBackoff, s.cfg.MaxBackoff, r.found > 0)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.kick:
		case <-s.stop:
			t.Stop()
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
			return
		}
		t.Stop()
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// pollResult is what one poll did.
type pollResult struct {
	found    int // new spans ingested
	requests int
	// failed and incomplete describe problems: a failed request or
	// answer, a window whose traces could not all be fetched.
	failed, incomplete []string
	notes              []string
}

// record folds a poll's result into the health counts. Caller holds mu.
func (s *Source) record(r pollResult) {
	now := time.Now()
	if s.lastDone.IsZero() {
		close(s.firstDone)
	}
	s.lastDone = now
	s.health.Polls++
	s.health.Requests += uint64(r.requests)
	s.health.LastPoll = now
	if len(r.failed) > 0 {
		s.health.Failed++
	}
	if len(r.incomplete) > 0 {
		s.health.Incomplete++
	}
	for _, p := range append(r.failed, r.incomplete...) {
		s.health.LastError, s.health.LastErrorAt = p, now
		s.addError(now, p)
	}
	s.notes = r.notes
}

// problem is one kept message, with how often it repeated.
type problem struct {
	first, last time.Time
	msg         string
	times       int
}

func (p problem) String() string {
	if p.times == 1 {
		return p.first.Format("15:04:05.000") + " " + p.msg
	}
	return fmt.Sprintf("%s %s (%d times, last at %s)", p.first.Format("15:04:05.000"), p.msg, p.times, p.last.Format("15:04:05.000"))
}

// addError keeps the latest problems, folding a repeat of the last one into
// a count so that a Jaeger that stays down does not push out what came
// before. Caller holds mu.
func (s *Source) addError(at time.Time, msg string) {
	if n := len(s.errs); n > 0 && s.errs[n-1].msg == msg {
		s.errs[n-1].times++
		s.errs[n-1].last = at
		return
	}
	if len(s.errs) == keptErrors {
		s.errs = s.errs[1:]
	}
	s.errs = append(s.errs, problem{first: at, last: at, msg: msg, times: 1})
}

// pollOnce searches every service over the whole window, fetches the wanted
// traces the searches did not bring, and ingests every span not seen
// before.
func (s *Source) pollOnce(ctx context.Context, wanted []spanstore.TraceID) pollResult {
	var r pollResult
	w := searchWindow(s.cfg.Since, time.Now(), s.cfg.ClockSkew)
	fetched := map[[16]byte]struct{}{}
	var empty []string
	for _, svc := range s.cfg.Services {
		total := 0
		cov, err := cover(ctx, w, s.cfg.SearchDepth, minSplit, maxRequestsPerSearch, func(ctx context.Context, w window) (int, error) {
			td, err := s.find(ctx, svc, w)
			if err != nil {
				return 0, err
			}
			forTraces(td, func(id [16]byte) { fetched[id] = struct{}{} })
			n := countTraces(td) // before ingest drops the spans seen before
			r.found += s.ingest(td)
			total += n
			return n, nil
		})
		r.requests += cov.requests
		if err != nil {
			r.failed = append(r.failed, fmt.Sprintf("searching service %q: %v", svc, err))
			continue
		}
		for _, c := range cov.capped {
			r.incomplete = append(r.incomplete, fmt.Sprintf(
				"incomplete: service %q has at least %d traces (SearchDepth) with spans that started from %s, and the window was not split further; traces in it may be missing: raise SearchDepth or start the window later (Since)",
				svc, s.cfg.SearchDepth, c))
		}
		if total == 0 {
			empty = append(empty, svc)
		}
	}
	for _, id := range wanted {
		if _, ok := fetched[id]; ok {
			continue // a search brought it whole
		}
		r.requests++
		td, found, err := s.getTrace(ctx, id)
		if err != nil {
			r.failed = append(r.failed, fmt.Sprintf("fetching trace %s: %v", id, err))
			continue
		}
		if found {
			r.found += s.ingest(td)
		}
	}
	if len(empty) > 0 && len(r.failed) == 0 {
		r.notes = s.checkServices(ctx, empty, &r)
	}
	return r
}

// checkServices explains a search that found nothing: Jaeger may not know
// the service at all (a typo, or spans exported elsewhere).
func (s *Source) checkServices(ctx context.Context, empty []string, r *pollResult) []string {
	r.requests++
	known, err := s.services(ctx)
	if err != nil {
		r.failed = append(r.failed, fmt.Sprintf("listing services: %v", err))
		return nil
	}
	var notes []string
	for _, svc := range empty {
		if !contains(known, svc) {
			notes = append(notes, fmt.Sprintf("note: Jaeger has no span of service %q at all (it knows %q): check Config.Services and where the spans are exported", svc, known))
		}
	}
	return notes
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ingest stores the spans of td not seen before and returns their number.
// It removes the others from td. It runs on the poller's goroutine only.
func (s *Source) ingest(td ptrace.Traces) int {
	n := 0
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(sp ptrace.Span) bool {
				k := spanKey{sp.TraceID(), sp.SpanID()}
				if _, dup := s.seen[k]; dup {
					return true
				}
				s.seen[k] = struct{}{}
				n++
				return false
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	if n > 0 {
		s.store.Ingest(td, s.origin)
	}
	return n
}

func forTraces(td ptrace.Traces, f func([16]byte)) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				f(spans.At(k).TraceID())
			}
		}
	}
}
