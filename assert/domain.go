package assert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// DomainConfig names the spans and attributes by which a system publishes
// domain events. DefaultDomainConfig has DESIGN.md's names; other systems
// set theirs with the Domain option. Empty fields take the defaults.
//
// The correlation ID is found through the store's correlation keys
// (spanstore.DefaultCorrelationKeys(), which include correlation_id), which
// attach it to whole traces: route_event carries it in a span event,
// publish_event as a span attribute, and publish only through its parent.
type DomainConfig struct {
	// RouteSpan roots each event's trace and says how it is delivered.
	RouteSpan string
	// DurableSpan is RouteSpan's child for durable and broadcast events.
	DurableSpan string
	// FastSpan is RouteSpan's child for fast and broadcast events.
	FastSpan string
	// SendSpan is DurableSpan's child that writes to the queue; failures
	// mention it when a durable publish did not confirm.
	SendSpan string
	// EventNameAttr names the event, on every span above.
	EventNameAttr string
	// DeliveryModeAttr on RouteSpan holds Fast, Durable or Broadcast.
	DeliveryModeAttr string
	// PublishedEvent is the span event on DurableSpan that confirms a
	// durable publish.
	PublishedEvent string
}

// DefaultDomainConfig returns the names of DESIGN.md.
func DefaultDomainConfig() DomainConfig {
	return DomainConfig{
		RouteSpan:        "route_event",
		DurableSpan:      "publish_event",
		FastSpan:         "publish",
		SendSpan:         "send_json_message",
		EventNameAttr:    "event_name",
		DeliveryModeAttr: "delivery_mode",
		PublishedEvent:   "Domain event published successfully",
	}
}

func (cfg DomainConfig) withDefaults() DomainConfig {
	d := DefaultDomainConfig()
	for _, f := range []struct {
		dst *string
		def string
	}{
		{&cfg.RouteSpan, d.RouteSpan}, {&cfg.DurableSpan, d.DurableSpan}, {&cfg.FastSpan, d.FastSpan},
		{&cfg.SendSpan, d.SendSpan}, {&cfg.EventNameAttr, d.EventNameAttr},
		{&cfg.DeliveryModeAttr, d.DeliveryModeAttr}, {&cfg.PublishedEvent, d.PublishedEvent},
	} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	return cfg
}

// Delivery is how a domain event is delivered, as route_event's
// delivery_mode spells it.
type Delivery string

// Delivery modes.
const (
	// DeliveryDurable events go through a queue; they count once their
	// publish_event records "Domain event published successfully".
	DeliveryDurable Delivery = "Durable"
	// DeliveryFast events go through the in-process bus; they count once
	// their publish span exists.
	DeliveryFast Delivery = "Fast"
	// DeliveryBroadcast events go both ways and count once both confirm.
	DeliveryBroadcast Delivery = "Broadcast"
)

// DomainEvent is an event a test expects: a name and, unless empty, the
// delivery mode it must be routed with.
type DomainEvent struct {
	Name string
	Mode Delivery
}

// Fast expects a fast event.
func Fast(name string) DomainEvent { return DomainEvent{name, DeliveryFast} }

// Durable expects a durable event.
func Durable(name string) DomainEvent { return DomainEvent{name, DeliveryDurable} }

// Broadcast expects a broadcast event.
func Broadcast(name string) DomainEvent { return DomainEvent{name, DeliveryBroadcast} }

func (e DomainEvent) String() string {
	if e.Mode == "" {
		return e.Name
	}
	return e.Name + " (" + string(e.Mode) + ")"
}

// PublishedEvent is a domain event proven published.
type PublishedEvent struct {
	Name string
	// Mode is the delivery mode route_event recorded.
	Mode Delivery
	// Route is the route_event span; Publish are the spans that confirm it
	// (publish_event for durable, publish for fast, both for broadcast).
	Route   spanstore.Span
	Publish []spanstore.Span
	// Instance ran the task step that published it.
	Instance string
}

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
func (cfg DomainConfig) analyze(spans []spanstore.Span) (routes []*routed, strays []spanstore.Span) {
	type key struct {
		t spanstore.TraceID
		s spanstore.SpanID
	}
	byID := map[key]*routed{}
	for _, s := range spans {
		if s.Name == cfg.RouteSpan {
			mode, _ := s.Lookup(cfg.DeliveryModeAttr)
			name, _ := s.Lookup(cfg.EventNameAttr)
			r := &routed{name: name.AsString(), mode: Delivery(mode.AsString()), route: s}
			routes = append(routes, r)
			byID[key{s.TraceID, s.SpanID}] = r
		}
	}
	durableRoute := map[key]*routed{}
	for _, s := range spans {
		if s.Name != cfg.DurableSpan && s.Name != cfg.FastSpan {
			continue
		}
		r := byID[key{s.TraceID, s.ParentSpanID}]
		switch {
		case r == nil:
			strays = append(strays, s)
		case s.Name == cfg.DurableSpan:
			r.durable = append(r.durable, s)
			durableRoute[key{s.TraceID, s.SpanID}] = r
		default:
			r.fast = append(r.fast, s)
		}
	}
	for _, s := range spans {
		if s.Name == cfg.SendSpan {
			if r := durableRoute[key{s.TraceID, s.ParentSpanID}]; r != nil {
				r.sends = append(r.sends, s)
			}
		}
	}
	slices.SortStableFunc(routes, func(a, b *routed) int { return byStart(&a.route, &b.route) })
	return routes, strays
}

