//go:build interop

package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traceproof/traceproof/otlpsink"
	"github.com/traceproof/traceproof/spanstore"
)

// What node/send.js emits; see the domain-event table in DESIGN.md.
const (
	service      = "tasker-core"
	namespace    = "domain_events_node"
	eventName    = "payment.processed"
	deliveryMode = "Durable"
	queue        = namespace + "_domain_events"
	scopeName    = "traceproof-interop"
	scopeVersion = "1.0.0"
	maxSafeInt   = 1<<53 - 1 // Number.MAX_SAFE_INTEGER
)

// The span names of one domain event, root first.
var spanNames = []string{"route_event", "publish_event", "send_json_message"}

// sent is the line send.js prints once its export succeeded: the IDs the
// JavaScript SDK generated, to compare with what the sink decoded.
type sent struct {
	Protocol string            `json:"protocol"`
	TraceID  string            `json:"traceId"`
	SpanIDs  map[string]string `json:"spanIds"`
	TaskUUID string            `json:"taskUuid"`
	EventID  string            `json:"eventId"`
}

// run is one finished `node send.js`.
type run struct {
	sent
	exitCode      int
	stderr        string
	before, after time.Time // around the process's life
}

// TestNodeSDKEveryTransport sends one domain-event trace per protocol and
// compression with the OpenTelemetry JavaScript SDK, configured the way real
// workers are: only through the environment Sink.ExporterEnv returns.
func TestNodeSDKEveryTransport(t *testing.T) {
	cases := []struct {
		protocol otlpsink.Protocol
		gzip     bool
		want     spanstore.Origin
	}{
		{otlpsink.ProtocolHTTPJSON, false, spanstore.Origin{Transport: spanstore.TransportHTTP, Encoding: spanstore.EncodingJSON}},
		{otlpsink.ProtocolHTTPJSON, true, spanstore.Origin{Transport: spanstore.TransportHTTP, Encoding: spanstore.EncodingJSON, Compressed: true}},
		{otlpsink.ProtocolHTTPProtobuf, false, spanstore.Origin{Transport: spanstore.TransportHTTP, Encoding: spanstore.EncodingProto}},
		{otlpsink.ProtocolHTTPProtobuf, true, spanstore.Origin{Transport: spanstore.TransportHTTP, Encoding: spanstore.EncodingProto, Compressed: true}},
		{otlpsink.ProtocolGRPC, false, spanstore.Origin{Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto}},
		{otlpsink.ProtocolGRPC, true, spanstore.Origin{Transport: spanstore.TransportGRPC, Encoding: spanstore.EncodingProto, Compressed: true}},
	}
	for _, tc := range cases {
		name, compression := caseName(tc.protocol), "none"
		if tc.gzip {
			name, compression = name+"+gzip", "gzip"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sink := otlpsink.Start(t)
			// OTEL_RESOURCE_ATTRIBUTES is a percent-encoded list: an
			// instance ID with ',', '=', '%', a space and non-ASCII checks
			// that the JavaScript SDK decodes what ExporterEnv encodes.
			instance := "node " + name + ", worker=1 100% ü"
			corr := correlationID(name)
			env := append(sink.ExporterEnv(tc.protocol, instance), "OTEL_EXPORTER_OTLP_COMPRESSION="+compression)

			r := runNode(t, env, "--correlation", corr)
			if r.exitCode != 0 {
				t.Fatalf("node send.js exited %d; stderr:\n%s\n%s", r.exitCode, r.stderr, sink.Stats())
			}
			checkTrace(t, waitTrace(t, sink, corr), r, corr, instance, tc.want)

			st := sink.Stats()
			key := string(tc.want.Transport) + "/" + string(tc.want.Encoding)
			if st.ByTransport[key] != 1 || st.Requests != 1 || st.Spans != 3 {
				t.Errorf("want 1 %s request with 3 spans, got\n%s", key, st)
			}
		})
	}
}

