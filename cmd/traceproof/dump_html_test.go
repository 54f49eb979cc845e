package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traceproof/traceproof/spanstore"
)

// TestDumpHTML: --format html writes the waterfall page, with the selected
// spans embedded as the API's span JSON.
func TestDumpHTML(t *testing.T) {
	file := writeDump(t, paymentProcessed.spans(), orderValidated.spans(), otherTask.spans())
	code, out, errOut := runCLI(t, "", "dump", file, "--format", "html", "--correlation", "corr-7f3a")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "<!doctype html>"), out[:min(len(out), 80)])
	assert.Contains(t, out, "default-src 'none'", "a page that fetches nothing")

	m := regexp.MustCompile(`(?s)<script type="application/json" id="tp-data">(.*?)</script>`).FindStringSubmatch(out)
	require.Len(t, m, 2)
	var data struct {
		Title       string            `json:"title"`
		Correlation string            `json:"correlation"`
		Spans       []json.RawMessage `json:"spans"`
	}
	require.NoError(t, json.Unmarshal([]byte(m[1]), &data))
	assert.Equal(t, "corr-7f3a", data.Correlation)
	assert.Contains(t, data.Title, ".jsonl")
	require.Len(t, data.Spans, 5, "the correlation's spans, no other task's")
	names := map[string]int{}
	for _, raw := range data.Spans {
		s, corrs, err := spanstore.DecodeSpanJSON(raw)
		require.NoError(t, err)
		names[s.Name]++
		assert.Contains(t, corrs, "corr-7f3a")
		assert.NotEmpty(t, s.Instance())
	}
	assert.Equal(t, map[string]int{"route_event": 2, "publish_event": 1, "send_json_message": 1, "publish": 1}, names)

	code, _, errOut = runCLI(t, "", "dump", file, "--format", "yaml")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `--format "yaml": want tree, json or html`)
}
