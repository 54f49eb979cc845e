package otlpsink

import (
	"maps"
	"sync"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// receiverCounters count what never reaches the store: requests refused or
// undecodable, requests to unknown paths, and the metrics and logs the sink
// accepts but does not keep.
type receiverCounters struct {
	mu           sync.Mutex
	decodeErrors uint64
	refusedBy    map[string]uint64
	unknownPaths map[string]uint64
	metricPoints uint64
	logRecords   uint64
	// others counts metrics and logs requests by "transport/encoding" and
	// by sender, so that Stats shows a sender that exports only those.
	others     map[string]uint64
	senders    map[string]*spanstore.SenderStats
	lastErrors []string
	// onRefused are the WithOnRefused callbacks, set once by init.
	onRefused []func(Refusal)
}

const lastErrorsKept = 10

func (c *receiverCounters) init(onRefused []func(Refusal)) {
	c.onRefused = onRefused
	c.refusedBy = map[string]uint64{}
	c.unknownPaths = map[string]uint64{}
	c.others = map[string]uint64{}
	c.senders = map[string]*spanstore.SenderStats{}
}

func (c *receiverCounters) errorSent(msg string) {
	if len(c.lastErrors) == lastErrorsKept {
		c.lastErrors = c.lastErrors[1:]
	}
	c.lastErrors = append(c.lastErrors, msg)
}

// refused records a request turned away before decoding.
func (c *receiverCounters) refused(at site, reason, msg string) {
	c.mu.Lock()
	c.refusedBy[reason]++
	c.errorSent(msg)
	c.mu.Unlock()
	c.notify(at, reason, msg)
}

// decodeError records a request whose body did not decode.
func (c *receiverCounters) decodeError(at site, msg string) {
	c.mu.Lock()
	c.decodeErrors++
	c.errorSent(msg)
	c.mu.Unlock()
	c.notify(at, ReasonDecode, msg)
}

// unknownPath records a request to an HTTP path or gRPC method no signal is
// served on, counted by path.
func (c *receiverCounters) unknownPath(at site, msg string) {
	c.mu.Lock()
	c.unknownPaths[at.path]++
	c.errorSent(msg)
	c.mu.Unlock()
	c.notify(at, ReasonUnknownPath, msg)
}

// other records a metrics or logs request.
func (c *receiverCounters) other(o spanstore.Origin, metricPoints, logRecords int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.metricPoints += uint64(metricPoints)
	c.logRecords += uint64(logRecords)
	c.others[string(o.Transport)+"/"+string(o.Encoding)]++
	s := c.senders[o.Sender]
	if s == nil {
		s = &spanstore.SenderStats{Sender: o.Sender}
		c.senders[o.Sender] = s
	}
	s.Requests++
	s.LastSeen = time.Now()
}

// Stats returns the store's counts with what the receiver turned away, the
// requests to unknown paths, and the metrics and logs it counted.
func (s *Sink) Stats() spanstore.Stats {
	st := s.store.Stats()
	c := &s.recv
	c.mu.Lock()
	defer c.mu.Unlock()
	st.DecodeErrors = c.decodeErrors
	st.Refused = maps.Clone(c.refusedBy)
	st.UnknownPaths = maps.Clone(c.unknownPaths)
	st.MetricPoints = c.metricPoints
	st.LogRecords = c.logRecords
	for k, n := range c.others {
		st.Requests += n
		st.ByTransport[k] += n
	}
	for _, o := range c.senders {
		st.MergeSender(*o)
	}
	if a := s.GRPCAddr(); a != "" {
		st.Endpoints = append(st.Endpoints, "grpc "+a)
	}
	if u := s.HTTPURL(); u != "" {
		st.Endpoints = append(st.Endpoints, "http "+u)
	}
	st.Faults = s.fault.faultCounts()
	st.LastErrors = append(st.LastErrors, c.lastErrors...)
	if n := len(st.LastErrors); n > lastErrorsKept {
		st.LastErrors = st.LastErrors[n-lastErrorsKept:]
	}
	return st
}
