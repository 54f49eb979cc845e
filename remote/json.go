package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// UnmarshalJSON reads a query in either form: a JSON object, or a JSON
// string holding the text form, which ParseQuery parses and checks. Either
// may stand for any sub-query too ("child": "{ name = \"publish\" }").
//
// It is strict, since a condition dropped on the way would widen the query
// unnoticed: an unknown field, a field given twice, a value of the wrong JSON
// type and an explicit "" are errors. Numbers keep their type: 3 is an int64,
// 3.0 and 3e0 are float64s (they compare equal, as in Go). Missing attr ops
// and scopes are filled in ("=", "any"), so both forms decode to the same
// Query. Meanings (operator names, kinds, regular expressions, limits) are
// Build's to check. Errors are *[QueryError]s whose Field is relative to the
// query: a server names the request field it came in ("query.attrs[1].op").
func (q *Query) UnmarshalJSON(data []byte) error {
	d, err := decodeQuery(data, "", 0)
	if err != nil {
		return err
	}
	*q = d
	return nil
}

const queryFields = "name, name_prefix, name_regex, kind, status, correlation, service, instance, trace_id, attrs, event, child, descendant, parent, ancestor"

func decodeQuery(data []byte, path string, depth int) (Query, *QueryError) {
	fail := func(field, format string, args ...any) (Query, *QueryError) {
		return Query{}, &QueryError{Field: join(path, field), Msg: fmt.Sprintf(format, args...)}
	}
	data = bytes.TrimSpace(data)
	switch {
	case string(data) == "null":
		return Query{}, nil
	case len(data) > 0 && data[0] == '"':
		var text string
		if err := json.Unmarshal(data, &text); err != nil {
			return fail("", "invalid JSON string: %v", err)
		}
		q, err := parseQuery(text)
		if err != nil {
			return Query{}, err.under(path)
		}
		return q, nil
	case len(data) == 0 || data[0] != '{':
		return fail("", "want a query: an object or a text query string, got %s", jsonType(data))
	}
	if depth > maxDepth {
		return fail("", "sub-queries nested more than %d deep", maxDepth)
	}
	var q Query
	err := eachField(data, path, func(key string, raw json.RawMessage) *QueryError {
		var err *QueryError
		field := join(path, key)
		str := func(dst *string) { *dst, err = decodeString(raw, field, emptyField) }
		switch key {
		case "name":
			str(&q.Name)
		case "name_prefix":
			str(&q.NamePrefix)
		case "name_regex":
			str(&q.NameRegex)
		case "kind":
			str(&q.Kind)
		case "status":
			str(&q.Status)
		case "correlation":
			str(&q.Correlation)
		case "service":
			str(&q.Service)
		case "instance":
			str(&q.Instance)
		case "trace_id":
			str(&q.TraceID)
		case "event":
			str(&q.Event)
		case "attrs":
			q.Attrs, err = decodeAttrs(raw, field)
		case "child", "descendant", "parent", "ancestor":
			if isNull(raw) {
				return nil
			}
			sub, err := decodeQuery(raw, field, depth+1)
			if err != nil {
				return err
			}
			*q.sub(key) = &sub
		default:
			return &QueryError{Field: field, Msg: "unknown field; want one of " + queryFields}
		}
		return err
	})
	if err != nil {
		return Query{}, err
	}
	return q, nil
}

