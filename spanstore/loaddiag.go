package spanstore

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The decoding of dumps is pdata's (ptrace.JSONUnmarshaler). Its errors are
// its parser's ("ID.UnmarshalJSONIter: length mismatch, error found in #10
// byte of ..."), which tell a user neither which field was wrong nor why.
// When pdata refuses an object, diagnose reads it again with encoding/json
// and walks it along the OTLP/JSON schema to say, in the user's terms, what
// is wrong and where: "resourceSpans[0].scopeSpans[0].spans[2]: traceId must
// be 32 hex digits (OTLP/JSON uses hex, not base64)". It only explains; it
// never decides what loads.

// diagnosis is what diagnose found: a message and, when known, the byte
// offset in the object where the problem is.
type diagnosis struct {
	msg    string
	offset int // -1 when unknown
}

// diagnose explains why pdata refused obj (pdataErr).
func diagnose(obj []byte, pdataErr error) diagnosis {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return syntaxDiagnosis(obj, err)
	}
	if off := int(dec.InputOffset()); len(bytes.TrimSpace(obj[off:])) > 0 {
		return diagnosis{fmt.Sprintf("text after the JSON object, from column %d; want one OTLP/JSON object per line", off+1), off}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return diagnosis{fmt.Sprintf("%s; want an OTLP/JSON object, {\"resourceSpans\":[...]}", describe(v)) + arrayHint(v), 0}
	}
	w := walker{}
	w.request(top)
	if w.msg != "" {
		return diagnosis{w.msg, -1}
	}
	return diagnosis{"not OTLP/JSON traces: " + pdataMessage(pdataErr), -1}
}

func arrayHint(v any) string {
	if _, ok := v.([]any); ok {
		return " (to turn an array of requests into lines: jq -c '.[]' FILE)"
	}
	return ""
}

// syntaxDiagnosis explains a JSON syntax error.
func syntaxDiagnosis(obj []byte, err error) diagnosis {
	var se *json.SyntaxError
	trimmed := bytes.TrimSpace(obj)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return diagnosis{"cut short: the JSON ends inside an object or string (was the writer stopped mid-line?)", -1}
	case errors.As(err, &se):
		msg := strings.TrimPrefix(se.Error(), "json: ")
		if len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' {
			start := bytes.IndexByte(obj, trimmed[0])
			return diagnosis{fmt.Sprintf("not JSON: the line starts with %q; an OTLP/JSON line is an object, {\"resourceSpans\":[...]}", shorten(string(trimmed), 20)), start}
		}
		return diagnosis{fmt.Sprintf("not valid JSON: %s", msg), int(se.Offset) - 1}
	}
	return diagnosis{"not valid JSON: " + err.Error(), -1}
}

