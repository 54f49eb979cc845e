package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// Source is a `traceproof serve` in another process, or on another
// machine, as an assert.Source: assertions and the domain-event checks run
// here, in the test, unchanged, reading the spans over the remote API.
//
//	src := remote.Connect(t, "http://127.0.0.1:4318", os.Getenv("TRACEPROOF_TOKEN"))
//	tp := assert.On(t, src)
//	domainevent.On(tp).Published(corr, domainevent.Durable("payment.processed"))
//
// Waiting stays event-driven across the network: Changed holds a
// long-poll (POST /api/v1/changes) that the server answers when a span
// arrives that could change the filter's answer; watches on one filter
// share one request. A filter's index fields (correlation, trace, name)
// are sent; its Match, a Go func, runs here on what comes back.
//
// The [assert.Source] methods cannot return errors, so a request that fails
// (the server is down, the token is wrong) is counted and kept: Stats puts
// the messages into LastErrors, which every failure report prints, and Err
// returns them. A failed Spans answers no spans, and a failed watch closes
// its channel after a short backoff (50ms, doubling up to 2s), so the
// assertion looks again rather than hang or spin. A test that also wants
// the connection proven sound checks Err, as [Connect] does at cleanup.
type Source struct {
	base  string // "http://host:port"
	token string
	hc    *http.Client
	keys  []string

	ctx    context.Context // ends with Close
	cancel context.CancelFunc

	mu       sync.Mutex
	watches  map[watchKey]*watch
	failures int // consecutive failed watches, for the backoff
	nerrs    int
	errs     []string // the newest, at most maxErrorsKept
	last     spanstore.Stats
}

type watchKey struct {
	corr, name string
	trace      spanstore.TraceID
}

// watch is one long-poll that every Changed on its filter shares until it
// fires.
type watch struct {
	ready chan struct{} // closed once the server watches (or the request failed)
	ch    chan struct{} // closed when a span arrives that could change the answer
}

// pageSize is how many spans one /spans request asks for (a variable for
// tests).
var pageSize = maxLimit

const (
	requestTimeout = time.Minute
	registerWithin = 10 * time.Second // for the server to start watching
	maxErrorsKept  = 10
	minBackoff     = 50 * time.Millisecond
	maxBackoff     = 2 * time.Second
)