// eachField calls f for each member of the JSON object data, in order,
// refusing a key given twice.
func eachField(data []byte, path string, f func(key string, raw json.RawMessage) *QueryError) *QueryError {
	bad := func(err error) *QueryError { return &QueryError{Field: path, Msg: "invalid JSON: " + err.Error()} }
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return bad(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		key, _ := t.(string)
		if seen[key] {
			return &QueryError{Field: join(path, key), Msg: "given twice"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad(err)
		}
		if err := f(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return bad(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &QueryError{Field: path, Msg: "invalid JSON: data after the object"}
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// jsonType names the JSON type of a value for messages.
func jsonType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// decodeString reads a string field, null meaning not set; an explicit ""
// is an error saying empty.
func decodeString(raw json.RawMessage, field, empty string) (string, *QueryError) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if bytes.TrimSpace(raw)[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", &QueryError{Field: field, Msg: "want a string, got " + jsonType(raw)}
	}
	if s == "" {
		return "", &QueryError{Field: field, Msg: empty}
	}
	return s, nil
}

const emptyField = "empty; leave the field out to match any span"

func decodeAttrs(raw json.RawMessage, field string) ([]Attr, *QueryError) {
	if isNull(raw) {
		return nil, nil
	}
	var elems []json.RawMessage
	if bytes.TrimSpace(raw)[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, &QueryError{Field: field, Msg: "want an array of attr conditions, got " + jsonType(raw)}
	}
	if len(elems) == 0 {
		return nil, nil // as an absent attrs, so that a query has one form
	}
	attrs := make([]Attr, 0, len(elems))
	for i, e := range elems {
		path := field + "[" + strconv.Itoa(i) + "]"
		if bytes.TrimSpace(e)[0] != '{' {
			return nil, &QueryError{Field: path, Msg: `want an attr condition: {"key", "op", "value", "scope"}, got ` + jsonType(e)}
		}
		a := Attr{Op: "=", Scope: "any"}
		err := eachField(e, path, func(key string, raw json.RawMessage) *QueryError {
			var err *QueryError
			field := join(path, key)
			switch key {
			case "key":
				a.Key, err = decodeString(raw, field, "required")
			case "op":
				if !isNull(raw) {
					a.Op, err = decodeString(raw, field, `empty; leave the field out for "="`)
				}
			case "scope":
				if !isNull(raw) {
					a.Scope, err = decodeString(raw, field, `empty; leave the field out for "any"`)
				}
			case "value":
				a.Value, err = decodeValue(raw, field)
			default:
				err = &QueryError{Field: field, Msg: "unknown field; want one of key, op, value, scope"}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if a.Key == "" {
			return nil, &QueryError{Field: join(path, "key"), Msg: "required"}
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}

// decodeValue reads a typed scalar: string, bool, int64 for a number
// written without fraction or exponent, else float64.
func decodeValue(raw json.RawMessage, field string) (any, *QueryError) {
	raw = bytes.TrimSpace(raw)
	fail := func(format string, args ...any) (any, *QueryError) {
		return nil, &QueryError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail("invalid JSON string: %v", err)
		}
		return s, nil
	case '{', '[':
		return fail("want a string, number or boolean, got %s", jsonType(raw))
	}
	text := string(raw)
	if !strings.ContainsAny(text, ".eE") {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fail("integer %s is out of the range of int64", clip(text))
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return fail("number %s is out of the range of float64", clip(text))
	}
	return f, nil
}

// MarshalJSON writes the condition as UnmarshalJSON reads it, a float
// always with a fraction or an exponent so that it stays a float.
func (a Attr) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	key, _ := json.Marshal(a.Key)
	b.WriteString(`{"key":`)
	b.Write(key)
	if a.Op != "" {
		op, _ := json.Marshal(a.Op)
		b.WriteString(`,"op":`)
		b.Write(op)
	}
	if a.Value != nil {
		v, msg := scalar(a.Value)
		if msg != "" {
			return nil, fmt.Errorf("remote: attr %q: value: %s", a.Key, msg)
		}
		b.WriteString(`,"value":`)
		if f, ok := v.(float64); ok {
			b.WriteString(formatFloat(f))
		} else {
			enc, _ := json.Marshal(v)
			b.Write(enc)
		}
	}
	if a.Scope != "" {
		scope, _ := json.Marshal(a.Scope)
		b.WriteString(`,"scope":`)
		b.Write(scope)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