// TestNodeSDKBearerToken runs the JavaScript exporters against a sink that
// requires a bearer token: without it, or with a wrong one, the export fails
// with 401 / Unauthenticated, which the exporter reports and does not retry;
// with it, set through OTEL_EXPORTER_OTLP_HEADERS (as ExporterEnv does) or
// through the exporter's own headers/metadata option, the trace arrives.
func TestNodeSDKBearerToken(t *testing.T) {
	const token = "t"
	for _, protocol := range []otlpsink.Protocol{otlpsink.ProtocolHTTPJSON, otlpsink.ProtocolHTTPProtobuf, otlpsink.ProtocolGRPC} {
		want := spanstore.Origin{Transport: spanstore.TransportHTTP, Encoding: spanstore.EncodingProto}
		switch protocol {
		case otlpsink.ProtocolHTTPJSON:
			want.Encoding = spanstore.EncodingJSON
		case otlpsink.ProtocolGRPC:
			want.Transport = spanstore.TransportGRPC
		}
		const headersVar = "OTEL_EXPORTER_OTLP_HEADERS="

		t.Run(caseName(protocol)+"/missing", func(t *testing.T) {
			t.Parallel()
			sink := otlpsink.Start(t, otlpsink.WithToken(token))
			env := slices.DeleteFunc(sink.ExporterEnv(protocol, "node-no-token"), func(kv string) bool {
				return strings.HasPrefix(kv, headersVar)
			})
			corr := correlationID("missing")
			expectRefused(t, sink, runNode(t, env, "--correlation", corr), protocol, corr)
		})

		t.Run(caseName(protocol)+"/wrong", func(t *testing.T) {
			t.Parallel()
			sink := otlpsink.Start(t, otlpsink.WithToken(token))
			env := slices.DeleteFunc(sink.ExporterEnv(protocol, "node-wrong-token"), func(kv string) bool {
				return strings.HasPrefix(kv, headersVar)
			})
			env = append(env, headersVar+"Authorization=Bearer%20wrong")
			corr := correlationID("wrong")
			expectRefused(t, sink, runNode(t, env, "--correlation", corr), protocol, corr)
		})

		t.Run(caseName(protocol)+"/env", func(t *testing.T) {
			t.Parallel()
			sink := otlpsink.Start(t, otlpsink.WithToken(token))
			const instance = "node-env-token"
			env := sink.ExporterEnv(protocol, instance)
			if wantKV := headersVar + "Authorization=Bearer%20" + token; !slices.Contains(env, wantKV) {
				t.Fatalf("ExporterEnv of a sink with a token lacks %q: %q", wantKV, env)
			}
			corr := correlationID("env")
			r := runNode(t, env, "--correlation", corr)
			if r.exitCode != 0 {
				t.Fatalf("node send.js with %s exited %d; stderr:\n%s\n%s", headersVar+"...", r.exitCode, r.stderr, sink.Stats())
			}
			checkTrace(t, waitTrace(t, sink, corr), r, corr, instance, want)
			if n := sink.Stats().RefusedTotal(); n != 0 {
				t.Errorf("sink refused %d requests:\n%s", n, sink.Stats())
			}
		})

		// No OTEL_* variables at all: endpoint, compression, token and
		// instance go to the exporter and resource as code options.
		t.Run(caseName(protocol)+"/option", func(t *testing.T) {
			t.Parallel()
			sink := otlpsink.Start(t, otlpsink.WithToken(token))
			const instance = "node-option-token"
			endpoint := sink.HTTPURL()
			if protocol == otlpsink.ProtocolGRPC {
				endpoint = "http://" + sink.GRPCAddr()
			}
			corr := correlationID("option")
			r := runNode(t, nil, "--protocol", string(protocol), "--endpoint", endpoint, "--compression", "gzip",
				"--token", token, "--instance", instance, "--correlation", corr)
			if r.exitCode != 0 {
				t.Fatalf("node send.js --token exited %d; stderr:\n%s\n%s", r.exitCode, r.stderr, sink.Stats())
			}
			want := want
			want.Compressed = true
			checkTrace(t, waitTrace(t, sink, corr), r, corr, instance, want)
		})
	}
}

