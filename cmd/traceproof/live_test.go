package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// TestLiveViewWiring mounts the live view as serve does and checks that it
// answers at the root, that its stats are the sink's (refusals included),
// and that the sink's own paths and tokens stay as they were.
func TestLiveViewWiring(t *testing.T) {
	st := spanstore.New()
	live := newLiveView(st, "s3cret")
	opts := append([]otlpsink.Option{otlpsink.WithStore(st), otlpsink.WithToken("s3cret")}, live.options()...)
	sink := otlpsink.Start(t, opts...)
	live.setSink(sink)

	get := func(path string) (int, string) {
		resp, err := http.Get(sink.HTTPURL() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/?token=s3cret")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "<title>traceproof live</title>")
	code, _ = get("/")
	assert.Equal(t, 401, code, "the live view wants the sink's token")

	// A request the sink refuses shows in the view's stats.
	resp, err := http.Post(sink.HTTPURL()+"/v1/traces", "application/x-protobuf", bytes.NewReader(nil))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
	code, body = get("/ui/api/stats?token=s3cret")
	require.Equal(t, 200, code, body)
	var stats struct {
		Refused map[string]uint64 `json:"refused"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &stats))
	assert.Equal(t, map[string]uint64{"unauthenticated": 1}, stats.Refused)

	code, body = get("/ui/api/correlations?token=s3cret")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"total":0,"offset":0,"rows":[],"seq":0}`, body)

	// An open page does not hold up the sink's shutdown: close ends its
	// stream, and Close returns without waiting out its 5s grace.
	resp, err = http.Get(sink.HTTPURL() + "/ui/api/stream?token=s3cret")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	live.close()
	_, err = io.ReadAll(resp.Body) // the stream ends
	require.NoError(t, err)
	require.NoError(t, sink.Close())
}

// TestLiveViewStatsBeforeTheSink: requests that come before setSink see the
// store's stats rather than fail.
func TestLiveViewStatsBeforeTheSink(t *testing.T) {
	st := spanstore.New()
	live := newLiveView(st, "")
	assert.Equal(t, st.Stats().Stored, live.stats().Stored)
}
