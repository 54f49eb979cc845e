package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/traceproof/traceproof/bench/spangen"
)

// serveTarget is a `traceproof serve` process under the same soak.
type serveTarget struct {
	t        Target
	cmd      *exec.Cmd
	pid      string
	httpAddr string
	stderr   tailBuffer
	cnt      counters
	epoch    atomic.Int64
	hasAPI   bool
	workers  sync.WaitGroup
	exited   chan error
	client   *http.Client
	maxSpans int
}

var listening = regexp.MustCompile(`^traceproof: listening grpc=(\S+) http=http://(\S+)$`)

func startServe(ctx context.Context, c config, tpl *spangen.Template, seq *atomic.Uint64) (*serveTarget, error) {
	s := &serveTarget{t: Target{Name: "traceproof serve"}, exited: make(chan error, 1),
		client: &http.Client{Timeout: 2 * time.Minute}, maxSpans: c.maxSpans}
	s.cmd = exec.Command(c.serveBin, "serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--print", "none",
		"--max-spans", strconv.Itoa(c.maxSpans))
	// gctrace reports the live heap after every collection; the soak reads
	// it from serve's stderr (gcTail), and keeps the rest of stderr.
	s.cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.pid = strconv.Itoa(s.cmd.Process.Pid)
	sc := bufio.NewScanner(stdout)
	var grpcAddr string
	if sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			grpcAddr, s.httpAddr = m[1], m[2]
		}
	}
	if grpcAddr == "" {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		return nil, fmt.Errorf("%s serve printed no listening line; stderr: %s", c.serveBin, s.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	go func() { s.exited <- s.cmd.Wait() }()

	if err := startSenders(ctx, &s.workers, c, tpl, seq, grpcAddr, s.httpAddr, &s.cnt); err != nil {
		return nil, err
	}
	s.hasAPI = s.serveAPI()
	if !s.hasAPI {
		s.t.Notes = append(s.t.Notes, "serve has no POST /api/v1/wait in this build (its remote API is not mounted): the long-polls and resets against serve were skipped; the hook is serveAPI in bench/soak/serve.go")
		return s, nil
	}
	for range c.waiters {
		s.workers.Go(func() { s.poll(ctx, c, seq) })
	}
	if c.resetEvery > 0 {
		s.workers.Go(func() { s.resetLoop(ctx, c) })
	}
	return s, nil
}

// serveAPI reports whether serve answers the remote API's wait: the soak
// long-polls it only then.
func (s *serveTarget) serveAPI() bool {
	resp, err := s.post(context.Background(), "/api/v1/wait", `{"query":{"correlation":"soak-probe"},"count":1,"timeout":"1ms"}`)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *serveTarget) post(ctx context.Context, path, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.httpAddr+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return s.client.Do(req)
}

// poll long-polls POST /api/v1/wait for tasks about to arrive: each must
// answer ok with exactly the task's 8 spans, unless a reset cut it.
func (s *serveTarget) poll(ctx context.Context, c config, seq *atomic.Uint64) {
	for ctx.Err() == nil {
		task, _ := futureTask(c, seq)
		corr := spangen.CorrelationID(task)
		epoch := s.epoch.Load()
		resp, err := s.post(ctx, "/api/v1/wait", fmt.Sprintf(`{"query":{"correlation":%q},"count":%d,"timeout":"60s"}`, corr, spangen.SpansPerTask))
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.cnt.fail("POST /api/v1/wait: %v", err)
			continue
		}
		var ans struct {
			OK    bool              `json:"ok"`
			Spans []json.RawMessage `json:"spans"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		switch {
		case err != nil || resp.StatusCode != http.StatusOK:
			s.cnt.fail("POST /api/v1/wait: %s, %v", resp.Status, err)
		case !ans.OK && s.epoch.Load() != epoch:
			s.cnt.pollsCut.Add(1)
		case !ans.OK || len(ans.Spans) != spangen.SpansPerTask:
			s.cnt.fail("POST /api/v1/wait for %s: ok=%v with %d spans", corr, ans.OK, len(ans.Spans))
		default:
			s.cnt.pollsOK.Add(1)
		}
	}
}

func (s *serveTarget) resetLoop(ctx context.Context, c config) {
	t := time.NewTicker(c.resetEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.epoch.Add(1)
		resp, err := s.post(ctx, "/api/v1/reset", "{}")
		if err != nil {
			if ctx.Err() == nil {
				s.cnt.fail("POST /api/v1/reset: %v", err)
			}
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
			s.cnt.fail("POST /api/v1/reset: %s", resp.Status)
		}
		s.cnt.resets.Add(1)
	}
}

func (s *serveTarget) sample(t float64) Sample {
	rss, threads := procStatus(s.pid)
	spans := s.cnt.spans.Load()
	return Sample{T: t, RSSKiB: rss, HeapLiveKiB: s.stderr.liveHeapKiB(), Threads: threads, OpenFiles: openFiles(s.pid), Spans: uint64(spans), Polls: s.cnt.pollsOK.Load(),
		Full: spans > int64(s.maxSpans)}
}

var stoppedClean = regexp.MustCompile(`traceproof: stopped; .* 0 rejected, \d+ evicted, 0 decode errors, 0 refused`)

func (s *serveTarget) finish(c config) *Target {
	s.workers.Wait()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		err = errors.Join(errors.New("did not stop within 30s of SIGTERM"), <-s.exited)
	}
	if err != nil {
		s.cnt.fail("serve: %v; stderr: %s", err, s.stderr.String())
	}
	if !stoppedClean.MatchString(s.stderr.String()) {
		s.cnt.fail("serve's exit summary reports errors: %s", s.stderr.String())
	}
	s.t.Notes = append(s.t.Notes, fmt.Sprintf("%d requests, %d spans accepted; %d send errors", s.cnt.requests.Load(), s.cnt.spans.Load(), s.cnt.sendErrors.Load()))
	if s.hasAPI {
		s.t.Notes = append(s.t.Notes, fmt.Sprintf("%d long-polls answered with their 8 spans (%d cut by a reset); %d resets", s.cnt.pollsOK.Load(), s.cnt.pollsCut.Load(), s.cnt.resets.Load()))
		if s.cnt.pollsOK.Load() == 0 {
			s.cnt.fail("no long-poll completed")
		}
	}
	if line := lastLine(s.stderr.String(), "traceproof: stopped;"); line != "" {
		s.t.Notes = append(s.t.Notes, "serve's exit summary: "+line)
	}
	s.t.Errors = s.cnt.errors()
	s.t.Verdict = judge(&s.t, c, false)
	return &s.t
}

func lastLine(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return lines[i]
		}
	}
	return ""
}

// tailBuffer keeps the last 64 KiB of serve's stderr that is not gctrace,
// and the live heap of the last gctrace line ("gc 12 @3.4s 5%: ... ms cpu,
// 900->950->610 MB, 1000 MB goal, ...": 610).
type tailBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	partial []byte
	liveMB  int64
}

var gcLine = regexp.MustCompile(`^gc \d+ @.* (\d+)->(\d+)->(\d+) MB`)

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		line := t.partial[:i+1]
		if m := gcLine.FindSubmatch(line); m != nil {
			t.liveMB, _ = strconv.ParseInt(string(m[3]), 10, 64)
		} else {
			t.b.Write(line)
		}
		t.partial = t.partial[i+1:]
	}
	if over := t.b.Len() - 64<<10; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) liveHeapKiB() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.liveMB << 10
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String() + string(t.partial)
}