// expectRefused checks a run against a token-protected sink that must have
// been turned away: send.js reports the export failure (exit 1, the
// receiver's status on stderr), the sink counted exactly one unauthenticated
// request (the exporter does not retry it) and stored nothing.
func expectRefused(t *testing.T, sink *otlpsink.Sink, r run, protocol otlpsink.Protocol, corr string) {
	t.Helper()
	if r.exitCode != 1 {
		t.Errorf("node send.js exited %d, want 1 (export failed); stderr:\n%s", r.exitCode, r.stderr)
	}
	wantErr := []string{"Unauthorized", "code: 401"}
	if protocol == otlpsink.ProtocolGRPC {
		wantErr = []string{"16 UNAUTHENTICATED", "Bearer <token>"}
	}
	for _, s := range wantErr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("send.js stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	st := sink.Stats()
	if st.Refused["unauthenticated"] != 1 || st.RefusedTotal() != 1 {
		t.Errorf("want exactly 1 request refused as unauthenticated, got %v\n%s", st.Refused, st)
	}
	if st.Spans != 0 || st.Stored != 0 || len(sink.Store().Correlated(corr)) != 0 {
		t.Errorf("a refused request stored spans:\n%s", st)
	}
}

// checkTrace checks the three spans of one domain event against what send.js
// emitted, field by field, so that any loss or mistyping on the way (IDs,
// attribute types, events, resource, scope, kind, status, timestamps) shows.
func checkTrace(t *testing.T, spans []spanstore.Span, r run, corr, instance string, want spanstore.Origin) {
	t.Helper()
	by := map[string]spanstore.Span{}
	for _, s := range spans {
		if _, dup := by[s.Name]; dup {
			t.Errorf("span %q arrived twice", s.Name)
		}
		by[s.Name] = s
	}
	for _, name := range spanNames {
		if _, ok := by[name]; !ok {
			t.Fatalf("no %q span among %d: %v", name, len(spans), spans)
		}
	}
	route, publish, send := by["route_event"], by["publish_event"], by["send_json_message"]

	// IDs: the hex the SDK printed is the hex the sink decoded, from binary
	// protobuf and from OTLP/JSON's hex strings alike.
	for _, name := range spanNames {
		s := by[name]
		if got := s.TraceID.String(); got != r.TraceID {
			t.Errorf("%s: trace ID %s, the SDK generated %s", name, got, r.TraceID)
		}
		if got := s.SpanID.String(); got != r.SpanIDs[name] {
			t.Errorf("%s: span ID %s, the SDK generated %s", name, got, r.SpanIDs[name])
		}
	}
	if !route.IsRoot() {
		t.Errorf("route_event has parent %s, want none", route.ParentSpanID)
	}
	if publish.ParentSpanID != route.SpanID {
		t.Errorf("publish_event parent %s, want route_event %s", publish.ParentSpanID, route.SpanID)
	}
	if send.ParentSpanID != publish.SpanID {
		t.Errorf("send_json_message parent %s, want publish_event %s", send.ParentSpanID, publish.SpanID)
	}

	// Attributes, with their types.
	wantKeys(t, "route_event", route.Attributes, "delivery_mode", "event_name", "namespace")
	wantAttr(t, "route_event", route.Attributes, "delivery_mode", spanstore.KindString, deliveryMode)
	wantAttr(t, "route_event", route.Attributes, "event_name", spanstore.KindString, eventName)
	wantAttr(t, "route_event", route.Attributes, "namespace", spanstore.KindString, namespace)

	wantKeys(t, "publish_event", publish.Attributes, "event_name", "namespace", "correlation_id",
		"interop.retry_count", "interop.max_safe_int", "interop.negative", "interop.ratio",
		"interop.durable", "interop.tags", "interop.partitions")
	wantAttr(t, "publish_event", publish.Attributes, "event_name", spanstore.KindString, eventName)
	wantAttr(t, "publish_event", publish.Attributes, "namespace", spanstore.KindString, namespace)
	wantAttr(t, "publish_event", publish.Attributes, "correlation_id", spanstore.KindString, corr)
	wantAttr(t, "publish_event", publish.Attributes, "interop.retry_count", spanstore.KindInt, 42)
	wantAttr(t, "publish_event", publish.Attributes, "interop.max_safe_int", spanstore.KindInt, int64(maxSafeInt))
	wantAttr(t, "publish_event", publish.Attributes, "interop.negative", spanstore.KindInt, -7)
	wantAttr(t, "publish_event", publish.Attributes, "interop.ratio", spanstore.KindDouble, 0.75)
	wantAttr(t, "publish_event", publish.Attributes, "interop.durable", spanstore.KindBool, true)
	wantAttr(t, "publish_event", publish.Attributes, "interop.tags", spanstore.KindSlice, []string{"alpha", "beta"})
	wantElems(t, "publish_event", publish.Attributes, "interop.tags", spanstore.KindString)
	wantAttr(t, "publish_event", publish.Attributes, "interop.partitions", spanstore.KindSlice, []int{1, 2, 3})
	wantElems(t, "publish_event", publish.Attributes, "interop.partitions", spanstore.KindInt)
	if v, _ := publish.Attributes.Get("interop.retry_count"); !v.Equal(42) || v.Int() != 42 {
		t.Errorf("publish_event: interop.retry_count = %v, does not equal Go's 42", v)
	}

	wantKeys(t, "send_json_message", send.Attributes, "queue")
	wantAttr(t, "send_json_message", send.Attributes, "queue", spanstore.KindString, queue)

	// Span events, in order, with their attributes and sane times.
	wantEvents(t, route, "Routing domain event")
	if len(route.Events) == 1 {
		as := route.Events[0].Attributes
		wantKeys(t, "route_event event", as, "delivery_mode", "event_name", "task_uuid", "correlation_id")
		wantAttr(t, "route_event event", as, "delivery_mode", spanstore.KindString, deliveryMode)
		wantAttr(t, "route_event event", as, "event_name", spanstore.KindString, eventName)
		wantAttr(t, "route_event event", as, "task_uuid", spanstore.KindString, r.TaskUUID)
		wantAttr(t, "route_event event", as, "correlation_id", spanstore.KindString, corr)
	}
	wantEvents(t, publish, "Publishing domain event", "Domain event published successfully")
	if len(publish.Events) == 2 {
		as := publish.Events[0].Attributes
		wantKeys(t, "publish_event event", as, "event_id", "queue_name", "task_uuid", "correlation_id")
		wantAttr(t, "publish_event event", as, "event_id", spanstore.KindString, r.EventID)
		wantAttr(t, "publish_event event", as, "queue_name", spanstore.KindString, queue)
		wantAttr(t, "publish_event event", as, "task_uuid", spanstore.KindString, r.TaskUUID)
		wantAttr(t, "publish_event event", as, "correlation_id", spanstore.KindString, corr)
		wantKeys(t, "publish_event second event", publish.Events[1].Attributes)
	}
	wantEvents(t, send)

	// Where the correlation ID is reachable, as DESIGN.md says queries need.
	if v, ok := route.Lookup("correlation_id"); !ok || v.Str() != corr {
		t.Errorf("route_event: Lookup(correlation_id) = %v, %v; want %q from its span event", v, ok, corr)
	}

	// Kind and status.
	for name, k := range map[string]spanstore.SpanKind{"route_event": spanstore.KindInternal, "publish_event": spanstore.KindInternal, "send_json_message": spanstore.KindProducer} {
		if got := by[name].Kind; got != k {
			t.Errorf("%s: kind %s, want %s", name, got, k)
		}
	}
	if publish.Status.Code != spanstore.StatusOK || route.Status.Code != spanstore.StatusUnset {
		t.Errorf("statuses: publish_event %s, route_event %s; want Ok, Unset", publish.Status.Code, route.Status.Code)
	}

	// Timestamps: nanoseconds since the epoch, within the process's life,
	// children starting after their parents. Not "ending before their
	// parents": the JavaScript SDK takes a span's start from Date.now() and
	// adds a duration measured on the monotonic clock from a baseline read
	// just after; a pause between the two reads (a busy CI machine) makes the
	// parent seem to end early, by 25 ms in one run here.
	lo, hi := r.before.Add(-2*time.Second), r.after.Add(2*time.Second)
	for _, name := range spanNames {
		s := by[name]
		if s.Start.Before(lo) || s.End.After(hi) || s.End.Before(s.Start) {
			t.Errorf("%s: start %s end %s, want within node's run %s .. %s", name,
				s.Start.Format(time.RFC3339Nano), s.End.Format(time.RFC3339Nano),
				r.before.Format(time.RFC3339Nano), r.after.Format(time.RFC3339Nano))
		}
	}
	for _, pc := range [][2]spanstore.Span{{route, publish}, {publish, send}} {
		p, c := pc[0], pc[1]
		if c.Start.Before(p.Start) {
			t.Errorf("%s starts at %s, before its parent %s at %s", c.Name, c.Start, p.Name, p.Start)
		}
	}

	// Resource, scope and how the spans arrived.
	for _, name := range spanNames {
		s := by[name]
		res := s.Resource.Attributes
		if got := s.Service(); got != service {
			t.Errorf("%s: service.name %q, want %q", name, got, service)
		}
		wantAttr(t, name+" resource", res, "service.instance.id", spanstore.KindString, instance)
		wantAttr(t, name+" resource", res, "telemetry.sdk.language", spanstore.KindString, "nodejs")
		if s.Scope.Name != scopeName || s.Scope.Version != scopeVersion {
			t.Errorf("%s: scope %q %q, want %q %q", name, s.Scope.Name, s.Scope.Version, scopeName, scopeVersion)
		}
		got := s.Origin
		got.Sender = ""
		if got != want {
			t.Errorf("%s: arrived as %+v, want %+v", name, got, want)
		}
	}
	if t.Failed() {
		for _, s := range spans {
			t.Logf("received: %s\n  attributes: %s\n  resource: %s\n  origin: %+v", s, s.Attributes, s.Resource.Attributes, s.Origin)
		}
	}
}

func wantAttr(t *testing.T, where string, as spanstore.Attributes, key string, kind spanstore.ValueKind, want any) {
	t.Helper()
	v, ok := as.Get(key)
	switch {
	case !ok:
		t.Errorf("%s: no attribute %q; have %s", where, key, as)
	case v.Kind() != kind:
		t.Errorf("%s: %s = %s is %s, want %s %v", where, key, v, v.Kind(), kind, want)
	case !v.Equal(want):
		t.Errorf("%s: %s = %s, want %v", where, key, v, want)
	}
}

// wantElems checks the type of every element of an array attribute.
func wantElems(t *testing.T, where string, as spanstore.Attributes, key string, kind spanstore.ValueKind) {
	t.Helper()
	v, _ := as.Get(key)
	for i, e := range v.Slice() {
		if e.Kind() != kind {
			t.Errorf("%s: %s[%d] = %s is %s, want %s", where, key, i, e, e.Kind(), kind)
		}
	}
}

// wantKeys checks that as holds exactly these keys.
func wantKeys(t *testing.T, where string, as spanstore.Attributes, keys ...string) {
	t.Helper()
	var got []string
	for _, a := range as {
		got = append(got, a.Key)
	}
	slices.Sort(got)
	keys = slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, keys) {
		t.Errorf("%s: attribute keys %q, want %q", where, got, keys)
	}
}

