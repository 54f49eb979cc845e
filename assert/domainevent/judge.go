package domainevent

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/spanstore"
)

// routed is one route_event of a correlation and what hangs under it.
type routed struct {
	name    string
	mode    Delivery
	route   spanstore.Span
	durable []spanstore.Span
	fast    []spanstore.Span
	sends   []spanstore.Span
}

func (r *routed) where() string {
	return fmt.Sprintf("%s at %s", r.route.Instance(), clock(r.route.Start))
}

// analyze groups a correlation's spans by route. strays are publish spans
// whose route_event has not arrived (spans of one trace may come in
// different export batches).
func (n Names) analyze(spans []spanstore.Span) (routes []*routed, strays []spanstore.Span) {
	type key struct {
		t spanstore.TraceID
		s spanstore.SpanID
	}
	byID := map[key]*routed{}
	for _, s := range spans {
		if s.Name == n.RouteSpan {
			mode, _ := s.Lookup(n.DeliveryModeAttr)
			name, _ := s.Lookup(n.EventNameAttr)
			r := &routed{name: name.AsString(), mode: Delivery(mode.AsString()), route: s}
			routes = append(routes, r)
			byID[key{s.TraceID, s.SpanID}] = r
		}
	}
	durableRoute := map[key]*routed{}
	for _, s := range spans {
		if s.Name != n.DurableSpan && s.Name != n.FastSpan {
			continue
		}
		r := byID[key{s.TraceID, s.ParentSpanID}]
		switch {
		case r == nil:
			strays = append(strays, s)
		case s.Name == n.DurableSpan:
			r.durable = append(r.durable, s)
			durableRoute[key{s.TraceID, s.SpanID}] = r
		default:
			r.fast = append(r.fast, s)
		}
	}
	for _, s := range spans {
		if s.Name == n.SendSpan {
			if r := durableRoute[key{s.TraceID, s.ParentSpanID}]; r != nil {
				r.sends = append(r.sends, s)
			}
		}
	}
	slices.SortStableFunc(routes, func(a, b *routed) int {
		return cmp.Or(a.route.Start.Compare(b.route.Start), cmp.Compare(a.route.Seq, b.route.Seq))
	})
	return routes, strays
}

// confirm applies DESIGN.md's rules: durable counts when publish_event
// recorded the success event, fast when publish exists, broadcast when both.
// A route without a delivery mode is judged by the mode expected, or by
// either rule when none is.
func (n Names) confirm(r *routed, want Delivery) ([]spanstore.Span, string) {
	mode := r.mode
	if mode == "" {
		mode = want
	}
	d, dwhy := n.durableOK(r)
	f, fwhy := n.fastOK(r)
	switch mode {
	case DeliveryDurable:
		return d, dwhy
	case DeliveryFast:
		return f, fwhy
	case DeliveryBroadcast:
		if d == nil || f == nil {
			return nil, strings.Trim(dwhy+"; "+fwhy, "; ")
		}
		return append(d, f...), ""
	}
	if d != nil || f != nil {
		return append(d, f...), ""
	}
	return nil, dwhy + "; " + fwhy
}

func (n Names) durableOK(r *routed) ([]spanstore.Span, string) {
	for _, d := range r.durable {
		if d.HasEvent(n.PublishedEvent) {
			return []spanstore.Span{d}, ""
		}
	}
	if len(r.durable) == 0 {
		return nil, "no " + n.DurableSpan + " received"
	}
	d := r.durable[len(r.durable)-1]
	why := fmt.Sprintf("its %s recorded no %s (%s", n.DurableSpan, quote(n.PublishedEvent), seenEventsAndStatus(d))
	switch {
	case len(r.sends) == 0:
		why += "; no " + n.SendSpan + " under it"
	default:
		s := r.sends[len(r.sends)-1]
		why += "; " + n.SendSpan + " status " + s.Status.Code.String()
		if s.Status.Message != "" {
			why += " " + quote(s.Status.Message)
		}
	}
	return nil, why + ")"
}

func seenEventsAndStatus(s spanstore.Span) string {
	var names []string
	for _, e := range s.Events {
		names = append(names, quote(e.Name))
	}
	out := "events: none"
	if len(names) > 0 {
		out = "events: " + strings.Join(names, ", ")
	}
	if s.Status.Code == spanstore.StatusError {
		out += "; status Error"
		if s.Status.Message != "" {
			out += " " + quote(s.Status.Message)
		}
	}
	return out
}

func (n Names) fastOK(r *routed) ([]spanstore.Span, string) {
	if len(r.fast) == 0 {
		return nil, "no " + n.FastSpan + " child received"
	}
	return r.fast[:1], ""
}

// verdict is one look at a correlation's domain events: a status line per
// expected event, in the order expected, then the problems of the events no
// one expected.
type verdict struct {
	proofs    []Proof // in the order expected; zero Name when not published in time
	lines     []string
	named     []spanstore.Span
	confirmed int // published, in time or not
	late      int
	arrived   int // expected events no later span can change: confirmed, duplicated or routed with the wrong mode

	problems []string // "unexpected", "duplicated", ...: one per problem
}

