package remote

import (
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// statsJSON is the answer of GET /api/v1/stats: spanstore.Stats in
// snake_case, durations as Go duration strings, times in RFC 3339 with
// nanoseconds, plus the keys the store correlates by.
//
//	{"stored": 7, "spans": 7, "requests": 3, "rejected": 0, "evicted": 0, "decode_errors": 0,
//	 "refused": {"unauthenticated": 1}, "unknown_paths": {"/": 2}, "metric_points": 0, "log_records": 0,
//	 "by_transport": {"grpc/proto": 3},
//	 "senders": [{"sender": "127.0.0.1:50312", "requests": 3, "spans": 7, "last_seen": "…"}],
//	 "instances": [{"instance": "worker-rust-1", "service": "tasker-core", "spans": 7, "requests": 3, "last_seen": "…", "max_gap": "101ms"}],
//	 "last_errors": [], "correlations": ["order-A1"], "endpoints": ["grpc 127.0.0.1:4317", "http http://127.0.0.1:4318"],
//	 "correlation_keys": ["correlation_id", "task_uuid"]}
type statsJSON struct {
	Stored          int               `json:"stored"`
	Spans           uint64            `json:"spans"`
	Requests        uint64            `json:"requests"`
	Rejected        uint64            `json:"rejected"`
	Evicted         uint64            `json:"evicted"`
	DecodeErrors    uint64            `json:"decode_errors"`
	Refused         map[string]uint64 `json:"refused"`
	UnknownPaths    map[string]uint64 `json:"unknown_paths"`
	MetricPoints    uint64            `json:"metric_points"`
	LogRecords      uint64            `json:"log_records"`
	ByTransport     map[string]uint64 `json:"by_transport"`
	Senders         []senderJSON      `json:"senders"`
	Instances       []instanceJSON    `json:"instances"`
	LastErrors      []string          `json:"last_errors"`
	Correlations    []string          `json:"correlations"`
	Endpoints       []string          `json:"endpoints"`
	CorrelationKeys []string          `json:"correlation_keys"`
}

type senderJSON struct {
	Sender   string    `json:"sender"`
	Requests uint64    `json:"requests"`
	Spans    uint64    `json:"spans"`
	LastSeen time.Time `json:"last_seen"`
}

type instanceJSON struct {
	Instance string    `json:"instance"`
	Service  string    `json:"service"`
	Spans    uint64    `json:"spans"`
	Requests uint64    `json:"requests"`
	LastSeen time.Time `json:"last_seen"`
	MaxGap   string    `json:"max_gap"`
}

func toStatsJSON(s spanstore.Stats, keys []string) statsJSON {
	j := statsJSON{
		Stored: s.Stored, Spans: s.Spans, Requests: s.Requests, Rejected: s.Rejected, Evicted: s.Evicted,
		DecodeErrors: s.DecodeErrors, Refused: nonNilMap(s.Refused), UnknownPaths: nonNilMap(s.UnknownPaths),
		MetricPoints: s.MetricPoints, LogRecords: s.LogRecords, ByTransport: nonNilMap(s.ByTransport),
		Senders: []senderJSON{}, Instances: []instanceJSON{},
		LastErrors: nonNil(s.LastErrors), Correlations: nonNil(s.Correlations), Endpoints: nonNil(s.Endpoints),
		CorrelationKeys: nonNil(keys),
	}
	for _, x := range s.Senders {
		j.Senders = append(j.Senders, senderJSON(x))
	}
	for _, x := range s.Instances {
		j.Instances = append(j.Instances, instanceJSON{x.Instance, x.Service, x.Spans, x.Requests, x.LastSeen, x.MaxGap.String()})
	}
	return j
}

// stats turns the answer back into spanstore.Stats, for failure reports
// that a [Source] feeds.
func (j statsJSON) stats() spanstore.Stats {
	s := spanstore.Stats{
		Stored: j.Stored, Spans: j.Spans, Requests: j.Requests, Rejected: j.Rejected, Evicted: j.Evicted,
		DecodeErrors: j.DecodeErrors, Refused: j.Refused, UnknownPaths: j.UnknownPaths,
		MetricPoints: j.MetricPoints, LogRecords: j.LogRecords, ByTransport: j.ByTransport,
		LastErrors: j.LastErrors, Correlations: j.Correlations, Endpoints: j.Endpoints,
	}
	for _, x := range j.Senders {
		s.Senders = append(s.Senders, spanstore.SenderStats(x))
	}
	for _, x := range j.Instances {
		gap, _ := time.ParseDuration(x.MaxGap) // the server writes what it parses; "" is 0
		s.Instances = append(s.Instances, spanstore.InstanceStats{
			Instance: x.Instance, Service: x.Service, Spans: x.Spans, Requests: x.Requests, LastSeen: x.LastSeen, MaxGap: gap,
		})
	}
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	return m
}
