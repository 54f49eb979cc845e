package spanstore

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/traceproof/traceproof/internal/english"
)

// Stats is a snapshot of what a store, and the receiver in front of it,
// received, refused and evicted. Failure output prints it, so a missing span
// can be told apart from a quiet instance, a refused request or an evicted
// one. A bare Store fills the span counts; a receiver (otlpsink.Sink, a
// remote traceproof serve) adds what it turned away before decoding.
type Stats struct {
	// Stored is the number of spans held now.
	Stored int
	// Spans counts spans accepted since start; Requests counts export
	// requests (of any signal) that decoded.
	Spans    uint64
	Requests uint64
	// Rejected counts spans dropped for invalid (all-zero) IDs.
	Rejected uint64
	// Evicted counts spans dropped because the store was over its cap.
	Evicted uint64
	// DecodeErrors counts requests whose body did not decode.
	DecodeErrors uint64
	// Refused counts requests turned away before decoding, by reason:
	// "unauthenticated", "too large", "content type", "method", ...
	Refused map[string]uint64
	// UnknownPaths counts HTTP requests to paths the receiver does not
	// serve, by path: an OTLP/HTTP exporter posting to "/" instead of
	// "/v1/traces" shows up here.
	UnknownPaths map[string]uint64
	// MetricPoints and LogRecords count the other signals, which the sink
	// accepts and counts but does not store.
	MetricPoints uint64
	LogRecords   uint64
	// ByTransport counts requests by "transport/encoding", e.g. "grpc/proto".
	ByTransport map[string]uint64
	// Senders has one entry per peer address, Instances one per emitting
	// process (service.instance.id, else host.name, else peer address).
	Senders   []SenderStats
	Instances []InstanceStats
	// LastErrors holds the most recent error messages sent back to clients.
	LastErrors []string
	// Correlations are the newest correlation values held (up to 20,
	// newest first), so that a report about a correlation that never
	// arrived can say which did.
	Correlations []string
	// Endpoints are where a receiver listens ("grpc 127.0.0.1:4317",
	// "http http://127.0.0.1:4318"), for reports that must tell a user
	// where to point an exporter.
	Endpoints []string
	// Faults counts the requests each fault rule of a receiver answered, by
	// rule ("rule 1 (grpc first=2 -> unavailable)"), so that a report shows
	// when the sink itself refused what a test waits for.
	Faults map[string]uint64
}

// SenderStats describes one peer address.
type SenderStats struct {
	Sender   string
	Requests uint64
	Spans    uint64
	LastSeen time.Time
}

// InstanceStats describes one emitting process.
type InstanceStats struct {
	Instance string
	Service  string
	Spans    uint64
	// Requests counts the export requests that carried its spans.
	Requests uint64
	LastSeen time.Time
	// MaxGap is the longest silence seen between two of its requests: its
	// own export cadence, so that a report calls it quiet only when it has
	// been silent for longer than it usually is.
	MaxGap time.Duration
}