// wantEvents checks a span's event names, in order, and that each happened
// within the span.
func wantEvents(t *testing.T, s spanstore.Span, names ...string) {
	t.Helper()
	var got []string
	for _, e := range s.Events {
		got = append(got, e.Name)
		if e.Time.Before(s.Start) || e.Time.After(s.End) {
			t.Errorf("%s: event %q at %s, outside the span [%s, %s]", s.Name, e.Name, e.Time, s.Start, s.End)
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s: events %q, want %q", s.Name, got, names)
	}
}

// waitTrace waits, woken by the sink, for the three spans of the event
// correlated with corr. send.js exits only once its export succeeded, so they
// are normally there already; the deadline only bounds a broken sink.
func waitTrace(t *testing.T, sink *otlpsink.Sink, corr string) []spanstore.Span {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), scaled(15*time.Second))
	defer cancel()
	f := spanstore.Filter{Correlation: corr}
	spans, err := sink.Store().Wait(ctx, f, len(spanNames))
	if err != nil {
		t.Fatalf("waiting for %d spans (%s): %v; have %d: %v\n%s", len(spanNames), f, err, len(spans), spans, sink.Stats())
	}
	if len(spans) != len(spanNames) {
		t.Fatalf("want %d spans (%s), got %d: %v", len(spanNames), f, len(spans), spans)
	}
	return spans
}

