package orchestration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/traceproof/traceproof/e2e/tasker/internal/events"
	"github.com/traceproof/traceproof/e2e/tasker/internal/store"
	"github.com/traceproof/traceproof/e2e/tasker/internal/workflow"
)

type fixture struct {
	path string
	st   *store.Store
	rec  *tracetest.SpanRecorder
	svc  *Service
	srv  *httptest.Server
}

func queues() []string {
	var qs []string
	for _, n := range workflow.Namespaces() {
		qs = append(qs, events.QueueName(n))
	}
	return qs
}

func newFixture(t *testing.T, path, instance string) *fixture {
	t.Helper()
	ctx := context.Background()
	if path == "" {
		path = filepath.Join(t.TempDir(), "o.db")
	}
	st, err := store.Open(ctx, path, queues()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(ctx) })
	svc := New(Config{InstanceID: instance, Store: st, TracerProvider: tp})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return &fixture{path: path, st: st, rec: rec, svc: svc, srv: srv}
}

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	return resp.StatusCode, m
}

func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", "orchestration-1")
	code, task := do(t, "POST", f.srv.URL+"/v1/tasks", `{"namespace":"domain_events","name":"domain_event_publishing",
		"version":"1.0.0","context":{"order_id":"O-1"},"correlation_id":"corr-api"}`)
	require.Equal(t, http.StatusCreated, code, task)
	assert.Equal(t, "pending", task["state"])
	assert.Equal(t, "corr-api", task["correlation_id"])
	assert.Equal(t, map[string]any{"order_id": "O-1"}, task["context"])
	steps := task["steps"].([]any)
	require.Len(t, steps, 4)
	assert.Equal(t, "Enqueued", steps[0].(map[string]any)["state"])
	assert.Equal(t, "Pending", steps[1].(map[string]any)["state"])
	assert.Nil(t, steps[0].(map[string]any)["result"])

	id := task["task_uuid"].(string)
	code, got := do(t, "GET", f.srv.URL+"/v1/tasks/"+id, "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, id, got["task_uuid"])
	assert.Equal(t, "", got["finalized_by"])

	code, _ = do(t, "GET", f.srv.URL+"/v1/tasks/nope", "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = do(t, "GET", f.srv.URL+"/v1/tasks/nope?wait=final&timeout=1s", "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = do(t, "GET", f.srv.URL+"/v1/tasks/"+id+"?wait=final&timeout=x", "")
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = do(t, "GET", f.srv.URL+"/health", "")
	assert.Equal(t, http.StatusOK, code)

	var created sdktrace.ReadOnlySpan
	for _, s := range f.rec.Ended() {
		if s.Name() == SpanCreateTask {
			created = s
		}
	}
	require.NotNil(t, created)
	assert.Contains(t, created.Attributes(), attribute.String(AttrTaskUUID, id))
	assert.Contains(t, created.Attributes(), attribute.String(AttrCorrelationID, "corr-api"))
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", "orchestration-1")
	for name, body := range map[string]string{
		"bad json":          `{"namespace":`,
		"unknown namespace": `{"namespace":"nope","name":"domain_event_publishing","correlation_id":"c"}`,
		"unknown name":      `{"namespace":"domain_events","name":"nope","correlation_id":"c"}`,
		"unknown version":   `{"namespace":"domain_events","name":"domain_event_publishing","version":"9","correlation_id":"c"}`,
		"no correlation id": `{"namespace":"domain_events","name":"domain_event_publishing"}`,
		"context not obj":   `{"namespace":"domain_events","name":"domain_event_publishing","correlation_id":"c","context":[1]}`,
		"unknown field":     `{"namespace":"domain_events","name":"domain_event_publishing","correlation_id":"c","extra":1}`,
	} {
		code, m := do(t, "POST", f.srv.URL+"/v1/tasks", body)
		assert.Equal(t, http.StatusBadRequest, code, name)
		assert.NotEmpty(t, m["error"], name)
	}
	code, task := do(t, "POST", f.srv.URL+"/v1/tasks", `{"namespace":"domain_events_py","name":"domain_event_publishing","correlation_id":"c"}`)
	require.Equal(t, http.StatusCreated, code)
	assert.Equal(t, "1.0.0", task["version"])
	assert.Equal(t, map[string]any{}, task["context"])
}

func completeAll(t *testing.T, st *store.Store, taskUUID string) {
	t.Helper()
	ctx := context.Background()
	task, err := st.GetTask(ctx, taskUUID)
	require.NoError(t, err)
	for _, s := range task.Steps {
		ok, err := st.ClaimStep(ctx, s.UUID, "w")
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, st.CompleteStep(ctx, s.UUID, "w", json.RawMessage(`{}`)))
	}
}

