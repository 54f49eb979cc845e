package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
)

// checkKinds are the checks POST /api/v1/check runs, each with the fields
// it takes besides "check". Each runs the Go API's own code on the server,
// so it means what it means in Go and reports what Go reports.
var checkKinds = map[string][]string{
	"eventually":    {"query", "count", "timeout"},
	"exactly":       {"query", "count", "timeout", "settle", "allow_empty"},
	"never":         {"query", "window", "allow_empty"},
	"once_per":      {"query", "key", "values", "timeout", "settle"},
	"in_order":      {"queries", "timeout"},
	"published":     {"correlation", "events", "timeout", "settle", "allow_empty"},
	"includes":      {"correlation", "events", "timeout"},
	"not_published": {"correlation", "events", "window", "allow_empty"},
}

const checkNames = "eventually, exactly, never, once_per, in_order, published, includes, not_published"

// check answers POST /api/v1/check
//
//	{"check": "published", "correlation": "order-A1",
//	 "events": [{"name": "order.validated", "delivery": "fast"}, {"name": "payment.processed", "delivery": "durable"}]}
//	→ {"ok": true}
//	→ {"ok": false, "report": "expected correlation \"order-A1\" to publish exactly these domain events ..."}
//
// with 200 either way; 400 for a request that does not say what to check.
func (h *Handler) check(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(w, r)
	if !ok {
		return
	}
	run, err := f.checkRun()
	if err != nil {
		writeQueryError(w, err)
		return
	}
	cerr := run(ctx, h.src())
	if ended(ctx, w) {
		return
	}
	var o object
	o.value("ok", cerr == nil)
	if cerr != nil {
		var fail *assert.Failure
		if !errors.As(cerr, &fail) {
			writeError(w, http.StatusInternalServerError, &apiError{Msg: cerr.Error()})
			return
		}
		o.value("report", cerr.Error())
	}
	writeRaw(w, http.StatusOK, o.bytes())
}

// checkFunc runs a decoded check; its error is nil or *assert.Failure (a
// joined one for not_published over several events).
type checkFunc func(ctx context.Context, src assert.Source) error

// checkRun decodes a check request into the call that runs it.
func (f *fields) checkRun() (checkFunc, *QueryError) {
	kind, err := f.str("check")
	if err != nil {
		return nil, err
	}
	if kind == "" {
		return nil, &QueryError{Field: "check", Msg: "required: one of " + checkNames}
	}
	takes, ok := checkKinds[kind]
	if !ok {
		return nil, &QueryError{Field: "check", Msg: fmt.Sprintf("unknown check %q; want one of %s", kind, checkNames)}
	}
	what := "check " + kind
	opts, err := f.checkOptions(takes)
	if err != nil {
		return nil, err
	}
	var run checkFunc
	switch kind {
	case "eventually", "exactly":
		q, err := f.query("query")
		if err != nil {
			return nil, err
		}
		lo, def := 1, 1
		if kind == "exactly" {
			if !f.has("count") {
				return nil, required("count", what)
			}
			lo = 0
		}
		n, err := f.integer("count", def, lo, maxCount)
		if err != nil {
			return nil, err
		}
		run = func(ctx context.Context, src assert.Source) error {
			c := assert.Check(src, opts...)
			if kind == "exactly" {
				_, err := c.Exactly(ctx, q, n)
				return err
			}
			_, err := c.Eventually(ctx, q, n)
			return err
		}
	case "never":
		q, err := f.query("query")
		if err != nil {
			return nil, err
		}
		window, err := f.window(what)
		if err != nil {
			return nil, err
		}
		run = func(ctx context.Context, src assert.Source) error {
			return assert.Check(src, opts...).Never(ctx, q, exact(window))
		}
	case "once_per":
		q, err := f.query("query")
		if err != nil {
			return nil, err
		}
		key, err := f.str("key")
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, required("key", what)
		}
		values, err := f.strings("values", maxListLen)
		if err != nil {
			return nil, err
		}
		run = func(ctx context.Context, src assert.Source) error {
			_, err := assert.Check(src, opts...).OncePer(ctx, q, key, values...)
			return err
		}
	case "in_order":
		elems, err := f.array("queries", maxQueryList)
		if err != nil {
			return nil, err
		}
		if len(elems) < 2 {
			if elems == nil {
				return nil, required("queries", what)
			}
			return nil, &QueryError{Field: "queries", Msg: fmt.Sprintf("%d queries; an order needs at least 2", len(elems))}
		}
		qs := make([]assert.Query, len(elems))
		for i, e := range elems {
			if qs[i], err = buildQuery(e, "queries["+strconv.Itoa(i)+"]"); err != nil {
				return nil, err
			}
		}
		run = func(ctx context.Context, src assert.Source) error {
			_, err := assert.Check(src, opts...).InOrder(ctx, qs...)
			return err
		}
	case "published", "includes", "not_published":
		corr, err := f.str("correlation")
		if err != nil {
			return nil, err
		}
		if corr == "" {
			return nil, required("correlation", what)
		}
		events, err := f.events(kind)
		if err != nil {
			return nil, err
		}
		switch kind {
		case "published", "includes":
			run = func(ctx context.Context, src assert.Source) error {
				d := domainevent.Check(assert.Check(src, opts...))
				if kind == "published" {
					_, err := d.Published(ctx, corr, events...)
					return err
				}
				_, err := d.Includes(ctx, corr, events...)
				return err
			}
		default:
			window, err := f.window(what)
			if err != nil {
				return nil, err
			}
			run = func(ctx context.Context, src assert.Source) error {
				return notPublished(ctx, domainevent.Check(assert.Check(src, opts...)), corr, events, exact(window))
			}
		}
	}
	if err := f.unused(what, known(append([]string{"check"}, takes...)...)); err != nil {
		return nil, err
	}
	return run, nil
}

