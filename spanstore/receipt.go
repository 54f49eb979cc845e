package spanstore

import (
	"slices"
	"time"
)

// A Receipt is what one request brought into the store, for a receiver's
// record of its requests (otlpsink's Ledger): the IDs of the spans stored, in
// request order, the service.instance.id values of their resources, and the
// correlation values they carry under the store's keys (on the spans, their
// events and their resources), each value once, in order of appearance.
// Spans rejected for invalid IDs bring nothing. Its slices belong to the
// caller: the store keeps no reference to them; its strings are immutable
// copies that stay valid.
type Receipt struct {
	Spans        []SpanRef
	Instances    []string
	Correlations []string
}

// SpanRef identifies a span by its trace and span IDs.
type SpanRef struct {
	TraceID TraceID
	SpanID  SpanID
}

// IngestProtoReceipt is [Store.IngestProto] that also fills rc with what
// the request brought (its slices are emptied first and reused, so a
// receiver can keep one Receipt for many requests). It is what a receiver that records every
// request calls: the receipt costs a few small allocations, and reading the
// request again to describe it would cost a second decode.
func (st *Store) IngestProtoReceipt(body []byte, origin Origin, rc *Receipt) (IngestResult, error) {
	rc.Spans, rc.Instances, rc.Correlations = rc.Spans[:0], rc.Instances[:0], rc.Correlations[:0]
	res, _, err := st.ingestProtoAt(body, origin, time.Now(), rc)
	return res, err
}

// receipting is the receipt being filled while a request is committed.
// Used only under mu.
type receipting struct {
	rc    *Receipt
	seen  map[string]bool // correlation values, once there are many
	inst  map[uint32]bool // resources whose instance was taken
	first uint32          // the first resource, checked without the map
}

func (r *receipting) start(rc *Receipt) {
	r.rc, r.first = rc, noID
	clear(r.seen)
	clear(r.inst)
}

func (r *receipting) span(rec *spanRec) {
	r.rc.Spans = append(r.rc.Spans, SpanRef{rec.traceID, rec.spanID})
}

// correlation adds v, the index's own copy of a value, once.
func (r *receipting) correlation(v string) {
	c := &r.rc.Correlations
	if r.seen[v] || r.seen == nil && slices.Contains(*c, v) {
		return
	}
	*c = append(*c, v)
	switch {
	case r.seen != nil:
		r.seen[v] = true
	case len(*c) > 16: // a linear search no longer pays
		r.seen = make(map[string]bool, 2*len(*c))
		for _, s := range *c {
			r.seen[s] = true
		}
	}
}

// resource adds the instance of a resource whose spans were stored.
func (r *receipting) resource(st *Store, id uint32) {
	if id == r.first || r.inst[id] {
		return
	}
	if r.first == noID {
		r.first = id
	} else {
		if r.inst == nil {
			r.inst = map[uint32]bool{}
		}
		r.inst[id] = true
	}
	// The store's resources are its own: their strings are no request's.
	v, ok := st.resources[id].res.Attributes.Get("service.instance.id")
	if s := v.AsString(); ok && s != "" && !slices.Contains(r.rc.Instances, s) {
		r.rc.Instances = append(r.rc.Instances, s)
	}
}