// pdataMessage strips a pdata (jsoniter) error of its parser position dump.
func pdataMessage(err error) string {
	if err == nil {
		return "refused by the decoder"
	}
	msg := err.Error()
	if i := strings.Index(msg, ", error found in #"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// walker checks a decoded OTLP/JSON traces request; msg is its first
// finding.
type walker struct{ msg string }

func (w *walker) fail(path, format string, args ...any) {
	if w.msg == "" {
		w.msg = fmt.Sprintf(format, args...)
		if path != "" {
			w.msg = path + ": " + w.msg
		}
	}
}

// field returns obj's value for the camelCase name or its snake_case
// spelling, which OTLP/JSON receivers accept too.
func field(obj map[string]any, camel string) (any, bool) {
	if v, ok := obj[camel]; ok {
		return v, true
	}
	v, ok := obj[snake(camel)]
	return v, ok
}

func snake(camel string) string {
	var b strings.Builder
	for _, r := range camel {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (w *walker) request(top map[string]any) {
	v, ok := field(top, "resourceSpans")
	if !ok {
		keys := slices.Sorted(maps.Keys(top))
		if len(keys) == 0 {
			return
		}
		w.fail("", "no \"resourceSpans\" in the object (its keys: %s); want {\"resourceSpans\":[...]}%s", strings.Join(keys, ", "), foreignHint(top))
		return
	}
	for i, rs := range w.array("resourceSpans", v) {
		p := fmt.Sprintf("resourceSpans[%d]", i)
		o := w.object(p, rs)
		if o == nil {
			return
		}
		if r, ok := field(o, "resource"); ok {
			if ro := w.object(p+".resource", r); ro != nil {
				w.attributes(p+".resource", ro)
			}
		}
		ss, ok := field(o, "scopeSpans")
		if !ok {
			continue
		}
		for j, s := range w.array(p+".scopeSpans", ss) {
			sp := fmt.Sprintf("%s.scopeSpans[%d]", p, j)
			so := w.object(sp, s)
			if so == nil {
				return
			}
			if sc, ok := field(so, "scope"); ok {
				if sco := w.object(sp+".scope", sc); sco != nil {
					w.str(sp+".scope", sco, "name")
					w.str(sp+".scope", sco, "version")
					w.attributes(sp+".scope", sco)
				}
			}
			spans, ok := field(so, "spans")
			if !ok {
				continue
			}
			for k, x := range w.array(sp+".spans", spans) {
				w.span(fmt.Sprintf("%s.spans[%d]", sp, k), x)
			}
		}
	}
}

// foreignHint recognises other tools' JSON.
func foreignHint(top map[string]any) string {
	if _, ok := top["data"]; ok {
		return " (this looks like Jaeger's JSON; export OTLP instead)"
	}
	if _, ok := top["batches"]; ok {
		return " (\"batches\" is Tempo's form; OTLP calls it \"resourceSpans\")"
	}
	return ""
}

func (w *walker) span(p string, v any) {
	o := w.object(p, v)
	if o == nil {
		return
	}
	if name, ok := o["name"].(string); ok {
		p += fmt.Sprintf(" (%q)", shorten(name, 40))
	}
	w.id(p, o, "traceId", 16, true)
	w.id(p, o, "spanId", 8, true)
	w.id(p, o, "parentSpanId", 8, false)
	w.str(p, o, "name")
	w.str(p, o, "traceState")
	w.enum(p, o, "kind", "SPAN_KIND_", 5, `"SPAN_KIND_SERVER"`)
	w.nanos(p, o, "startTimeUnixNano")
	w.nanos(p, o, "endTimeUnixNano")
	w.uint(p, o, "flags")
	w.uint(p, o, "droppedAttributesCount")
	w.attributes(p, o)
	if ev, ok := field(o, "events"); ok {
		for i, e := range w.array(p+".events", ev) {
			ep := fmt.Sprintf("%s.events[%d]", p, i)
			if eo := w.object(ep, e); eo != nil {
				w.str(ep, eo, "name")
				w.nanos(ep, eo, "timeUnixNano")
				w.attributes(ep, eo)
			}
		}
	}
	if ls, ok := field(o, "links"); ok {
		for i, l := range w.array(p+".links", ls) {
			lp := fmt.Sprintf("%s.links[%d]", p, i)
			if lo := w.object(lp, l); lo != nil {
				w.id(lp, lo, "traceId", 16, false)
				w.id(lp, lo, "spanId", 8, false)
				w.str(lp, lo, "traceState")
				w.attributes(lp, lo)
			}
		}
	}
	if st, ok := field(o, "status"); ok {
		if so := w.object(p+".status", st); so != nil {
			w.str(p+".status", so, "message")
			w.enum(p+".status", so, "code", "STATUS_CODE_", 2, `"STATUS_CODE_ERROR"`)
		}
	}
}

func (w *walker) object(p string, v any) map[string]any {
	o, ok := v.(map[string]any)
	if !ok && v != nil {
		w.fail(p, "must be an object, got %s", describe(v))
	}
	return o
}

func (w *walker) array(p string, v any) []any {
	a, ok := v.([]any)
	if !ok && v != nil {
		w.fail(p, "must be an array, got %s", describe(v))
	}
	return a
}

func (w *walker) str(p string, o map[string]any, name string) {
	if v, ok := field(o, name); ok && v != nil {
		if _, ok := v.(string); !ok {
			w.fail(p, "%s must be a string, got %s", name, describe(v))
		}
	}
}

// id checks a hex ID of n bytes.
func (w *walker) id(p string, o map[string]any, name string, n int, required bool) {
	v, ok := field(o, name)
	if !ok || v == nil {
		if required {
			w.fail(p, "has no %s%s", name, similarKey(o, name))
		}
		return
	}
	s, ok := v.(string)
	if !ok {
		w.fail(p, "%s must be a string of %d hex digits, got %s", name, 2*n, describe(v))
		return
	}
	if s == "" {
		if required {
			w.fail(p, "%s is empty; want %d hex digits", name, 2*n)
		}
		return
	}
	want := fmt.Sprintf("%s must be %d hex digits", name, 2*n)
	if raw, err := base64.StdEncoding.DecodeString(s); err == nil && len(raw) == n && len(s) != 2*n {
		w.fail(p, "%s (OTLP/JSON uses hex, not base64): got %q, which is base64 for %s", want, s, hex.EncodeToString(raw))
		return
	}
	if len(s) != 2*n {
		w.fail(p, "%s, got %q (%d characters)", want, s, len(s))
		return
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			w.fail(p, "%s, got %q (%q at position %d is not a hex digit)", want, s, s[i], i+1)
			return
		}
	}
}

// similarKey names a key of o that differs from name only in case, such as
// "traceID" for "traceId".
func similarKey(o map[string]any, name string) string {
	for k := range o {
		if strings.EqualFold(k, name) || strings.EqualFold(k, snake(name)) {
			return fmt.Sprintf(" (it has %q: OTLP/JSON spells it %q)", k, name)
		}
	}
	return ""
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// enum checks an enum: a number up to max, or a name with prefix.
func (w *walker) enum(p string, o map[string]any, name, prefix string, max int, example string) {
	v, ok := field(o, name)
	if !ok || v == nil {
		return
	}
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.Atoi(x.String()); err == nil && n >= 0 && n <= max {
			return
		}
	case string:
		if strings.HasPrefix(x, prefix) {
			return
		}
	}
	w.fail(p, "%s must be a number 0-%d or a name such as %s, got %s", name, max, example, describe(v))
}

// nanos checks a Unix time in nanoseconds: a string of digits or a number.
func (w *walker) nanos(p string, o map[string]any, name string) {
	v, ok := field(o, name)
	if !ok || v == nil {
		return
	}
	s := fmt.Sprint(v)
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return
	}
	hint := ""
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		hint = " (OTLP/JSON uses nanoseconds since the Unix epoch, not RFC 3339 times)"
	}
	w.fail(p, "%s must be nanoseconds since the Unix epoch (a string of digits or a number), got %s%s", name, describe(v), hint)
}

func (w *walker) uint(p string, o map[string]any, name string) {
	v, ok := field(o, name)
	if !ok || v == nil {
		return
	}
	if n, isNum := v.(json.Number); isNum {
		if _, err := strconv.ParseUint(n.String(), 10, 32); err == nil {
			return
		}
	}
	w.fail(p, "%s must be a non-negative integer, got %s", name, describe(v))
}

// attributes checks o's "attributes": a list of {"key", "value"}.
func (w *walker) attributes(p string, o map[string]any) {
	v, ok := field(o, "attributes")
	if !ok || v == nil {
		return
	}
	w.keyValues(p+".attributes", v)
}

func (w *walker) keyValues(p string, v any) {
	if _, isObj := v.(map[string]any); isObj {
		w.fail(p, "must be an array of {\"key\": ..., \"value\": {\"stringValue\": ...}} objects, got an object (OTLP/JSON does not use a plain map)")
		return
	}
	for i, kv := range w.array(p, v) {
		kp := fmt.Sprintf("%s[%d]", p, i)
		ko := w.object(kp, kv)
		if ko == nil {
			return
		}
		if k, ok := ko["key"].(string); !ok {
			w.fail(kp, "must have a string \"key\", got %s", describeField(ko, "key"))
			return
		} else {
			kp += fmt.Sprintf(" (%q)", k)
		}
		if val, ok := ko["value"]; ok {
			w.anyValue(kp+".value", val)
		}
	}
}

// anyValue checks an OTLP AnyValue.
func (w *walker) anyValue(p string, v any) {
	if v == nil {
		return
	}
	o, ok := v.(map[string]any)
	if !ok {
		w.fail(p, "must be an object such as {\"stringValue\": \"...\"} or {\"intValue\": \"3\"}, got %s", describe(v))
		return
	}
	for k, x := range o {
		switch k {
		case "stringValue", "string_value":
			if _, ok := x.(string); !ok {
				w.fail(p, "stringValue must be a string, got %s", describe(x))
			}
		case "boolValue", "bool_value":
			if _, ok := x.(bool); !ok {
				w.fail(p, "boolValue must be true or false, got %s", describe(x))
			}
		case "intValue", "int_value":
			if _, err := strconv.ParseInt(fmt.Sprint(x), 10, 64); err != nil || isBoolOrNil(x) {
				w.fail(p, "intValue must be an integer (a string of digits or a number), got %s", describe(x))
			}
		case "doubleValue", "double_value":
			if _, err := strconv.ParseFloat(fmt.Sprint(x), 64); err != nil || isBoolOrNil(x) {
				w.fail(p, "doubleValue must be a number, got %s", describe(x))
			}
		case "bytesValue", "bytes_value":
			s, ok := x.(string)
			if _, err := base64.StdEncoding.DecodeString(s); !ok || err != nil {
				w.fail(p, "bytesValue must be base64, got %s", describe(x))
			}
		case "arrayValue", "array_value":
			if ao := w.object(p+".arrayValue", x); ao != nil {
				if vs, ok := ao["values"]; ok {
					for i, e := range w.array(p+".arrayValue.values", vs) {
						w.anyValue(fmt.Sprintf("%s.arrayValue.values[%d]", p, i), e)
					}
				}
			}
		case "kvlistValue", "kvlist_value":
			if ko := w.object(p+".kvlistValue", x); ko != nil {
				if vs, ok := ko["values"]; ok {
					w.keyValues(p+".kvlistValue.values", vs)
				}
			}
		}
	}
}

func isBoolOrNil(v any) bool {
	switch v.(type) {
	case bool, nil:
		return true
	}
	return false
}

func describeField(o map[string]any, k string) string {
	v, ok := o[k]
	if !ok {
		return "none"
	}
	return describe(v)
}

// describe names a JSON value's type and shows it, shortened.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case json.Number:
		return "the number " + x.String()
	case string:
		return "the string " + strconv.Quote(shorten(x, 60))
	case []any:
		return fmt.Sprintf("an array of %d", len(x))
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// DiagnoseTracesJSON explains, in the user's terms, why an OTLP/JSON traces
// request did not decode (decodeErr is pdata's error): the field and its
// path ("resourceSpans[0].scopeSpans[0].spans[2] (\"route_event\"): traceId
// must be 32 hex digits (OTLP/JSON uses hex, not base64): ..."), or the JSON
// syntax error and its column. Receivers use it for the 400 they answer, the
// loader for the lines it reports.
func DiagnoseTracesJSON(data []byte, decodeErr error) string {
	d := diagnose(data, decodeErr)
	if d.offset >= 0 && !strings.Contains(d.msg, "column") {
		return fmt.Sprintf("%s (at byte %d)", d.msg, d.offset+1)
	}
	return d.msg
}