// checkOptions reads the options a check kind takes: timeout, settle and
// allow_empty.
func (f *fields) checkOptions(takes []string) ([]assert.Option, *QueryError) {
	var opts []assert.Option
	for _, name := range takes {
		switch name {
		case "timeout":
			d, err := f.duration("timeout", defaultTimeout)
			if err != nil {
				return nil, err
			}
			opts = append(opts, assert.WithTimeout(exact(d)))
		case "settle":
			d, err := f.duration("settle", defaultSettle)
			if err != nil {
				return nil, err
			}
			opts = append(opts, assert.WithSettle(exact(d)))
		case "allow_empty":
			allow, err := f.boolean("allow_empty")
			if err != nil {
				return nil, err
			}
			if allow {
				opts = append(opts, assert.WithAllowEmpty())
			}
		}
	}
	return opts, nil
}

// window reads the required window of an absence check.
func (f *fields) window(what string) (time.Duration, *QueryError) {
	if !f.has("window") {
		f.used["window"] = true
		return 0, required("window", what)
	}
	return f.duration("window", 0)
}

var deliveries = map[string]domainevent.Delivery{
	"durable": domainevent.DeliveryDurable, "fast": domainevent.DeliveryFast, "broadcast": domainevent.DeliveryBroadcast,
}

// events reads the events of a domain-event check: objects {"name",
// "delivery"} (delivery case-insensitive, optional), or plain name strings.
// not_published takes names only.
func (f *fields) events(kind string) ([]domainevent.Event, *QueryError) {
	elems, err := f.array("events", maxEvents)
	if err != nil {
		return nil, err
	}
	if elems == nil {
		return nil, required("events", "check "+kind)
	}
	if len(elems) == 0 && kind != "published" {
		return nil, &QueryError{Field: "events", Msg: "empty; check " + kind + " needs at least one event"}
	}
	events := make([]domainevent.Event, 0, len(elems))
	for i, e := range elems {
		path := "events[" + strconv.Itoa(i) + "]"
		ev, err := decodeEvent(e, path)
		if err != nil {
			return nil, err
		}
		if kind == "not_published" && ev.Mode != "" {
			return nil, &QueryError{Field: path + ".delivery", Msg: "not_published takes event names only: an event not published has no delivery mode"}
		}
		for j, prev := range events {
			if prev.Name == ev.Name {
				return nil, &QueryError{Field: path + ".name", Msg: fmt.Sprintf("%q is listed twice (events[%d] too)", ev.Name, j)}
			}
		}
		events = append(events, ev)
	}
	return events, nil
}

func decodeEvent(raw json.RawMessage, path string) (domainevent.Event, *QueryError) {
	if len(raw) > 0 && raw[0] == '"' {
		name, err := decodeString(raw, path, "empty")
		return domainevent.Event{Name: name}, err
	}
	if len(raw) == 0 || raw[0] != '{' {
		return domainevent.Event{}, &QueryError{Field: path, Msg: `want an event: {"name": "payment.processed", "delivery": "durable"} or a name, got ` + jsonType(raw)}
	}
	var ev domainevent.Event
	err := eachField(raw, path, func(key string, v json.RawMessage) *QueryError {
		field := join(path, key)
		switch key {
		case "name":
			name, err := decodeString(v, field, "empty")
			ev.Name = name
			return err
		case "delivery":
			d, err := decodeString(v, field, "empty; leave the field out to accept any delivery mode")
			if err != nil || d == "" {
				return err
			}
			mode, ok := deliveries[strings.ToLower(d)]
			if !ok {
				return &QueryError{Field: field, Msg: fmt.Sprintf("unknown delivery %q; want durable, fast or broadcast (any case)", d)}
			}
			ev.Mode = mode
			return nil
		}
		return &QueryError{Field: field, Msg: "unknown field; want name or delivery"}
	})
	if err != nil {
		return domainevent.Event{}, err
	}
	if ev.Name == "" {
		return domainevent.Event{}, &QueryError{Field: join(path, "name"), Msg: "required"}
	}
	return ev, nil
}

// notPublished runs NotPublished for each event at once, over one window,
// and joins the failures' reports.
func notPublished(ctx context.Context, d *domainevent.Checker, corr string, events []domainevent.Event, window time.Duration) error {
	errs := make([]error, len(events))
	var wg sync.WaitGroup
	for i, e := range events {
		wg.Go(func() { errs[i] = d.NotPublished(ctx, corr, e.Name, window) })
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return failed[0]
	}
	return &joinedFailure{failed}
}

// joinedFailure is several failures' reports, one after the other.
type joinedFailure struct{ errs []error }

func (j *joinedFailure) Error() string {
	parts := make([]string, len(j.errs))
	for i, e := range j.errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n\n")
}

// As lets errors.As find the first failure, so a joined one is a failure.
func (j *joinedFailure) As(target any) bool {
	if p, ok := target.(**assert.Failure); ok {
		return errors.As(j.errs[0], p)
	}
	return false
}

// exact undoes TRACEPROOF_TIMEOUT_SCALE for a duration a client gave: the
// assert options scale what they are given, for tests on slow machines,
// but a duration that came over the wire already is what the client means
// (a client on a slow machine scales its own). The error is a nanosecond or
// two, which reports round away.
func exact(d time.Duration) time.Duration {
	factor := float64(assert.Scaled(time.Hour)) / float64(time.Hour)
	if factor == 1 {
		return d
	}
	return time.Duration(math.Round(float64(d) / factor))
}
