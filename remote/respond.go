package remote

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/traceproof/traceproof/spanstore"
)

// apiError is the body of every error answer:
//
//	{"error": "query.attrs[0].op: unknown operator \"~\"; ...", "field": "query.attrs[0].op"}
//	{"error": "q: column 14: || is not supported: ...", "field": "q", "column": 14}
//
// error is the whole message; field (a JSON path into the request, or the
// URL parameter) and column (1-based, in runes of the text query) say where.
type apiError struct {
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
	Column int    `json:"column,omitempty"`
}

func writeError(w http.ResponseWriter, status int, e *apiError) {
	writeJSON(w, status, e)
}

// writeQueryError answers 400 for a bad request field or query.
func writeQueryError(w http.ResponseWriter, e *QueryError) {
	writeError(w, http.StatusBadRequest, &apiError{Msg: e.Error(), Field: e.Field, Column: e.Column})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = marshal(apiError{Msg: "encoding the answer: " + err.Error()})
	}
	writeRaw(w, status, b)
}

// marshal is json.Marshal without HTML escaping, so that messages and
// reports read as they are (&&, <-) in a terminal.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// spanWriter appends spans in the API's JSON form, each with the
// correlation values of its trace, looked up once per trace.
type spanWriter struct {
	st    *spanstore.Store
	corrs map[spanstore.TraceID][]string
}

func newSpanWriter(st *spanstore.Store) *spanWriter {
	return &spanWriter{st: st, corrs: map[spanstore.TraceID][]string{}}
}

func (sw *spanWriter) append(b []byte, s spanstore.Span) []byte {
	cs, ok := sw.corrs[s.TraceID]
	if !ok {
		cs = sw.st.TraceCorrelations(s.TraceID)
		sw.corrs[s.TraceID] = cs
	}
	return spanstore.AppendJSON(b, s, cs)
}

// array appends spans as a JSON array.
func (sw *spanWriter) array(b []byte, spans []spanstore.Span) []byte {
	b = append(b, '[')
	for i, s := range spans {
		if i > 0 {
			b = append(b, ',')
		}
		b = sw.append(b, s)
	}
	return append(b, ']')
}

// object writes a JSON object of fields in order; values are raw JSON.
type object struct{ b []byte }

func (o *object) raw(key string, v []byte) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = strconv.AppendQuote(o.b, key)
	o.b = append(o.b, ':')
	o.b = append(o.b, v...)
}

func (o *object) value(key string, v any) {
	b, err := marshal(v)
	if err != nil {
		panic("remote: encoding " + key + ": " + err.Error()) // only strings, bools and ints go here
	}
	o.raw(key, b)
}

func (o *object) bytes() []byte {
	if len(o.b) == 0 {
		return []byte("{}")
	}
	return append(o.b, '}')
}
