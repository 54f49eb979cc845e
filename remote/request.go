package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/traceproof/traceproof/assert"
)

// Limits on a request, so that a client costs the server bounded memory and
// time: the body, how long one request may wait, and how many spans or
// matches it may ask for.
const (
	maxBodyBytes = 1 << 20
	// MaxTimeout bounds every duration a request gives (timeout, settle,
	// window): a longer one is refused with 400, not cut short.
	MaxTimeout     = 5 * time.Minute
	defaultTimeout = assert.DefaultTimeout
	defaultSettle  = assert.DefaultSettle
	defaultLimit   = 1000
	maxLimit       = 10_000
	maxCount       = 10_000
	maxListLen     = 1000 // values of once_per
	maxQueryList   = 32   // queries of in_order
	maxEvents      = 64   // events of published and not_published
	// changesTimeout is how long /changes waits by default; a Source's
	// watch ends then and its channel closes (a wake-up with nothing new,
	// which the engine answers by looking again).
	changesTimeout = 30 * time.Second
)

// fields is a request body: its members by name, in order, each given once.
type fields struct {
	order []string
	raw   map[string]json.RawMessage
	used  map[string]bool
}

// readBody reads a JSON object body, answering the error itself (413, 415,
// 400) and returning ok=false when it is not one. An empty body is {}.
func readBody(w http.ResponseWriter, r *http.Request) (*fields, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, &apiError{Msg: fmt.Sprintf("Content-Type %q: send application/json", ct)})
			return nil, false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, &apiError{Msg: fmt.Sprintf("request body over %d bytes", maxBodyBytes)})
		} else {
			writeError(w, http.StatusBadRequest, &apiError{Msg: "reading the request body: " + err.Error()})
		}
		return nil, false
	}
	f, qerr := parseFields(body)
	if qerr != nil {
		writeQueryError(w, qerr)
		return nil, false
	}
	return f, true
}

func parseFields(body []byte) (*fields, *QueryError) {
	f := &fields{raw: map[string]json.RawMessage{}, used: map[string]bool{}}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return f, nil
	}
	if body[0] != '{' {
		return nil, &QueryError{Msg: "the request body must be a JSON object, got " + jsonType(body)}
	}
	err := eachField(body, "", func(key string, raw json.RawMessage) *QueryError {
		f.order = append(f.order, key)
		f.raw[key] = raw
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// get returns a member, marking it used; null counts as absent.
func (f *fields) get(name string) (json.RawMessage, bool) {
	f.used[name] = true
	raw, ok := f.raw[name]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

func (f *fields) has(name string) bool {
	raw, ok := f.raw[name]
	return ok && !isNull(raw)
}

// unused reports the first member no one asked for: an unknown field, or
// one the request's kind does not take, which would otherwise be ignored
// and widen what the client asked.
func (f *fields) unused(what string, known string) *QueryError {
	for _, k := range f.order {
		if !f.used[k] {
			return &QueryError{Field: k, Msg: fmt.Sprintf("not a field of %s; it takes %s", what, known)}
		}
	}
	return nil
}

// query reads a query field (an object or the text form); absent is the
// query that selects every span.
func (f *fields) query(name string) (assert.Query, *QueryError) {
	raw, ok := f.get(name)
	if !ok {
		return assert.Spans(), nil
	}
	return buildQuery(raw, name)
}

func buildQuery(raw json.RawMessage, field string) (assert.Query, *QueryError) {
	q, err := decodeQuery(raw, "", 0)
	if err != nil {
		return assert.Query{}, err.under(field)
	}
	aq, err := (&builder{}).build(&q, "", 0)
	if err != nil {
		return assert.Query{}, err.under(field)
	}
	return aq, nil
}

// integer reads an integer field within [lo, hi], or def when absent.
func (f *fields) integer(name string, def, lo, hi int) (int, *QueryError) {
	raw, ok := f.get(name)
	if !ok {
		return def, nil
	}
	t := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		if len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')) {
			if fl, ferr := strconv.ParseFloat(t, 64); ferr == nil && fl == math.Trunc(fl) && math.Abs(fl) < 1<<53 {
				n = int64(fl) // 3.0, 1e3: a whole number all the same
			} else {
				return 0, &QueryError{Field: name, Msg: "want an integer, got " + clip(t)}
			}
		} else {
			return 0, &QueryError{Field: name, Msg: "want an integer, got " + jsonType(raw)}
		}
	}
	if n < int64(lo) || n > int64(hi) {
		return 0, &QueryError{Field: name, Msg: fmt.Sprintf("%d is out of range; want %d to %d", n, lo, hi)}
	}
	return int(n), nil
}

// duration reads a Go duration string ("10s", "300ms") within (0,
// MaxTimeout], or def when absent.
func (f *fields) duration(name string, def time.Duration) (time.Duration, *QueryError) {
	raw, ok := f.get(name)
	if !ok {
		return def, nil
	}
	s, err := decodeString(raw, name, "empty; leave the field out for the default")
	if err != nil {
		return 0, err
	}
	d, perr := time.ParseDuration(s)
	switch {
	case perr != nil:
		return 0, &QueryError{Field: name, Msg: fmt.Sprintf("%q is not a duration; write it as Go does: \"10s\", \"300ms\", \"1m30s\"", s)}
	case d <= 0:
		return 0, &QueryError{Field: name, Msg: fmt.Sprintf("%s: want a positive duration", s)}
	case d > MaxTimeout:
		return 0, &QueryError{Field: name, Msg: fmt.Sprintf("%s is longer than the server allows (%s)", s, MaxTimeout)}
	}
	return d, nil
}

// str reads a non-empty string field; "" when absent.
func (f *fields) str(name string) (string, *QueryError) {
	raw, ok := f.get(name)
	if !ok {
		return "", nil
	}
	return decodeString(raw, name, "empty")
}

func (f *fields) boolean(name string) (bool, *QueryError) {
	raw, ok := f.get(name)
	if !ok {
		return false, nil
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &QueryError{Field: name, Msg: "want true or false, got " + jsonType(raw)}
}

// strings reads an array of non-empty strings.
func (f *fields) strings(name string, max int) ([]string, *QueryError) {
	elems, err := f.array(name, max)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		s, err := decodeString(e, name+"["+strconv.Itoa(i)+"]", "empty")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// array reads an array field of at most max elements; nil when absent.
func (f *fields) array(name string, max int) ([]json.RawMessage, *QueryError) {
	raw, ok := f.get(name)
	if !ok {
		return nil, nil
	}
	var elems []json.RawMessage
	if bytes.TrimSpace(raw)[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, &QueryError{Field: name, Msg: "want an array, got " + jsonType(raw)}
	}
	if len(elems) > max {
		return nil, &QueryError{Field: name, Msg: fmt.Sprintf("%d elements; at most %d", len(elems), max)}
	}
	if elems == nil {
		elems = []json.RawMessage{}
	}
	return elems, nil
}

// required says a field the request's kind needs is missing.
func required(name, what string) *QueryError {
	return &QueryError{Field: name, Msg: "required by " + what}
}

// known lists field names for messages: "query, count and timeout".
func known(names ...string) string {
	switch len(names) {
	case 0:
		return "no fields"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