// Two instances over one database race to finalize: one span, one winner.
func TestFinalizeOnceAcrossInstancesAndLongPoll(t *testing.T) {
	t.Parallel()
	a := newFixture(t, "", "orchestration-1")
	b := newFixture(t, a.path, "orchestration-2")
	code, task := do(t, "POST", a.srv.URL+"/v1/tasks", `{"namespace":"domain_events_rust","name":"domain_event_publishing","correlation_id":"corr-fin"}`)
	require.Equal(t, http.StatusCreated, code)
	id := task["task_uuid"].(string)

	// Long-poll before anything happens: times out with 408 and the task.
	code, m := do(t, "GET", b.srv.URL+"/v1/tasks/"+id+"?wait=final&timeout=50ms", "")
	assert.Equal(t, http.StatusRequestTimeout, code)
	assert.Equal(t, id, m["task_uuid"])

	// A long-poll in flight sees the finalization.
	type result struct {
		code int
		m    map[string]any
	}
	waited := make(chan result, 1)
	go func() {
		// No require here: FailNow must not run off the test goroutine.
		var r result
		resp, err := http.Get(b.srv.URL + "/v1/tasks/" + id + "?wait=final&timeout=20s")
		if err == nil {
			r.code = resp.StatusCode
			err = json.NewDecoder(resp.Body).Decode(&r.m)
			_ = resp.Body.Close()
		}
		if err != nil {
			r.m = map[string]any{"client error": err.Error()}
		}
		waited <- r
	}()

	completeAll(t, a.st, id)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, svc := range []*Service{a.svc, b.svc, a.svc, b.svc} {
		wg.Add(1)
		go func() { defer wg.Done(); svc.FinalizeReady(ctx) }()
	}
	wg.Wait()
	cancel()

	var spans []sdktrace.ReadOnlySpan
	for _, rec := range []*tracetest.SpanRecorder{a.rec, b.rec} {
		for _, s := range rec.Ended() {
			if s.Name() == SpanFinalizeTask {
				spans = append(spans, s)
			}
		}
	}
	require.Len(t, spans, 1, "exactly one finalize_task span")
	fs := spans[0]
	assert.False(t, fs.Parent().IsValid())
	got := map[string]string{}
	for _, kv := range fs.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	assert.Equal(t, "corr-fin", got[AttrCorrelationID])
	assert.Equal(t, id, got[AttrTaskUUID])
	assert.Equal(t, "complete", got[AttrTaskState])
	assert.Contains(t, []string{"orchestration-1", "orchestration-2"}, got[AttrOrchestrationInstance])

	select {
	case r := <-waited:
		require.Equal(t, http.StatusOK, r.code, r.m)
		assert.Equal(t, "complete", r.m["state"])
		assert.Equal(t, got[AttrOrchestrationInstance], r.m["finalized_by"])
		assert.NotNil(t, r.m["finalized_at"])
	case <-time.After(20 * time.Second):
		t.Fatal("long-poll did not return after finalization")
	}
}

func TestRunFinalizerStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", "orchestration-1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.RunFinalizer(ctx); close(done) }()
	code, task := do(t, "POST", f.srv.URL+"/v1/tasks", `{"namespace":"domain_events","name":"domain_event_publishing","correlation_id":"c-run"}`)
	require.Equal(t, http.StatusCreated, code)
	completeAll(t, f.st, task["task_uuid"].(string))
	code, m := do(t, "GET", f.srv.URL+"/v1/tasks/"+task["task_uuid"].(string)+"?wait=final&timeout=20s", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "complete", m["state"])
	assert.Equal(t, "orchestration-1", m["finalized_by"])
	cancel()
	<-done
}