// judge gives each expected event one status: published (with instance and
// time), arrived after the deadline (saying when), routed but not confirmed,
// or not routed; with strict, it also names events routed twice, with the
// wrong mode, or not expected at all, with "did you mean" hints where a seen
// name is close to a missing one. deadline is zero while waiting: nothing is
// late then.
func (n Names) judge(want []Event, spans []spanstore.Span, deadline time.Time, strict bool) verdict {
	routes, strays := n.analyze(spans)
	var v verdict
	v.proofs = make([]Proof, len(want))
	var missing []string
	for i, e := range want {
		var cands []*routed
		for _, r := range routes {
			if r.name == e.Name {
				cands = append(cands, r)
			}
		}
		ok := func(r *routed) bool { return e.Mode == "" || r.mode == "" || r.mode == e.Mode }
		if strict && len(cands) > 1 {
			occ := make([]string, len(cands))
			for j, r := range cands {
				occ[j] = r.where()
				v.named = append(v.named, r.route)
			}
			v.lines = append(v.lines, fmt.Sprintf("✗ %s: published %d times, expected once: %s", e, len(cands), strings.Join(occ, ", ")))
			v.problems = append(v.problems, "duplicated")
			v.arrived++
			continue
		}
		if strict && len(cands) == 1 && !ok(cands[0]) {
			v.lines = append(v.lines, fmt.Sprintf("✗ %s: routed as %s on %s", e, cands[0].mode, cands[0].where()))
			v.named = append(v.named, cands[0].route)
			v.problems = append(v.problems, "routed with the wrong mode")
			v.arrived++
			continue
		}
		var why string
		for _, r := range cands {
			if !ok(r) {
				why = fmt.Sprintf("routed as %s on %s", r.mode, r.where())
				continue
			}
			pub, w := n.confirm(r, e.Mode)
			if pub == nil {
				why = fmt.Sprintf("routed on %s, but %s", r.where(), w)
				v.named = append(v.named, r.route)
				continue
			}
			mode := r.mode
			if mode == "" {
				mode = e.Mode
			}
			v.proofs[i] = Proof{Name: e.Name, Mode: mode, Route: r.route, Publish: pub, Instance: r.route.Instance()}
			break
		}
		if p := v.proofs[i]; p.Name != "" {
			v.confirmed++
			v.arrived++
			if at := lastReceived(p); !deadline.IsZero() && at.After(deadline) {
				v.late++
				v.proofs[i] = Proof{}
				v.named = append(v.named, p.Route)
				v.lines = append(v.lines, fmt.Sprintf("✗ %s: arrived after the deadline: published on %s at %s, received %s after the wait ended",
					e, p.Instance, clock(p.Route.Start), round(at.Sub(deadline))))
				continue
			}
			v.lines = append(v.lines, fmt.Sprintf("✓ %s: published on %s at %s", e, p.Instance, clock(p.Route.Start)))
			continue
		}
		if why == "" {
			why = "not routed (no " + n.RouteSpan + " with " + n.EventNameAttr + " " + quote(e.Name) + ")"
			for _, s := range strays {
				if nv, _ := s.Lookup(n.EventNameAttr); nv.AsString() == e.Name {
					why = fmt.Sprintf("%s arrived from %s at %s, but its %s has not", s.Name, s.Instance(), clock(s.Start), n.RouteSpan)
					v.named = append(v.named, s)
					break
				}
			}
			missing = append(missing, e.Name)
		}
		v.lines = append(v.lines, fmt.Sprintf("✗ %s: %s", e, why))
	}
	if strict {
		for _, r := range routes {
			if !slices.ContainsFunc(want, func(e Event) bool { return e.Name == r.name }) {
				line := fmt.Sprintf("✗ unexpected: %s routed on %s", Event{r.name, r.mode}, r.where())
				if hint := assert.DidYouMean("event", r.name, missing); hint != "" {
					line += "; " + strings.Replace(hint, "did you mean event", "was it meant to be", 1)
				}
				v.lines = append(v.lines, line)
				v.named = append(v.named, r.route)
				v.problems = append(v.problems, "unexpected")
			}
		}
	} else {
		var seen []string
		for _, r := range routes {
			seen = append(seen, r.name)
		}
		for _, m := range missing {
			if hint := assert.DidYouMean("event", m, seen); hint != "" {
				v.lines = append(v.lines, fmt.Sprintf("  %s: %s", m, hint))
			}
		}
	}
	return v
}

// summary is the verdict's one line: "2 of 3 published, 1 unexpected".
func (v verdict) summary(n int) string {
	s := fmt.Sprintf("%d of %d published", v.confirmed-v.late, n)
	if v.late > 0 {
		s += fmt.Sprintf(" in time (%d more after the deadline)", v.late)
	}
	counts := map[string]int{}
	var order []string
	for _, f := range v.problems {
		if counts[f] == 0 {
			order = append(order, f)
		}
		counts[f]++
	}
	for _, f := range order {
		s += fmt.Sprintf(", %d %s", counts[f], f)
	}
	return s
}

// lastReceived is when the last span a proof rests on arrived.
func lastReceived(p Proof) time.Time {
	t := p.Route.Received
	for _, s := range p.Publish {
		if s.Received.After(t) {
			t = s.Received
		}
	}
	return t
}

func quote(s string) string { return strconv.Quote(s) }

// clock is a wall-clock time to the millisecond, the resolution at which
// instances' clocks can be compared at all.
func clock(t time.Time) string { return t.Format("15:04:05.000") }

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