// confirm applies DESIGN.md's rules: durable counts when publish_event
// recorded the success event, fast when publish exists, broadcast when both.
// A route without a delivery mode is judged by the mode expected, or by
// either rule when none is.
func (cfg DomainConfig) confirm(r *routed, want Delivery) ([]spanstore.Span, string) {
	mode := r.mode
	if mode == "" {
		mode = want
	}
	d, dwhy := cfg.durableOK(r)
	f, fwhy := cfg.fastOK(r)
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

func (cfg DomainConfig) durableOK(r *routed) ([]spanstore.Span, string) {
	for _, d := range r.durable {
		if d.HasEvent(cfg.PublishedEvent) {
			return []spanstore.Span{d}, ""
		}
	}
	if len(r.durable) == 0 {
		return nil, "no " + cfg.DurableSpan + " received"
	}
	d := r.durable[len(r.durable)-1]
	why := fmt.Sprintf("its %s recorded no %s (%s", cfg.DurableSpan, quote(cfg.PublishedEvent),
		seenEventsAndStatus(d))
	switch {
	case len(r.sends) == 0:
		why += "; no " + cfg.SendSpan + " under it"
	default:
		s := r.sends[len(r.sends)-1]
		why += "; " + cfg.SendSpan + " status " + s.Status.Code.String()
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

func (cfg DomainConfig) fastOK(r *routed) ([]spanstore.Span, string) {
	if len(r.fast) == 0 {
		return nil, "no " + cfg.FastSpan + " child received"
	}
	return r.fast[:1], ""
}

// verdict is one look at a correlation's domain events.
type verdict struct {
	published []PublishedEvent // in the order expected; zero Name when not (yet) published
	lines     []string
	confirmed int
	final     []string // problems no later span can fix: extras, duplicates, wrong modes
}

func (cfg DomainConfig) judge(want []DomainEvent, routes []*routed, strays []spanstore.Span, strict bool) verdict {
	var v verdict
	v.published = make([]PublishedEvent, len(want))
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
			}
			line := fmt.Sprintf("✗ %s: published %d times, expected once: %s", e, len(cands), strings.Join(occ, ", "))
			v.lines = append(v.lines, line)
			v.final = append(v.final, "duplicated")
			continue
		}
		if strict && len(cands) == 1 && !ok(cands[0]) {
			v.lines = append(v.lines, fmt.Sprintf("✗ %s: routed as %s on %s", e, cands[0].mode, cands[0].where()))
			v.final = append(v.final, "routed with the wrong mode")
			continue
		}
		var why string
		for _, r := range cands {
			if !ok(r) {
				why = fmt.Sprintf("routed as %s on %s", r.mode, r.where())
				continue
			}
			pub, w := cfg.confirm(r, e.Mode)
			if pub == nil {
				why = fmt.Sprintf("routed on %s, but %s", r.where(), w)
				continue
			}
			mode := r.mode
			if mode == "" {
				mode = e.Mode
			}
			v.published[i] = PublishedEvent{Name: e.Name, Mode: mode, Route: r.route, Publish: pub, Instance: r.route.Instance()}
			break
		}
		if v.published[i].Name != "" {
			v.confirmed++
			r := v.published[i].Route
			v.lines = append(v.lines, fmt.Sprintf("✓ %s: published on %s at %s", e, r.Instance(), clock(r.Start)))
			continue
		}
		if why == "" {
			why = "not routed (no " + cfg.RouteSpan + " with " + cfg.EventNameAttr + " " + quote(e.Name) + ")"
			for _, s := range strays {
				if n, _ := s.Lookup(cfg.EventNameAttr); n.AsString() == e.Name {
					why = fmt.Sprintf("%s arrived from %s at %s, but its %s has not", s.Name, s.Instance(), clock(s.Start), cfg.RouteSpan)
					break
				}
			}
		}
		v.lines = append(v.lines, fmt.Sprintf("✗ %s: %s", e, why))
	}
	if strict {
		for _, r := range routes {
			if !slices.ContainsFunc(want, func(e DomainEvent) bool { return e.Name == r.name }) {
				ev := DomainEvent{r.name, r.mode}
				v.lines = append(v.lines, fmt.Sprintf("✗ unexpected: %s routed on %s", ev, r.where()))
				v.final = append(v.final, "unexpected")
			}
		}
	}
	return v
}

