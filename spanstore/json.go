package spanstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file is the JSON form of a span that traceproof's own HTTP API and
// its pages use (DESIGN.md, "A span in answers"). It is not OTLP/JSON: IDs
// are lowercase hex, names are snake_case, attributes are plain JSON objects
// ({"event_name": "payment.processed", "retries": 2}) and times are RFC 3339
// with nanoseconds, so that a shell script, a browser or another language
// reads a span without knowing OTLP.
//
//	{"trace_id": "…32 hex…", "span_id": "…16 hex…", "parent_span_id": "" for a root,
//	 "name": "publish_event", "kind": "internal|server|client|producer|consumer|unspecified",
//	 "start": "2025-01-02T03:04:05.123456789Z", "end": "…",
//	 "status": {"code": "unset|ok|error", "message": "…"},
//	 "attributes": {key: value}, "events": [{"name", "time", "attributes"}],
//	 "links": [{"trace_id", "span_id", "trace_state", "attributes"}],
//	 "resource": {"attributes": {…}, "schema_url": "…"}, "scope": {"name", "version", "attributes"},
//	 "service", "instance", "sender", "received", "correlations": […],
//	 "trace_state", "flags", "seq", "transport", "encoding", "compressed"}
//
// Fields with zero values are left out, except trace_id, span_id,
// parent_span_id, name, kind and status, which are always written. Times are
// written in UTC; a zero time is left out. "service" and "instance" are
// derived ([Span.Service], [Span.Instance]) and ignored when decoding.
//
// Attribute values keep their type where JSON has one: a string is a JSON
// string, a bool a bool, an int a JSON integer, a double a JSON number that
// always has a '.' or an exponent (42.0, 1e+21), so that it decodes back as a
// double; a slice is an array, a map an object, an empty value null. Two
// kinds do not survive a round trip: bytes are written as their base64 string
// and decode as that string, and the doubles NaN, +Inf and -Inf, which JSON
// cannot hold, are written as the strings "NaN", "+Inf" and "-Inf" and decode
// as strings. Decoding makes integers of JSON numbers written without '.' or
// exponent that fit in an int64, and doubles of all other numbers. Attribute
// order is kept both ways. Strings that are not valid UTF-8 have their bad
// bytes replaced by U+FFFD, as encoding/json does.

// MarshalJSON writes the span in traceproof's API form (see the package's
// json.go), without correlations: [AppendJSON] adds those.
func (s Span) MarshalJSON() ([]byte, error) {
	return json.Marshal(toSpanJSON(s, nil))
}

// AppendJSON appends the span's JSON form to dst, with correlations (the
// correlation values of the span's trace, [Store.TraceCorrelations]) as its
// "correlations" field. The output is HTML-safe ('<', '>' and '&' are
// escaped), so it may be embedded in a page's script element as it is.
func AppendJSON(dst []byte, s Span, correlations []string) []byte {
	b, err := json.Marshal(toSpanJSON(s, correlations))
	if err != nil {
		// Every field is a string, number or a type of this file whose
		// MarshalJSON cannot fail.
		panic("spanstore: marshaling a span: " + err.Error())
	}
	return append(dst, b...)
}

// UnmarshalJSON reads a span in traceproof's API form. It requires trace_id
// and span_id, and its errors name the field that does not decode.
// Correlations, service and instance, which are not stored in a Span, are
// ignored; use [DecodeSpanJSON] to read the correlations too.
func (s *Span) UnmarshalJSON(b []byte) error {
	sp, _, err := DecodeSpanJSON(b)
	if err != nil {
		return err
	}
	*s = sp
	return nil
}

// DecodeSpanJSON reads a span in traceproof's API form and the correlation
// values it carries (its "correlations" field).
func DecodeSpanJSON(b []byte) (Span, []string, error) {
	var j spanJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Span{}, nil, fmt.Errorf("span JSON: %w", fieldError(b, err))
	}
	s, err := j.span()
	if err != nil {
		return Span{}, nil, fmt.Errorf("span JSON: %w", err)
	}
	return s, j.Correlations, nil
}

// MarshalJSON writes the value as the typed JSON value described in the
// package's json.go: strings, bools and numbers as themselves (a double always
// with '.' or exponent), bytes as base64, slices as arrays, maps as objects,
// empty as null.
func (v Value) MarshalJSON() ([]byte, error) { return appendValueJSON(nil, v), nil }