// runNode runs node/send.js with args and, on top of an environment cleared
// of OTEL_* variables, env. It fails the test if node cannot run at all or
// hangs; an export failure is the run's exit code.
func runNode(t *testing.T, env []string, args ...string) run {
	t.Helper()
	node, script := nodeAndScript(t)
	ctx, cancel := context.WithTimeout(t.Context(), scaled(60*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	var r run
	r.before = time.Now()
	err := cmd.Run()
	r.after = time.Now()
	r.stderr = stderr.String()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("node send.js %q did not finish in time (%v); stderr:\n%s", args, err, r.stderr)
	case errors.As(err, &exit):
		r.exitCode = exit.ExitCode()
	case err != nil:
		t.Fatalf("running node send.js: %v", err)
	}
	if r.exitCode == 2 {
		t.Fatalf("send.js refused its arguments %q:\n%s", args, r.stderr)
	}
	if r.exitCode == 0 {
		if err := json.Unmarshal(stdout.Bytes(), &r.sent); err != nil || r.TraceID == "" {
			t.Fatalf("send.js succeeded but printed %q (%v)", stdout.String(), err)
		}
	}
	return r
}

// nodeAndScript locates node ($TRACEPROOF_NODE, else PATH) and send.js, and
// fails with what to do when either is not ready.
func nodeAndScript(t *testing.T) (node, script string) {
	t.Helper()
	node = os.Getenv("TRACEPROOF_NODE")
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			t.Fatalf("node not found (%v): the interop tests need Node.js >= 18.19 "+
				"(Debian: apt-get install -y nodejs npm) and `npm ci --ignore-scripts` in interop/node", err)
		}
	}
	script, err := filepath.Abs(filepath.Join("node", "send.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@opentelemetry", "sdk-trace-base")); err != nil {
		t.Fatalf("the OpenTelemetry JS packages are not installed (%v): run `npm ci --ignore-scripts` in interop/node", err)
	}
	return node, script
}

// cleanEnv is this process's environment without OTEL_* variables, so a
// developer's shell cannot steer the exporter.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, "TRACEPROOF_CORRELATION_ID=")
	})
}

func caseName(p otlpsink.Protocol) string { return strings.ReplaceAll(string(p), "/", "_") }

func correlationID(name string) string {
	return fmt.Sprintf("interop-%s-%d", strings.NewReplacer("/", "_", "+", "_").Replace(name), time.Now().UnixNano())
}

// scaled multiplies d by TRACEPROOF_TIMEOUT_SCALE (slow CI).
func scaled(d time.Duration) time.Duration {
	if s, err := strconv.ParseFloat(os.Getenv("TRACEPROOF_TIMEOUT_SCALE"), 64); err == nil && s > 0 {
		return time.Duration(float64(d) * s)
	}
	return d
}
