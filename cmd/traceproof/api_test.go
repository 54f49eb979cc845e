package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve's HTTP port has the API, with the sink's token and the sink's
// stats, and stopping serve ends a long-poll at once rather than wait out
// its timeout.
func TestServeAPI(t *testing.T) {
	p := startServe(t, "--token", "tok", "--print", "none")
	get := func(path, token string) (int, []byte) {
		req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, "http://"+p.httpAddr+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	code, body := get("/api/v1/stats", "")
	assert.Equal(t, http.StatusUnauthorized, code, "%s", body)
	code, body = get("/api/v1/stats", "tok")
	require.Equal(t, http.StatusOK, code, "%s", body)
	var st struct {
		Endpoints []string `json:"endpoints"`
	}
	require.NoError(t, json.Unmarshal(body, &st))
	assert.Equal(t, []string{"grpc " + p.grpcAddr, "http http://" + p.httpAddr}, st.Endpoints, "the sink's stats, not the bare store's")

	// A long-poll in flight: /changes says once it watches.
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, "http://"+p.httpAddr+"/api/v1/changes",
		strings.NewReader(`{"name": "never-sent", "timeout": "5m"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "{\"watching\":true}\n", line)

	exit, _ := p.stop()
	require.Equal(t, 0, exit, p.stderr.String())
	// The API ended the poll itself, with an answer; had it been left to
	// the sink's Close, that would have cut the connection after 5s
	// (an EOF here, not a line).
	line, err = br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "{\"changed\":true}\n", line, "a watch ended by shutdown tells its client to look (and learn the server is gone)")
}
