package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// HTTPError is a response with an unexpected status.
type HTTPError struct {
	Method     string
	URL        string
	StatusCode int
	Body       string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.StatusCode,
		http.StatusText(e.StatusCode), strings.TrimSpace(e.Body))
}

// Client talks to the orchestration API of one or several instances,
// rotating over them (so in cluster mode consecutive tasks are created
// through different instances), and to workers' /metrics/events.
type Client struct {
	urls []string
	next atomic.Uint64
	// HTTP is the client used; nil means one without a global timeout
	// (every call takes a context).
	HTTP *http.Client
}

// NewClient returns a client over the given orchestration base URLs.
func NewClient(orchestrationURLs ...string) *Client {
	urls := make([]string, len(orchestrationURLs))
	for i, u := range orchestrationURLs {
		urls[i] = strings.TrimRight(u, "/")
	}
	return &Client{urls: urls}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) pick() (string, error) {
	if len(c.urls) == 0 {
		return "", errors.New("harness client: no orchestration URLs")
	}
	return c.urls[(c.next.Add(1)-1)%uint64(len(c.urls))], nil
}

// do sends a request and decodes a JSON response with one of the accepted
// statuses into out. On another status it returns *HTTPError.
func (c *Client) do(ctx context.Context, method, u string, body any, out any, accept ...int) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: reading body: %w", method, u, err)
	}
	for _, s := range accept {
		if resp.StatusCode == s {
			if err := json.Unmarshal(b, out); err != nil {
				return resp.StatusCode, fmt.Errorf("%s %s: decoding %q: %w", method, u, b, err)
			}
			return resp.StatusCode, nil
		}
	}
	return resp.StatusCode, &HTTPError{Method: method, URL: u, StatusCode: resp.StatusCode, Body: string(b)}
}

// CreateTask creates a task through the next orchestration instance.
func (c *Client) CreateTask(ctx context.Context, req CreateTaskRequest) (Task, error) {
	base, err := c.pick()
	if err != nil {
		return Task{}, err
	}
	var t Task
	_, err = c.do(ctx, http.MethodPost, base+"/v1/tasks", req, &t, http.StatusCreated)
	return t, err
}

// GetTask reads a task through the next orchestration instance.
func (c *Client) GetTask(ctx context.Context, taskUUID string) (Task, error) {
	base, err := c.pick()
	if err != nil {
		return Task{}, err
	}
	var t Task
	_, err = c.do(ctx, http.MethodGet, base+"/v1/tasks/"+url.PathEscape(taskUUID), nil, &t, http.StatusOK)
	return t, err
}

// maxLongPoll bounds one long-poll request; WaitFinal issues another while
// ctx allows.
const maxLongPoll = 30 * time.Second

// WaitFinal blocks until the task is finalized (complete or error) or ctx
// ends, using the orchestration's server-side long-poll
// (GET /v1/tasks/{uuid}?wait=final&timeout=D) rather than polling from here.
// When ctx ends first it returns the last known task with an error saying
// where it stood.
func (c *Client) WaitFinal(ctx context.Context, taskUUID string) (Task, error) {
	var last Task
	for {
		wait := maxLongPoll
		if d, ok := ctx.Deadline(); ok {
			// Let the server answer 408 a little before our own deadline.
			wait = min(wait, time.Until(d)-100*time.Millisecond)
		}
		if wait < 10*time.Millisecond || ctx.Err() != nil {
			break
		}
		base, err := c.pick()
		if err != nil {
			return Task{}, err
		}
		u := fmt.Sprintf("%s/v1/tasks/%s?wait=final&timeout=%s", base, url.PathEscape(taskUUID), wait.Round(time.Millisecond))
		var t Task
		status, err := c.do(ctx, http.MethodGet, u, nil, &t, http.StatusOK, http.StatusRequestTimeout)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return last, err
		}
		last = t
		if status == http.StatusOK && t.Final() {
			return t, nil
		}
	}
	// One last look, for the error message.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if t, err := c.GetTask(lctx, taskUUID); err == nil {
		last = t
		if t.Final() {
			return t, nil
		}
	}
	cause := ctx.Err()
	if cause == nil {
		cause = context.DeadlineExceeded
	}
	return last, fmt.Errorf("task %s not finalized: %w (last seen: %s)", taskUUID, cause, describeTask(last))
}

func describeTask(t Task) string {
	if t.TaskUUID == "" {
		return "unknown"
	}
	var steps []string
	for _, s := range t.Steps {
		by := ""
		if s.ExecutedBy != "" {
			by = "@" + s.ExecutedBy
		}
		steps = append(steps, s.Name+"="+s.State+by)
	}
	return fmt.Sprintf("state=%s steps=[%s]", t.State, strings.Join(steps, " "))
}

// Metrics reads a worker's GET /metrics/events.
func (c *Client) Metrics(ctx context.Context, workerURL string) (EventMetrics, error) {
	var m EventMetrics
	_, err := c.do(ctx, http.MethodGet, strings.TrimRight(workerURL, "/")+"/metrics/events", nil, &m, http.StatusOK)
	return m, err
}

// Health reads GET /health of any instance.
func (c *Client) Health(ctx context.Context, instanceURL string) (Health, error) {
	var h Health
	_, err := c.do(ctx, http.MethodGet, strings.TrimRight(instanceURL, "/")+"/health", nil, &h, http.StatusOK)
	return h, err
}