func (v verdict) summary(n int) string {
	s := fmt.Sprintf("%d of %d published", v.confirmed, n)
	counts := map[string]int{}
	var order []string
	for _, f := range v.final {
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

// Published proves that the task of correlationID published exactly these
// domain events, each once, with the delivery modes given: it waits until
// each is confirmed by DESIGN.md's rules, then watches for the settle window.
// It fails as soon as an event not listed is routed, one is routed twice
// (naming the instances and times) or with the wrong mode. It returns the
// events in the order listed.
func (c *Checker) Published(ctx context.Context, correlationID string, events ...DomainEvent) ([]PublishedEvent, error) {
	return c.published(ctx, correlationID, events, true)
}

// Includes proves that the task of correlationID published at least these
// domain events, with the modes given; others and repeats are allowed. It
// returns as soon as all are confirmed.
func (c *Checker) Includes(ctx context.Context, correlationID string, events ...DomainEvent) ([]PublishedEvent, error) {
	return c.published(ctx, correlationID, events, false)
}

func (c *Checker) published(ctx context.Context, id string, want []DomainEvent, strict bool) ([]PublishedEvent, error) {
	for i, e := range want {
		if slices.ContainsFunc(want[:i], func(o DomainEvent) bool { return o.Name == e.Name }) {
			return nil, errors.New("assert: domain event " + quote(e.Name) + " listed twice")
		}
	}
	cfg := c.domain
	w := c.begin(ctx)
	defer w.cancel()
	names := make([]string, len(want))
	for i, e := range want {
		names[i] = e.String()
	}
	asked := fmt.Sprintf("correlation %s to publish exactly these domain events, once each: %s (waiting up to %s, then %s for extras)",
		quote(id), strings.Join(names, ", "), round(w.limit), round(c.settle))
	if !strict {
		asked = fmt.Sprintf("correlation %s to publish at least these domain events: %s, within %s",
			quote(id), strings.Join(names, ", "), round(w.limit))
	}
	var v verdict
	fail := func(found string) error {
		return c.fail(newView(c.src), w, report{asked: asked, found: found, details: v.lines, corr: id})
	}
	err := c.waitThenSettle(w, settleRules{
		look: func(s settling) (<-chan struct{}, bool, error) {
			ch := c.src.Changed(spanstore.Filter{Correlation: id})
			spans := c.src.Spans(spanstore.Filter{Correlation: id})
			routes, strays := cfg.analyze(spans)
			v = cfg.judge(want, routes, strays, strict)
			if len(v.final) > 0 {
				found := v.summary(len(want))
				if s.open() {
					found += "; " + s.extraArrived()
				}
				return ch, false, fail(found)
			}
			return ch, v.confirmed == len(want), nil
		},
		ended: func(s settling) error {
			if s.open() {
				return fail(fmt.Sprintf("%s, but the context ended during the settle window (%v)", v.summary(len(want)), context.Cause(w.parent)))
			}
			return fail(v.summary(len(want)) + " " + w.ended())
		},
		extrasAllowed: !strict,
	})
	return v.published, err
}

// NotPublished proves that the task of correlationID published no event
// named event within window (scaled by TRACEPROOF_TIMEOUT_SCALE): no span of
// the correlation carries it as its event name, so neither a route nor a
// publish attempt counts as absent.
func (c *Checker) NotPublished(ctx context.Context, correlationID, event string, window time.Duration) error {
	q := Spans().Correlated(correlationID).Attr(c.domain.EventNameAttr, event)
	err := c.Never(ctx, q, window)
	var f *Failure
	if errors.As(err, &f) {
		f.Asked = fmt.Sprintf("correlation %s not to publish %s within %s", quote(correlationID), quote(event), round(Scaled(window)))
	}
	return err
}