// Dial connects to the remote API of a `traceproof serve` at serverURL (its
// HTTP address: "http://127.0.0.1:4318", or "127.0.0.1:4318"), with the
// serve's --token ("" for none). It checks that the server answers and
// accepts the token, and reads the keys it correlates by. Close the Source
// when done.
func Dial(serverURL, token string) (*Source, error) {
	base, err := baseURL(serverURL)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// One connection per watch held, and the assertions' queries beside
	// them: keep enough idle ones not to dial for every look.
	tr.MaxIdleConnsPerHost = 256
	s := &Source{base: base, token: token, hc: &http.Client{Transport: tr}, watches: map[watchKey]*watch{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	var j statsJSON
	if err := s.do(http.MethodGet, "/api/v1/stats", nil, &j); err != nil {
		s.cancel()
		return nil, err
	}
	s.keys = j.CorrelationKeys
	s.last = j.stats()
	return s, nil
}

// Connect is Dial for a test: it fails tb at once when the server cannot be
// reached, and at cleanup closes the Source and fails tb if any request
// failed meanwhile, since an assertion may have judged a failed answer as
// no spans.
func Connect(tb testing.TB, serverURL, token string) *Source {
	tb.Helper()
	s, err := Dial(serverURL, token)
	if err != nil {
		tb.Fatalf("remote.Connect: %v", err)
	}
	tb.Cleanup(func() {
		s.Close()
		if err := s.Err(); err != nil {
			tb.Errorf("remote.Connect: %v", err)
		}
	})
	return s
}

func baseURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("remote: no server URL")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("remote: server URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("remote: server URL %q: want http://HOST:PORT (the HTTP address of traceproof serve)", raw)
	}
	path := strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v1")
	return u.Scheme + "://" + u.Host + path, nil
}

// URL is the server's base URL.
func (s *Source) URL() string { return s.base }

// CorrelationKeys are the keys the server's store correlates by.
func (s *Source) CorrelationKeys() []string { return slices.Clone(s.keys) }

// Close ends the watches held (their channels close) and makes every later
// request fail. It is idempotent.
func (s *Source) Close() { s.cancel() }

// Err says whether any request failed since Dial: nil if none did, else how
// many, and the newest messages.
func (s *Source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nerrs == 0 {
		return nil
	}
	return fmt.Errorf("%d requests to traceproof serve at %s failed; the newest:\n  %s", s.nerrs, s.base, strings.Join(s.errs, "\n  "))
}

// Spans asks the server for the spans of f's correlation, trace and name
// (all spans when f has none), in pages, and keeps those f.Match accepts.
func (s *Source) Spans(f spanstore.Filter) []spanstore.Span {
	q := Query{Correlation: f.Correlation, Name: f.Name}
	if !f.TraceID.IsZero() {
		q.TraceID = f.TraceID.String()
	}
	var out []spanstore.Span
	var after uint64
	for {
		req := struct {
			Query Query  `json:"query"`
			Limit int    `json:"limit"`
			After uint64 `json:"after,omitempty"`
		}{q, pageSize, after}
		var resp struct {
			Spans []json.RawMessage `json:"spans"`
		}
		if err := s.do(http.MethodPost, "/api/v1/spans", req, &resp); err != nil {
			s.failed(fmt.Sprintf("%v; the assertion saw no spans for %s", err, f))
			return nil
		}
		for _, raw := range resp.Spans {
			sp, _, err := spanstore.DecodeSpanJSON(raw)
			if err != nil {
				s.failed(fmt.Sprintf("POST %s/api/v1/spans: %v; the assertion saw no spans for %s", s.base, err, f))
				return nil
			}
			after = max(after, sp.Seq)
			if f.Match == nil || f.Match(&sp) {
				out = append(out, sp)
			}
		}
		if len(resp.Spans) < pageSize {
			return out
		}
	}
}

// Changed returns a channel closed when the server sees a span arrive that
// could change what f selects (by f's correlation, else trace, else name,
// else any span), or when the watch ends without one (after 30s, or when
// the Source closes): a wake-up with nothing new, which the engine answers
// by looking again. It returns once the server watches, so that nothing
// arriving before the caller's next Spans is missed.
func (s *Source) Changed(f spanstore.Filter) <-chan struct{} {
	k := watchKey{corr: f.Correlation}
	switch {
	case f.Correlation != "":
	case !f.TraceID.IsZero():
		k.trace = f.TraceID
	default:
		k.name = f.Name
	}
	s.mu.Lock()
	if w := s.watches[k]; w != nil {
		s.mu.Unlock()
		<-w.ready
		return w.ch
	}
	w := &watch{ready: make(chan struct{}), ch: make(chan struct{})}
	s.watches[k] = w
	s.mu.Unlock()

	defer close(w.ready)
	body, err := s.startWatch(k)
	if err != nil {
		s.failed(fmt.Sprintf("%v; looking again after a backoff", err))
		s.mu.Lock()
		delay := min(minBackoff<<min(s.failures, 10), maxBackoff)
		s.failures++
		delete(s.watches, k)
		s.mu.Unlock()
		time.AfterFunc(delay, func() { close(w.ch) })
		return w.ch
	}
	s.mu.Lock()
	s.failures = 0
	s.mu.Unlock()
	go func() {
		defer body.Close()
		_, _ = body.ReadBytes('\n') // {"changed":…}, or the end of the request: either way, look again
		s.mu.Lock()
		if s.watches[k] == w {
			delete(s.watches, k)
		}
		s.mu.Unlock()
		close(w.ch)
	}()
	return w.ch
}

// startWatch posts /changes and reads the line saying the server watches.
func (s *Source) startWatch(k watchKey) (*lineReader, error) {
	req := map[string]string{}
	switch {
	case k.corr != "":
		req["correlation"] = k.corr
	case !k.trace.IsZero():
		req["trace_id"] = k.trace.String()
	case k.name != "":
		req["name"] = k.name
	}
	ctx, cancel := context.WithCancel(s.ctx)
	late := time.AfterFunc(registerWithin, cancel)
	resp, err := s.send(ctx, http.MethodPost, "/api/v1/changes", req)
	if err != nil {
		late.Stop()
		cancel()
		return nil, err
	}
	lr := &lineReader{r: bufio.NewReader(resp.Body), body: resp.Body, cancel: cancel}
	line, err := lr.ReadBytes('\n')
	late.Stop()
	if err != nil || !bytes.Contains(line, []byte(`"watching":true`)) {
		lr.Close()
		if err == nil {
			err = fmt.Errorf("unexpected answer %q", bytes.TrimSpace(line))
		}
		return nil, fmt.Errorf("POST %s/api/v1/changes: %w", s.base, err)
	}
	// The server answers within its own timeout; this only guards against
	// one that never does.
	lr.guard = time.AfterFunc(changesTimeout+registerWithin, cancel)
	return lr, nil
}

// lineReader reads a streamed answer line by line and ends its request
// when closed.
type lineReader struct {
	r      *bufio.Reader
	body   io.Closer
	cancel context.CancelFunc
	guard  *time.Timer
}

func (l *lineReader) ReadBytes(delim byte) ([]byte, error) { return l.r.ReadBytes(delim) }

func (l *lineReader) Close() {
	if l.guard != nil {
		l.guard.Stop()
	}
	_ = l.body.Close()
	l.cancel()
}

// Stats returns the server's stats, with this Source's failed requests
// added to LastErrors. When the server cannot be reached it returns the
// last stats it got, saying so in Endpoints and LastErrors.
func (s *Source) Stats() spanstore.Stats {
	var j statsJSON
	err := s.do(http.MethodGet, "/api/v1/stats", nil, &j)
	s.mu.Lock()
	defer s.mu.Unlock()
	var st spanstore.Stats
	if err != nil {
		s.recordLocked(err.Error())
		st = s.last
		note := fmt.Sprintf("traceproof serve at %s is unreachable (%v); these stats are from its last answer", s.base, err)
		st.Endpoints = append(slices.Clone(st.Endpoints), note)
		st.LastErrors = append(slices.Clone(st.LastErrors), note)
	} else {
		st = j.stats()
		s.last = st
	}
	if s.nerrs > 0 {
		st.LastErrors = append(slices.Clone(st.LastErrors), fmt.Sprintf("this test's remote source: %d requests to %s failed; the newest:", s.nerrs, s.base))
		for _, e := range s.errs {
			st.LastErrors = append(st.LastErrors, "  "+e)
		}
	}
	return st
}

func (s *Source) failed(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordLocked(msg)
}

func (s *Source) recordLocked(msg string) {
	s.nerrs++
	if len(s.errs) == maxErrorsKept {
		s.errs = s.errs[1:]
	}
	s.errs = append(s.errs, time.Now().Format("15:04:05.000")+" "+msg)
}

// do sends a request and decodes a 200 answer into out.
func (s *Source) do(method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(s.ctx, requestTimeout)
	defer cancel()
	resp, err := s.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s%s: decoding the answer: %w", method, s.base, path, err)
	}
	return nil
}

// send sends a request and returns a 200 answer; other statuses become
// errors with the server's message.
func (s *Source) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("remote: encoding a request to %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	// Every request a Source sends only reads (or watches), so the
	// transport may resend it on a kept-alive connection the server had
	// closed, rather than fail it; a nil value is not sent.
	req.Header["X-Idempotency-Key"] = nil
	resp, err := s.hc.Do(req)
	if err != nil {
		if s.ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s%s: the remote source is closed", method, s.base, path)
		}
		return nil, err // *url.Error names the method and URL
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, statusError(method, s.base+path, resp)
	}
	return resp, nil
}

// statusError describes a non-200 answer, with the server's message.
func statusError(method, u string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var e apiError
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Msg != "" {
		msg = e.Msg
	}
	hint := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		hint = " (pass the --token traceproof serve was started with)"
	case http.StatusNotFound:
		hint = " (is this traceproof serve's HTTP address, and a version with the remote API?)"
	}
	return fmt.Errorf("%s %s: %s: %s%s", method, u, resp.Status, msg, hint)
}
