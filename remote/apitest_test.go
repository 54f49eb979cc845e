package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/remote"
	"github.com/traceproof/traceproof/spanstore"
)

// server is the API mounted on a real sink, as traceproof serve mounts it.
type server struct {
	t     *testing.T
	st    *spanstore.Store
	h     *remote.Handler
	sink  *otlpsink.Sink
	url   string // the sink's HTTP base URL
	token string
}

func startServer(t *testing.T, token string) *server {
	t.Helper()
	st := spanstore.New()
	var hopts []remote.HandlerOption
	sopts := []otlpsink.Option{otlpsink.WithStore(st)}
	if token != "" {
		hopts = append(hopts, remote.WithToken(token))
		sopts = append(sopts, otlpsink.WithToken(token))
	}
	h := remote.NewHandler(st, nil, hopts...)
	sink := otlpsink.Start(t, append(sopts, otlpsink.WithHandler("/api/", h))...)
	t.Cleanup(h.Close) // before the sink's Close (cleanups run last first)
	return &server{t: t, st: st, h: h, sink: sink, url: sink.HTTPURL(), token: token}
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

// do sends a request with the server's token.
func (s *server) do(method, path, body string) answer {
	s.t.Helper()
	return s.doWith(context.Background(), method, path, body, "application/json", s.token)
}

func (s *server) doWith(ctx context.Context, method, path, body, ctype, token string) answer {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" && ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// spanNames lists the names of the spans in an answer's "spans".
func spanNames(t *testing.T, m map[string]any) []string {
	t.Helper()
	raw, ok := m["spans"].([]any)
	if !ok {
		t.Fatalf("no spans array in %v", m)
	}
	var out []string
	for _, s := range raw {
		out = append(out, s.(map[string]any)["name"].(string))
	}
	return out
}

// recorder is an http.ResponseWriter that a test may read while the
// handler writes (httptest.ResponseRecorder may not be read concurrently),
// for handlers run in a synctest bubble without a network.
type recorder struct {
	mu     sync.Mutex
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) Flush() {}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.String()
}

func (r *recorder) Status() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// serve runs h on a request in the background, as a server would; done
// closes when it returns.
func serve(ctx context.Context, h http.Handler, method, target, body string) (rec *recorder, done chan struct{}) {
	rec = newRecorder()
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		panic(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, req)
	}()
	return rec, done
}
