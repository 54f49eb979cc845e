package remote

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

// spans answers POST /api/v1/spans
//
//	{"query": Q, "limit": 1000, "after": 0} → {"spans": [...], "total": N}
//
// with the spans the query selects now, in arrival order: the first limit
// of them (default 1,000, at most 10,000), and total counting them all.
// after (a span's "seq") keeps only spans that arrived later, so that a
// client can page through more than limit.
func (h *Handler) spans(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(w, r)
	if !ok {
		return
	}
	q, err := f.query("query")
	if err == nil {
		q, err = f.after(q)
	}
	var limit int
	if err == nil {
		limit, err = f.integer("limit", defaultLimit, 1, maxLimit)
	}
	if err == nil {
		err = f.unused("POST /api/v1/spans", known("query", "limit", "after"))
	}
	if err != nil {
		writeQueryError(w, err)
		return
	}
	got := q.Find(h.src())
	var o object
	o.raw("spans", newSpanWriter(h.st).array(nil, got[:min(len(got), limit)]))
	o.value("total", len(got))
	writeRaw(w, http.StatusOK, o.bytes())
}

// after narrows q to spans whose seq is above the request's "after".
func (f *fields) after(q assert.Query) (assert.Query, *QueryError) {
	if !f.has("after") {
		f.used["after"] = true
		return q, nil
	}
	n, err := f.integer("after", 0, 0, math.MaxInt)
	if err != nil || n == 0 {
		return q, err
	}
	seq := uint64(n)
	return q.Where("that arrived after span "+strconv.FormatUint(seq, 10), func(s spanstore.Span) bool { return s.Seq > seq }), nil
}

// wait answers POST /api/v1/wait
//
//	{"query": Q, "count": 1, "timeout": "10s", "limit": 1000}
//	→ {"ok": true, "found": n, "spans": [...]}
//	→ {"ok": false, "found": n, "spans": [...], "report": "expected at least 1 span named ..."}
//
// as soon as count spans match (all that match then, up to limit), or at
// the timeout with the report assert's Eventually prints: it runs
// assert.Checker.Eventually itself, woken by the store on ingest.
func (h *Handler) wait(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(w, r)
	if !ok {
		return
	}
	q, err := f.query("query")
	var count, limit int
	var timeout = defaultTimeout
	if err == nil {
		count, err = f.integer("count", 1, 1, maxCount)
	}
	if err == nil {
		limit, err = f.integer("limit", defaultLimit, 1, maxLimit)
	}
	if err == nil {
		timeout, err = f.duration("timeout", defaultTimeout)
	}
	if err == nil {
		err = f.unused("POST /api/v1/wait", known("query", "count", "timeout", "limit"))
	}
	if err != nil {
		writeQueryError(w, err)
		return
	}
	got, werr := assert.Check(h.src(), assert.WithTimeout(exact(timeout))).Eventually(ctx, q, count)
	if ended(ctx, w) {
		return
	}
	var o object
	o.value("ok", werr == nil)
	o.value("found", len(got))
	o.raw("spans", newSpanWriter(h.st).array(nil, got[:min(len(got), limit)]))
	if werr != nil {
		var fail *assert.Failure
		if !errors.As(werr, &fail) {
			writeError(w, http.StatusInternalServerError, &apiError{Msg: werr.Error()})
			return
		}
		o.value("report", fail.Error())
	}
	writeRaw(w, http.StatusOK, o.bytes())
}
