package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var traceIDField = regexp.MustCompile(`"traceId":"([0-9a-f]{32})"`)

// TestDumpDamagedFile: a dump with a base64 line, a pretty-printed request
// and a last line cut short (its writer killed) renders every good line's
// traces, reports each bad line by number in the user's terms, and exits 0;
// --strict renders the same and exits 1.
func TestDumpDamagedFile(t *testing.T) {
	src := writeDump(t, paymentProcessed.spans(), orderValidated.spans(), otherTask.spans())
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 3)

	// Line 2: the same request with its IDs in base64, as protobuf's
	// generic JSON (not OTLP/JSON) writes them.
	b64 := traceIDField.ReplaceAllStringFunc(lines[2], func(m string) string {
		raw, _ := hex.DecodeString(traceIDField.FindStringSubmatch(m)[1])
		return `"traceId":"` + base64.StdEncoding.EncodeToString(raw) + `"`
	})
	// Lines 3-...: orderValidated's request pretty-printed.
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, []byte(lines[1]), "", "  "))
	damaged := lines[0] + "\n" + b64 + "\n" + pretty.String() + "\n" + lines[2][:len(lines[2])/2]
	file := filepath.Join(t.TempDir(), "damaged.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(damaged), 0o644))
	last := strings.Count(damaged, "\n") + 1

	code, out, errOut := runBinary(t, "dump", file)
	t.Logf("dump of a damaged file:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, paymentProcessed.traceID().String(), "line 1")
	assert.Contains(t, out, orderValidated.traceID().String(), "the pretty-printed request")
	assert.NotContains(t, out, otherTask.traceID().String(), "its lines are the damaged ones")
	errLines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	require.Len(t, errLines, 3, errOut)
	assert.Regexp(t, `^traceproof dump: `+regexp.QuoteMeta(file)+`:2: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\] \("[a-z_]+"\): traceId must be 32 hex digits \(OTLP/JSON uses hex, not base64\): got "[A-Za-z0-9+/=]{24}", which is base64 for `+otherTask.traceID().String()+`$`, errLines[0])
	assert.Equal(t, "traceproof dump: "+file+":"+itoa(last)+": cut short: the last line has no newline and ends inside the JSON (was its writer stopped mid-line?)", errLines[1])
	assert.Equal(t, "traceproof dump: "+file+`: 2 lines did not load; the 5 spans of its other lines are shown (OTLP/JSON files hold one {"resourceSpans":[...]} object per line)`, errLines[2])

	code, strictOut, strictErr := runBinary(t, "dump", "--strict", file)
	assert.Equal(t, exitError, code, "--strict")
	assert.Equal(t, out, strictOut)
	assert.Equal(t, errOut, strictErr)
}

// TestDumpTreeOptions: a span loaded from a file without
// service.instance.id shows its service, never the file's name; --kind,
// --service and --times add kind, service and start time.
func TestDumpTreeOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "no-instance.jsonl")
	line := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}}]},"scopeSpans":[{"spans":[` +
		`{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"charge","kind":3,"startTimeUnixNano":"1773480413589000000","endTimeUnixNano":"1773480413591500000"}]}]}]}`
	require.NoError(t, os.WriteFile(file, []byte(line+"\n"), 0o644))
	code, out, errOut := runBinary(t, "dump", file)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "trace 0102030405060708090a0b0c0d0e0f10 (1 span; billing)\n└─ charge [billing] 2.5ms\n", out)

	code, out, errOut = runBinary(t, "dump", "--kind", "--service", "--times", file)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "trace 0102030405060708090a0b0c0d0e0f10 (1 span; billing) 2026-03-14\n└─ charge client [billing] 09:26:53.589000 2.5ms\n", out)

	other := writeDump(t, paymentProcessed.spans())
	code, out, errOut = runBinary(t, "dump", "--kind", "--service", "--times", other)
	require.Equal(t, exitOK, code, errOut)
	t.Logf("dump --kind --service --times:\n%s", out)
	assert.Contains(t, out, "route_event internal [worker-rust-1 tasker-core] 09:26:53.589000 2.4ms")
}

func itoa(n int) string { return strconv.Itoa(n) }