// UnmarshalJSON reads a typed JSON value: integers become KindInt, other
// numbers KindDouble, arrays slices, objects maps (in their order), null
// empty.
func (v *Value) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	x, err := decodeValue(dec)
	if err != nil {
		return err
	}
	if dec.More() {
		return errors.New("value JSON: data after the value")
	}
	*v = x
	return nil
}

type spanJSON struct {
	TraceID      string        `json:"trace_id"`
	SpanID       string        `json:"span_id"`
	ParentSpanID string        `json:"parent_span_id"`
	TraceState   string        `json:"trace_state,omitempty"`
	Flags        uint32        `json:"flags,omitempty"`
	Name         string        `json:"name"`
	Kind         jsonKind      `json:"kind"`
	Start        jsonTime      `json:"start,omitzero"`
	End          jsonTime      `json:"end,omitzero"`
	Status       statusJSON    `json:"status"`
	Attributes   jsonAttrs     `json:"attributes,omitempty"`
	Events       []eventJSON   `json:"events,omitempty"`
	Links        []linkJSON    `json:"links,omitempty"`
	Resource     *resourceJSON `json:"resource,omitempty"`
	Scope        *scopeJSON    `json:"scope,omitempty"`
	Service      string        `json:"service,omitempty"`
	Instance     string        `json:"instance,omitempty"`
	Sender       string        `json:"sender,omitempty"`
	Received     jsonTime      `json:"received,omitzero"`
	Correlations []string      `json:"correlations,omitempty"`
	Seq          uint64        `json:"seq,omitempty"`
	Transport    Transport     `json:"transport,omitempty"`
	Encoding     Encoding      `json:"encoding,omitempty"`
	Compressed   bool          `json:"compressed,omitempty"`
}

type statusJSON struct {
	Code    jsonStatus `json:"code"`
	Message string     `json:"message,omitempty"`
}

type eventJSON struct {
	Name       string    `json:"name"`
	Time       jsonTime  `json:"time,omitzero"`
	Attributes jsonAttrs `json:"attributes,omitempty"`
}

type linkJSON struct {
	TraceID    string    `json:"trace_id"`
	SpanID     string    `json:"span_id"`
	TraceState string    `json:"trace_state,omitempty"`
	Attributes jsonAttrs `json:"attributes,omitempty"`
}

type resourceJSON struct {
	Attributes jsonAttrs `json:"attributes,omitempty"`
	SchemaURL  string    `json:"schema_url,omitempty"`
}

type scopeJSON struct {
	Name       string    `json:"name,omitempty"`
	Version    string    `json:"version,omitempty"`
	Attributes jsonAttrs `json:"attributes,omitempty"`
}

func toSpanJSON(s Span, correlations []string) spanJSON {
	j := spanJSON{
		TraceID:      s.TraceID.String(),
		SpanID:       s.SpanID.String(),
		TraceState:   s.TraceState,
		Flags:        s.Flags,
		Name:         s.Name,
		Kind:         jsonKind(s.Kind),
		Start:        jsonTime(s.Start),
		End:          jsonTime(s.End),
		Status:       statusJSON{Code: jsonStatus(s.Status.Code), Message: s.Status.Message},
		Attributes:   jsonAttrs(s.Attributes),
		Service:      s.Service(),
		Instance:     s.Instance(),
		Sender:       s.Origin.Sender,
		Received:     jsonTime(s.Received),
		Correlations: correlations,
		Seq:          s.Seq,
		Transport:    s.Origin.Transport,
		Encoding:     s.Origin.Encoding,
		Compressed:   s.Origin.Compressed,
	}
	if !s.ParentSpanID.IsZero() {
		j.ParentSpanID = s.ParentSpanID.String()
	}
	for _, e := range s.Events {
		j.Events = append(j.Events, eventJSON{Name: e.Name, Time: jsonTime(e.Time), Attributes: jsonAttrs(e.Attributes)})
	}
	for _, l := range s.Links {
		j.Links = append(j.Links, linkJSON{TraceID: l.TraceID.String(), SpanID: l.SpanID.String(), TraceState: l.TraceState, Attributes: jsonAttrs(l.Attributes)})
	}
	if len(s.Resource.Attributes) > 0 || s.Resource.SchemaURL != "" {
		j.Resource = &resourceJSON{Attributes: jsonAttrs(s.Resource.Attributes), SchemaURL: s.Resource.SchemaURL}
	}
	if s.Scope.Name != "" || s.Scope.Version != "" || len(s.Scope.Attributes) > 0 {
		j.Scope = &scopeJSON{Name: s.Scope.Name, Version: s.Scope.Version, Attributes: jsonAttrs(s.Scope.Attributes)}
	}
	return j
}

