package spanstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/spanstore"
)

// goodLine is one OTLP/JSON request line holding one span of trace tb.
func goodLine(tb byte, name string) string {
	return fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"tasker-core"}}]},"scopeSpans":[{"spans":[{"traceId":"%02x02030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":%q,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000"}]}]}]}`, tb, name)
}

// spanLine is a request line with one span whose fields are given as JSON.
func spanLine(fields string) string {
	return `{"resourceSpans":[{"scopeSpans":[{"spans":[{` + fields + `}]}]}]}`
}

const (
	hexTrace = `"traceId":"0102030405060708090a0b0c0d0e0f10"`
	hexSpan  = `"spanId":"0102030405060708"`
)

// TestLoadReportsBadLines: each kind of damage is reported on its line, in
// the user's terms (the field, what OTLP/JSON wants, the likely cause), and
// never in the parser's; the good lines around it load.
func TestLoadReportsBadLines(t *testing.T) {
	cases := []struct {
		name, line string
		want       string // the whole LineError text, after "f.jsonl:"
	}{
		{"base64 trace id", spanLine(`"traceId":"AQIDBAUGBwgJCgsMDQ4PEA==",` + hexSpan + `,"name":"route_event"`),
			`2: resourceSpans[0].scopeSpans[0].spans[0] ("route_event"): traceId must be 32 hex digits (OTLP/JSON uses hex, not base64): got "AQIDBAUGBwgJCgsMDQ4PEA==", which is base64 for 0102030405060708090a0b0c0d0e0f10`},
		{"base64 span id", spanLine(hexTrace + `,"spanId":"AQIDBAUGBwg="`),
			`2: resourceSpans[0].scopeSpans[0].spans[0]: spanId must be 16 hex digits (OTLP/JSON uses hex, not base64): got "AQIDBAUGBwg=", which is base64 for 0102030405060708`},
		{"short parent id", spanLine(hexTrace + `,` + hexSpan + `,"parentSpanId":"0102"`),
			`2: resourceSpans[0].scopeSpans[0].spans[0]: parentSpanId must be 16 hex digits, got "0102" (4 characters)`},
		{"not hex", spanLine(`"traceId":"zz02030405060708090a0b0c0d0e0f10",` + hexSpan),
			`2: resourceSpans[0].scopeSpans[0].spans[0]: traceId must be 32 hex digits, got "zz02030405060708090a0b0c0d0e0f10" ('z' at position 1 is not a hex digit)`},
		{"id as a number", spanLine(`"traceId":123,` + hexSpan),
			`2: resourceSpans[0].scopeSpans[0].spans[0]: traceId must be a string of 32 hex digits, got the number 123`},
		{"jaeger casing", spanLine(`"traceID":"0102030405060708090a0b0c0d0e0f10",` + hexSpan + `,"name":"x"`),
			`2: 1 span not loaded: span "x" has an all-zero trace or span ID (resourceSpans[0].scopeSpans[0].spans[0] ("x"): has no traceId (it has "traceID": OTLP/JSON spells it "traceId"))`},
		{"name a number", spanLine(hexTrace + `,` + hexSpan + `,"name":5`),
			`2: resourceSpans[0].scopeSpans[0].spans[0]: name must be a string, got the number 5`},
		{"kind lower case", spanLine(hexTrace + `,` + hexSpan + `,"kind":"server"`),
			`2: resourceSpans[0].scopeSpans[0].spans[0]: kind must be a number 0-5 or a name such as "SPAN_KIND_SERVER", got the string "server"`},
		{"RFC 3339 time", spanLine(hexTrace + `,` + hexSpan + `,"startTimeUnixNano":"2026-03-14T09:26:53Z"`),
			`2: resourceSpans[0].scopeSpans[0].spans[0]: startTimeUnixNano must be nanoseconds since the Unix epoch (a string of digits or a number), got the string "2026-03-14T09:26:53Z" (OTLP/JSON uses nanoseconds since the Unix epoch, not RFC 3339 times)`},
		{"attributes as a map", spanLine(hexTrace + `,` + hexSpan + `,"attributes":{"a":"b"}`),
			`2: resourceSpans[0].scopeSpans[0].spans[0].attributes: must be an array of {"key": ..., "value": {"stringValue": ...}} objects, got an object (OTLP/JSON does not use a plain map)`},
		{"bare attribute value", spanLine(hexTrace + `,` + hexSpan + `,"attributes":[{"key":"a","value":"b"}]`),
			`2: resourceSpans[0].scopeSpans[0].spans[0].attributes[0] ("a").value: must be an object such as {"stringValue": "..."} or {"intValue": "3"}, got the string "b"`},
		{"int value not a number", spanLine(hexTrace + `,` + hexSpan + `,"attributes":[{"key":"a","value":{"intValue":"x"}}]`),
			`2: resourceSpans[0].scopeSpans[0].spans[0].attributes[0] ("a").value: intValue must be an integer (a string of digits or a number), got the string "x"`},
		{"resource attribute", `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":1}}]}}]}`,
			`2: resourceSpans[0].resource.attributes[0] ("service.name").value: stringValue must be a string, got the number 1`},
		{"spans an object", `{"resourceSpans":[{"scopeSpans":[{"spans":{"a":1}}]}]}`,
			`2: resourceSpans[0].scopeSpans[0].spans: must be an array, got an object`},
		{"no resourceSpans", `{"spans":[1,2]}`,
			`2: no "resourceSpans" in the object (its keys: spans); want {"resourceSpans":[...]}`},
		{"jaeger json", `{"data":[{"traceID":"x"}]}`,
			`2: no "resourceSpans" in the object (its keys: data); want {"resourceSpans":[...]} (this looks like Jaeger's JSON; export OTLP instead)`},
		{"not json", `hello`,
			`2:1: not JSON: the line starts with "hello"; an OTLP/JSON line is an object, {"resourceSpans":[...]}`},
		{"bad json", `{"resourceSpans":[}`,
			`2:19: not valid JSON: invalid character '}' looking for beginning of value`},
		{"cut short", `{"resourceSpans":[{"scopeSpans":[{"spa`,
			`2: cut short: the JSON ends inside an object or string (was the writer stopped mid-line?)`},
		{"an array", `[{"resourceSpans":[]}]`,
			`2:1: an array of 1; want an OTLP/JSON object, {"resourceSpans":[...]} (to turn an array of requests into lines: jq -c '.[]' FILE)`},
		{"text after", `{"resourceSpans":[]} trailing`,
			`2:21: text after the JSON object, from column 21; want one OTLP/JSON object per line`},
		{"zero ids", spanLine(`"traceId":"",` + hexSpan + `,"name":"z"`),
			`2: 1 span not loaded: span "z" has an all-zero trace or span ID (resourceSpans[0].scopeSpans[0].spans[0] ("z"): traceId is empty; want 32 hex digits)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := goodLine(1, "before") + "\n" + c.line + "\n" + goodLine(2, "after") + "\n"
			st := spanstore.New()
			rep, err := st.LoadOTLPJSONReport(strings.NewReader(in), "f.jsonl")
			require.NoError(t, err)
			require.Len(t, rep.Errors, 1, "%+v", rep.Errors)
			assert.Equal(t, "f.jsonl:"+c.want, rep.Errors[0].Error())
			assert.Equal(t, 1, rep.BadLines)
			assert.Equal(t, 2, rep.Spans, "the good lines around it load")
			assert.Equal(t, 2, st.Len())
			for _, internal := range []string{"error found in #", "ReadObject", "UnmarshalJSONIter", "jsoniter"} {
				assert.NotContains(t, rep.Errors[0].Msg, internal, "the parser's internals")
			}

			// LoadOTLPJSON loads the same and returns the line as a
			// *LineError.
			st2 := spanstore.New()
			n, err := st2.LoadOTLPJSON(strings.NewReader(in), "f.jsonl")
			assert.Equal(t, 2, n)
			var le *spanstore.LineError
			require.True(t, errors.As(err, &le), "%v", err)
			assert.Equal(t, 2, le.Line)
			assert.Equal(t, "f.jsonl: 1 line did not load (2 spans loaded)\nf.jsonl:"+c.want, err.Error())
		})
	}
}

// prettyJSON is a request pretty-printed over several lines, as jq or
// json.MarshalIndent print it.
const prettyJSON = `{
  "resourceSpans": [
    {
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "tasker-core"}}]},
      "scopeSpans": [
        {
          "spans": [
            {"traceId": "0302030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708", "name": "pretty"}
          ]
        }
      ]
    }
  ]
}`

// TestLoadShapes: a pretty-printed object is accepted; objects that never
// close, a cut-short last line, a line appended after a cut-short one, two
// objects on one line, metrics and logs lines, and blank lines are each
// handled as their doc says.
func TestLoadShapes(t *testing.T) {
	load := func(t *testing.T, in string) (spanstore.LoadReport, *spanstore.Store) {
		t.Helper()
		st := spanstore.New()
		rep, err := st.LoadOTLPJSONReport(strings.NewReader(in), "f.jsonl")
		require.NoError(t, err)
		return rep, st
	}
	errs := func(rep spanstore.LoadReport) []string {
		var out []string
		for _, e := range rep.Errors {
			out = append(out, e.Error())
		}
		return out
	}

	t.Run("pretty-printed", func(t *testing.T) {
		rep, st := load(t, goodLine(1, "a")+"\n\n"+prettyJSON+"\n"+goodLine(2, "b")+"\n")
		assert.Empty(t, rep.Errors)
		assert.Equal(t, 3, rep.Spans)
		assert.Equal(t, 3, rep.Objects)
		assert.Equal(t, 1, rep.Multiline)
		assert.Len(t, st.Spans(spanstore.Filter{Name: "pretty"}), 1)
	})
	t.Run("pretty-printed and cut short", func(t *testing.T) {
		cut := prettyJSON[:strings.Index(prettyJSON, `"scopeSpans"`)]
		rep, _ := load(t, goodLine(1, "a")+"\n"+cut)
		assert.Equal(t, []string{"f.jsonl:2-6: cut short: the object opened on line 2 is still open at the end of the file"}, errs(rep))
		assert.Equal(t, 1, rep.Spans)
	})
	t.Run("an object that never closes before the next line", func(t *testing.T) {
		rep, _ := load(t, "{\n  \"resourceSpans\": [\n"+goodLine(1, "a")+"\n")
		assert.Equal(t, []string{"f.jsonl:1-2: the object opened on line 1 never closes"}, errs(rep))
		assert.Equal(t, 1, rep.Spans, "the one-line object after it loads")
	})
	t.Run("last line cut short", func(t *testing.T) {
		g := goodLine(2, "b")
		rep, _ := load(t, goodLine(1, "a")+"\n"+g[:len(g)/2])
		assert.Equal(t, []string{"f.jsonl:2: cut short: the last line has no newline and ends inside the JSON (was its writer stopped mid-line?)"}, errs(rep))
		assert.Equal(t, 1, rep.Spans)
	})
	t.Run("appended after a cut-short line", func(t *testing.T) {
		g := goodLine(2, "b")
		half := g[:len(g)/2]
		rep, st := load(t, goodLine(1, "a")+"\n"+half+goodLine(3, "c")+"\n")
		assert.Equal(t, []string{fmt.Sprintf("f.jsonl:2:1: the first %d bytes are an object cut short (was its writer stopped mid-line?); the object from column %d loaded", len(half), len(half)+1)}, errs(rep))
		assert.Equal(t, 2, rep.Spans)
		assert.Len(t, st.Spans(spanstore.Filter{Name: "c"}), 1)
	})
	t.Run("two objects on one line", func(t *testing.T) {
		rep, _ := load(t, goodLine(1, "a")+goodLine(2, "b")+"\n")
		assert.Empty(t, rep.Errors)
		assert.Equal(t, 2, rep.Spans, "the second is not lost")
	})
	t.Run("other signals and blank lines", func(t *testing.T) {
		rep, _ := load(t, "\n"+`{"resourceMetrics":[]}`+"\n  \n"+`{"resourceLogs":[]}`+"\n"+goodLine(1, "a")+"\r\n")
		assert.Empty(t, rep.Errors)
		assert.Equal(t, 2, rep.OtherSignals)
		assert.Equal(t, 1, rep.Spans)
	})
	t.Run("many bad lines", func(t *testing.T) {
		var b strings.Builder
		for range 150 {
			b.WriteString("nope\n")
		}
		b.WriteString(goodLine(1, "a") + "\n")
		rep, _ := load(t, b.String())
		assert.Equal(t, 150, rep.BadLines)
		assert.Len(t, rep.Errors, 100, "the first 100 are kept")
		assert.Equal(t, 1, rep.Spans)
		assert.Contains(t, rep.Err().Error(), "f.jsonl: and 50 more")
	})
	t.Run("a line over the limit", func(t *testing.T) {
		// One line of MaxDumpLineBytes+1 bytes is read through and skipped.
		big := bytes.Repeat([]byte{' '}, spanstore.MaxDumpLineBytes+1)
		in := io2(goodLine(1, "a")+"\n", big, "\n"+goodLine(2, "b")+"\n")
		st := spanstore.New()
		rep, err := st.LoadOTLPJSONReport(in, "f.jsonl")
		require.NoError(t, err)
		assert.Equal(t, []string{"f.jsonl:2: over 256 MiB; skipped"}, errs(rep))
		assert.Equal(t, 2, rep.Spans)
	})
}

func io2(a string, b []byte, c string) *bytes.Reader {
	return bytes.NewReader(append(append([]byte(a), b...), c...))
}

// FuzzLoadOTLPJSON: whatever a dump file holds, loading it does not panic;
// every span it stores is one a line held (bounded: at most one per 70
// bytes of input, the size of the smallest span with both IDs); every bad
// line is reported with a line number inside the file and a message free of
// the parser's internals; a line the reference decoder (pdata) reads whole
// loads without error. The seed corpus is in testdata/fuzz/FuzzLoadOTLPJSON.
func FuzzLoadOTLPJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		st := spanstore.New()
		rep, err := st.LoadOTLPJSONReport(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil {
			t.Fatalf("read error from a bytes.Reader: %v", err)
		}
		if rep.Spans != st.Len() {
			t.Fatalf("report says %d spans, store holds %d", rep.Spans, st.Len())
		}
		if rep.Spans*70 > len(data) {
			t.Fatalf("%d spans from %d bytes", rep.Spans, len(data))
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		if rep.BadLines < len(rep.Errors) || (rep.BadLines <= 100 && rep.BadLines != len(rep.Errors)) {
			t.Fatalf("BadLines %d, %d errors", rep.BadLines, len(rep.Errors))
		}
		for _, e := range rep.Errors {
			if e.Line < 1 || e.Line > lines || e.EndLine < e.Line || e.EndLine > lines || e.Msg == "" {
				t.Fatalf("error %+v in a file of %d lines", e, lines)
			}
			if !strings.HasPrefix(e.Error(), fmt.Sprintf("fuzz.jsonl:%d", e.Line)) {
				t.Fatalf("error %q does not start with its line", e.Error())
			}
			if strings.Contains(e.Msg, "error found in #") {
				t.Fatalf("the parser's internals: %q", e.Msg)
			}
		}
		if (rep.Err() == nil) != (rep.BadLines == 0) {
			t.Fatalf("Err() = %v with %d bad lines", rep.Err(), rep.BadLines)
		}
		// A single line the reference decoder reads, with valid IDs and
		// nothing after it, loads whole.
		if bytes.IndexByte(data, '\n') < 0 && bytes.HasPrefix(data, []byte(`{"resourceSpans"`)) && json1(data) {
			td, derr := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data)
			if derr == nil && allIDsSet(td) && td.SpanCount() > 0 {
				if rep.BadLines != 0 || rep.Spans != td.SpanCount() {
					t.Fatalf("pdata decodes %d spans; the loader stored %d with errors %v", td.SpanCount(), rep.Spans, rep.Errors)
				}
			}
		}
	})
}

// json1 reports data being exactly one JSON value.
func json1(data []byte) bool {
	var v any
	dec := jsonDecoder(data)
	if dec.Decode(&v) != nil {
		return false
	}
	return len(bytes.TrimSpace(data[dec.InputOffset():])) == 0
}

func allIDsSet(td ptrace.Traces) bool {
	for i := range td.ResourceSpans().Len() {
		rs := td.ResourceSpans().At(i)
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j).Spans()
			for k := range ss.Len() {
				if ss.At(k).TraceID().IsEmpty() || ss.At(k).SpanID().IsEmpty() {
					return false
				}
			}
		}
	}
	return true
}

func jsonDecoder(data []byte) *json.Decoder { return json.NewDecoder(bytes.NewReader(data)) }