// compareRuleLabels orders Faults' keys ("rule 2 (...)" before "rule 10
// (...)") by their rule number, then as strings.
func compareRuleLabels(a, b string) int {
	num := func(s string) int {
		n := 0
		for _, c := range strings.TrimPrefix(s, "rule ") {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	return cmp.Or(cmp.Compare(num(a), num(b)), strings.Compare(a, b))
}

// RefusedTotal sums Refused.
func (s Stats) RefusedTotal() uint64 {
	var n uint64
	for _, v := range s.Refused {
		n += v
	}
	return n
}

// WriteTo renders the stats for humans, newest-first senders last seen.
func (s Stats) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "sink: %s stored, %d accepted in %s; %d evicted, %d rejected (invalid IDs), %d decode errors, %d refused",
		english.Plural(s.Stored, "span"), s.Spans, english.Plural(int(s.Requests), "request"), s.Evicted, s.Rejected, s.DecodeErrors, s.RefusedTotal())
	if len(s.Refused) > 0 {
		b.WriteString(" (")
		for i, k := range slices.Sorted(maps.Keys(s.Refused)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %d", k, s.Refused[k])
		}
		b.WriteString(")")
	}
	if s.MetricPoints+s.LogRecords > 0 {
		fmt.Fprintf(&b, "; %d metric points, %d log records", s.MetricPoints, s.LogRecords)
	}
	b.WriteString("\n")
	for _, k := range slices.SortedFunc(maps.Keys(s.Faults), compareRuleLabels) {
		fmt.Fprintf(&b, "  fault %s answered %s\n", k, english.Plural(int(s.Faults[k]), "request"))
	}
	now := time.Now()
	for _, in := range s.Instances {
		fmt.Fprintf(&b, "  instance %-24s service %-16s %s, last seen %s ago\n",
			in.Instance, in.Service, english.Plural(int(in.Spans), "span"), now.Sub(in.LastSeen).Round(time.Millisecond))
	}
	for _, e := range s.LastErrors {
		fmt.Fprintf(&b, "  recent error: %s\n", e)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// String is WriteTo into a string.
func (s Stats) String() string {
	var b strings.Builder
	_, _ = s.WriteTo(&b)
	return b.String()
}

const lastErrorsKept = 10

// statsCounters is the mutable side of Stats, guarded by Store.mu.
type statsCounters struct {
	spans, requests, rejected, evicted uint64
	byTransport                        map[string]uint64
	senders                            map[string]*SenderStats
	instances                          map[string]*InstanceStats
	lastErrors                         []string
}

func (c *statsCounters) init() {
	c.byTransport = make(map[string]uint64)
	c.senders = make(map[string]*SenderStats)
	c.instances = make(map[string]*InstanceStats)
}

func (c *statsCounters) request(o Origin, accepted, rejected int, now time.Time) {
	c.requests++
	c.spans += uint64(accepted)
	c.rejected += uint64(rejected)
	c.byTransport[transportKey(o)]++
	s := c.senders[o.Sender]
	if s == nil {
		s = &SenderStats{Sender: o.Sender}
		c.senders[o.Sender] = s
	}
	s.Requests++
	s.Spans += uint64(accepted)
	s.LastSeen = now
}

// transportKey is o's ByTransport key, without an allocation for the
// transports a receiver sees on every request.
func transportKey(o Origin) string {
	switch {
	case o.Transport == TransportGRPC && o.Encoding == EncodingProto:
		return "grpc/proto"
	case o.Transport == TransportHTTP && o.Encoding == EncodingProto:
		return "http/proto"
	case o.Transport == TransportHTTP && o.Encoding == EncodingJSON:
		return "http/json"
	}
	return string(o.Transport) + "/" + string(o.Encoding)
}

func (c *statsCounters) instance(r Resource, sender string, spans int, now time.Time) {
	name := Span{Resource: r, Origin: Origin{Sender: sender}}.Instance()
	in := c.instances[name]
	if in == nil {
		in = &InstanceStats{Instance: name, Service: r.Attributes.Str("service.name")}
		c.instances[name] = in
	}
	in.Spans += uint64(spans)
	if in.Requests > 0 {
		in.MaxGap = max(in.MaxGap, now.Sub(in.LastSeen))
	}
	in.Requests++
	in.LastSeen = now
}

func (c *statsCounters) errorSent(msg string) {
	if len(c.lastErrors) == lastErrorsKept {
		c.lastErrors = c.lastErrors[1:]
	}
	c.lastErrors = append(c.lastErrors, msg)
}

// Stats returns a snapshot of the counters.
func (st *Store) Stats() Stats {
	st.mu.RLock()
	defer st.mu.RUnlock()
	c := &st.stats
	s := Stats{
		Stored:      int(st.next - st.head),
		Spans:       c.spans,
		Requests:    c.requests,
		Rejected:    c.rejected,
		Evicted:     c.evicted,
		ByTransport: make(map[string]uint64, len(c.byTransport)),
		LastErrors:  slices.Clone(c.lastErrors),
	}
	for k, v := range c.byTransport {
		s.ByTransport[k] = v
	}
	s.Correlations = st.newestCorrelations(maxCorrelationsInStats)
	for _, v := range c.senders {
		s.Senders = append(s.Senders, *v)
	}
	for _, v := range c.instances {
		s.Instances = append(s.Instances, *v)
	}
	slices.SortFunc(s.Senders, func(a, b SenderStats) int { return a.LastSeen.Compare(b.LastSeen) })
	slices.SortFunc(s.Instances, func(a, b InstanceStats) int {
		return cmp.Or(a.LastSeen.Compare(b.LastSeen), cmp.Compare(a.Instance, b.Instance))
	})
	return s
}

// MergeSender adds a receiver's count of one sender's requests (of signals
// the store does not see) to the stats, keeping Senders ordered by last seen.
func (s *Stats) MergeSender(o SenderStats) {
	i := slices.IndexFunc(s.Senders, func(x SenderStats) bool { return x.Sender == o.Sender })
	if i < 0 {
		s.Senders = append(s.Senders, o)
	} else {
		x := &s.Senders[i]
		x.Requests += o.Requests
		x.Spans += o.Spans
		if o.LastSeen.After(x.LastSeen) {
			x.LastSeen = o.LastSeen
		}
	}
	slices.SortFunc(s.Senders, func(a, b SenderStats) int { return a.LastSeen.Compare(b.LastSeen) })
}

const maxCorrelationsInStats = 20

// newestCorrelations returns up to n correlation values held, newest first.
// Caller holds mu.
func (st *Store) newestCorrelations(n int) []string {
	ces := make([]*corrEntry, 0, len(st.corr))
	for _, ce := range st.corr {
		ces = append(ces, ce)
	}
	slices.SortFunc(ces, func(a, b *corrEntry) int { return cmp.Compare(b.first, a.first) })
	out := make([]string, 0, min(n, len(ces)))
	for _, ce := range ces[:min(n, len(ces))] {
		out = append(out, ce.key)
	}
	return out
}