func (j *spanJSON) span() (Span, error) {
	s := Span{
		TraceState: j.TraceState,
		Flags:      j.Flags,
		Name:       j.Name,
		Kind:       SpanKind(j.Kind),
		Start:      time.Time(j.Start),
		End:        time.Time(j.End),
		Status:     Status{Code: StatusCode(j.Status.Code), Message: j.Status.Message},
		Attributes: Attributes(j.Attributes),
		Received:   time.Time(j.Received),
		Origin:     Origin{Sender: j.Sender, Transport: j.Transport, Encoding: j.Encoding, Compressed: j.Compressed},
		Seq:        j.Seq,
	}
	var err error
	if s.TraceID, err = ParseTraceID(j.TraceID); err != nil {
		return Span{}, fmt.Errorf("trace_id: %w", err)
	}
	if s.SpanID, err = ParseSpanID(j.SpanID); err != nil {
		return Span{}, fmt.Errorf("span_id: %w", err)
	}
	if j.ParentSpanID != "" {
		if s.ParentSpanID, err = ParseSpanID(j.ParentSpanID); err != nil {
			return Span{}, fmt.Errorf("parent_span_id: %w", err)
		}
	}
	for _, e := range j.Events {
		s.Events = append(s.Events, Event{Name: e.Name, Time: time.Time(e.Time), Attributes: Attributes(e.Attributes)})
	}
	for i, l := range j.Links {
		tid, err := ParseTraceID(l.TraceID)
		if err != nil {
			return Span{}, fmt.Errorf("links[%d].trace_id: %w", i, err)
		}
		sid, err := ParseSpanID(l.SpanID)
		if err != nil {
			return Span{}, fmt.Errorf("links[%d].span_id: %w", i, err)
		}
		s.Links = append(s.Links, Link{TraceID: tid, SpanID: sid, TraceState: l.TraceState, Attributes: Attributes(l.Attributes)})
	}
	if j.Resource != nil {
		s.Resource = Resource{Attributes: Attributes(j.Resource.Attributes), SchemaURL: j.Resource.SchemaURL}
	}
	if j.Scope != nil {
		s.Scope = Scope{Name: j.Scope.Name, Version: j.Scope.Version, Attributes: Attributes(j.Scope.Attributes)}
	}
	return s, nil
}

// fieldError names the top-level field whose value made err, by decoding
// the fields one at a time (only on this error path). encoding/json names
// the field of a type mismatch but not of an error from a field's own
// UnmarshalJSON.
func fieldError(b []byte, err error) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: m[k]})
		var probe spanJSON
		if ferr := json.Unmarshal(one, &probe); ferr != nil {
			var te *json.UnmarshalTypeError
			if errors.As(ferr, &te) {
				return ferr // already names the field
			}
			return fmt.Errorf("%s: %w", k, ferr)
		}
	}
	return err
}

// jsonTime is RFC 3339 with nanoseconds, in UTC.
type jsonTime time.Time

func (t jsonTime) IsZero() bool { return time.Time(t).IsZero() }

func (t jsonTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(time.RFC3339Nano)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = jsonTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want an RFC 3339 time string, got %s", b)
	}
	if s == "" {
		*t = jsonTime{}
		return nil
	}
	x, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time: %w", err)
	}
	*t = jsonTime(x)
	return nil
}

// jsonKind is a span kind by its lowercase name; a kind OTLP does not define
// is written as its number.
type jsonKind SpanKind

func (k jsonKind) MarshalJSON() ([]byte, error) {
	if k >= 0 && int(k) < len(spanKindNames) {
		return []byte(`"` + strings.ToLower(spanKindNames[k]) + `"`), nil
	}
	return strconv.AppendInt(nil, int64(k), 10), nil
}

func (k *jsonKind) UnmarshalJSON(b []byte) error {
	n, err := enumJSON(b, spanKindNames[:], "internal|server|client|producer|consumer|unspecified")
	*k = jsonKind(n)
	return err
}

var statusNames = []string{"unset", "ok", "error"}

// jsonStatus is a status code by its lowercase name, or its number when OTLP
// does not define it.
type jsonStatus StatusCode

func (c jsonStatus) MarshalJSON() ([]byte, error) {
	if c >= 0 && int(c) < len(statusNames) {
		return []byte(`"` + statusNames[c] + `"`), nil
	}
	return strconv.AppendInt(nil, int64(c), 10), nil
}

func (c *jsonStatus) UnmarshalJSON(b []byte) error {
	n, err := enumJSON(b, statusNames, "unset|ok|error")
	*c = jsonStatus(n)
	return err
}

// enumJSON reads a name from names (case-insensitive), or a number.
func enumJSON(b []byte, names []string, want string) (int32, error) {
	if string(b) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int32
		if err := json.Unmarshal(b, &n); err != nil {
			return 0, fmt.Errorf("want one of %s, got %s", want, b)
		}
		return n, nil
	}
	if s == "" {
		return 0, nil
	}
	for i, name := range names {
		if strings.EqualFold(s, name) {
			return int32(i), nil
		}
	}
	return 0, fmt.Errorf("want one of %s, got %q", want, s)
}

// jsonAttrs is attributes as a JSON object, in their order.
type jsonAttrs Attributes

func (as jsonAttrs) MarshalJSON() ([]byte, error) {
	return appendAttrsJSON(nil, Attributes(as)), nil
}

func (as *jsonAttrs) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*as = nil
		return nil
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("attributes: want an object, got %s", b)
	}
	m, err := decodeObject(dec)
	if err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	*as = jsonAttrs(m)
	return nil
}

func appendAttrsJSON(b []byte, as Attributes) []byte {
	b = append(b, '{')
	for i, a := range as {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, a.Key)
		b = append(b, ':')
		b = appendValueJSON(b, a.Value)
	}
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // escapes as encoding/json does; strings always marshal
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendValueJSON(b []byte, v Value) []byte {
	switch v.kind {
	case KindString:
		return appendString(b, v.str)
	case KindBool:
		return strconv.AppendBool(b, v.Bool())
	case KindInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case KindDouble:
		return appendDouble(b, v.Double())
	case KindBytes:
		return appendString(b, v.AsString()) // base64
	case KindSlice:
		b = append(b, '[')
		for i, e := range v.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValueJSON(b, e)
		}
		return append(b, ']')
	case KindMap:
		return appendAttrsJSON(b, v.kvs)
	}
	return append(b, "null"...)
}

// appendDouble writes f as encoding/json does (shortest form, exponent only
// for very large or small magnitudes) and adds ".0" to an integral value, so
// a reader that types by syntax sees a double.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	if !bytes.ContainsAny(b[start:], ".eE") {
		b = append(b, ".0"...)
	}
	return b
}

// decodeValue reads one value from dec's token stream.
func decodeValue(dec *json.Decoder) (Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return Value{}, err
	}
	return valueFromToken(dec, tok)
}

func valueFromToken(dec *json.Decoder, tok json.Token) (Value, error) {
	switch t := tok.(type) {
	case nil:
		return Value{}, nil
	case string:
		return StringValue(t), nil
	case bool:
		return BoolValue(t), nil
	case json.Number:
		return numberValue(t)
	case json.Delim:
		switch t {
		case '[':
			var vs []Value
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return Value{}, err
				}
				vs = append(vs, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return Value{}, err
			}
			return SliceValue(vs...), nil
		case '{':
			m, err := decodeObject(dec)
			if err != nil {
				return Value{}, err
			}
			return MapValue(m), nil
		}
	}
	return Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}

// decodeObject reads an object's members after its '{', and its '}'.
func decodeObject(dec *json.Decoder) (Attributes, error) {
	var m Attributes
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := kt.(string)
		if !ok {
			return nil, fmt.Errorf("unexpected JSON token %v", kt)
		}
		v, err := decodeValue(dec)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		m = append(m, Attr{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	if m == nil {
		m = Attributes{}
	}
	return m, nil
}

// numberValue types a JSON number by its syntax: an integer when it has no
// fraction or exponent and fits in an int64, else a double.
func numberValue(n json.Number) (Value, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return IntValue(i), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Value{}, fmt.Errorf("number %s: %w", s, err)
	}
	return DoubleValue(f), nil
}
