"""The remote API of traceproof serve from Python: unittest and urllib only.

Run by interop/remote/remote_test.go against a serve that the reference
workflow system (e2e/tasker, cluster mode) exports to:

    TRACEPROOF_SERVER=http://127.0.0.1:4318 TRACEPROOF_TOKEN=... \\
    TASKER_TEST_ORCHESTRATION_URLS=http://127.0.0.1:8080 \\
    python3 -m unittest discover -s interop/remote/python -v

Each test creates its own task with its own correlation ID, as a real suite
does, then proves its domain events with one call each.
"""

import datetime
import json
import os
import re
import unittest
import urllib.error
import urllib.request
import uuid

SERVER = os.environ.get("TRACEPROOF_SERVER", "")
TOKEN = os.environ.get("TRACEPROOF_TOKEN", "")
ORCHESTRATION = [u for u in os.environ.get("TASKER_TEST_ORCHESTRATION_URLS", "").split(",") if u]
SCALE = float(os.environ.get("TRACEPROOF_TIMEOUT_SCALE") or 1) or 1

NAMESPACES = {"rust": "domain_events_rust", "ruby": "domain_events", "python": "domain_events_py"}
SUCCESS = [("order.validated", "fast"), ("payment.processed", "durable"),
           ("inventory.updated", "fast"), ("notification.sent", "fast")]


def dur(seconds):
    """A Go duration string, scaled for slow machines."""
    return "%dms" % round(seconds * SCALE * 1000)


def post(url, body, token=None, timeout=None):
    """POSTs JSON; returns (status, decoded body)."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout or 120 * SCALE) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def api(path, body, token=TOKEN):
    return post(SERVER + path, body, token)


_created = [0]


def create_task(flavour, name, fail=False):
    corr = "py-%s-%s" % (name, uuid.uuid4().hex[:8])
    context = {"order_id": "ORD-" + corr, "amount": 99.95, "items": [{"sku": "SKU-001", "quantity": 2}]}
    if fail:
        context["simulate_failure"] = True
    url = ORCHESTRATION[_created[0] % len(ORCHESTRATION)] + "/v1/tasks"
    _created[0] += 1
    status, task = post(url, {"namespace": NAMESPACES[flavour], "name": "domain_event_publishing",
                              "version": "1.0.0", "context": context, "correlation_id": corr})
    if status != 201:
        raise AssertionError("creating a task: %s %s" % (status, task))
    return corr


def rfc3339(s):
    """Parses RFC 3339 with up to nanoseconds (Python keeps microseconds)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", s)
    if not m:
        raise AssertionError("not RFC 3339 UTC: %r" % s)
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    return datetime.datetime.strptime(m.group(1) + "." + frac, "%Y-%m-%dT%H:%M:%S.%f")


class RemoteAPITest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not (SERVER and ORCHESTRATION):
            raise AssertionError("set TRACEPROOF_SERVER and TASKER_TEST_ORCHESTRATION_URLS")

    def assertPassed(self, answer):
        status, body = answer
        self.assertEqual(status, 200, body)
        self.assertTrue(body["ok"], body.get("report"))
        return body

    def test_each_event_one_wait_then_one_check(self):
        corr = create_task("ruby", "success")
        for name, delivery in SUCCESS:
            q = ('{ name = "publish_event" && correlation = "%s" && span.event_name = "%s" '
                 '&& event = "Domain event published successfully" }' % (corr, name))
            if delivery == "fast":
                q = ('{ name = "route_event" && correlation = "%s" && span.event_name = "%s" } > { name = "publish" }'
                     % (corr, name))
            body = self.assertPassed(api("/api/v1/wait", {"query": q, "timeout": dur(30)}))
            self.assertEqual(body["found"], 1, body)
            span = body["spans"][0]
            self.assertEqual(span["attributes"]["event_name"], name)
            self.assertEqual(span["attributes"]["namespace"], "domain_events")
            self.assertIn(corr, span["correlations"])
            self.assertRegex(span["instance"], r"^worker-ruby-[12]$")
            self.assertNotEqual(span["parent_span_id"], "", "a child of route_event")
            self.assertLessEqual(rfc3339(span["start"]), rfc3339(span["end"]))
        self.assertPassed(api("/api/v1/check", {
            "check": "published", "correlation": corr, "timeout": dur(30),
            "events": [{"name": n, "delivery": d.upper()} for n, d in SUCCESS]}))
        # The same task, other checks the Go API has.
        self.assertPassed(api("/api/v1/check", {
            "check": "exactly", "count": 4, "timeout": dur(30),
            "query": {"name": "route_event", "correlation": corr}}))
        self.assertPassed(api("/api/v1/check", {
            "check": "once_per", "key": "event_name", "values": [n for n, _ in SUCCESS], "timeout": dur(30),
            "query": {"name": "route_event", "correlation": corr}}))
        route = '{ name = "route_event" && correlation = "%s" && span.event_name = "%s" }'
        self.assertPassed(api("/api/v1/check", {
            "check": "in_order", "timeout": dur(30), "queries": [route % (corr, n) for n, _ in SUCCESS]}))
        self.assertPassed(api("/api/v1/check", {
            "check": "never", "window": dur(0.3), "query": {"status": "error", "correlation": corr}}))

    def test_failure_path(self):
        corr = create_task("ruby", "failure", fail=True)
        self.assertPassed(api("/api/v1/check", {
            "check": "published", "correlation": corr, "timeout": dur(30),
            "events": [{"name": "order.validated", "delivery": "fast"}, {"name": "payment.failed", "delivery": "durable"}]}))
        self.assertPassed(api("/api/v1/check", {
            "check": "not_published", "correlation": corr, "window": dur(0.5),
            "events": ["payment.processed", "inventory.updated", "notification.sent"]}))
        # An order that does not hold fails, and says so.
        status, body = api("/api/v1/check", {
            "check": "in_order", "timeout": dur(30), "queries": [
                '{ name = "route_event" && correlation = "%s" && span.event_name = "payment.failed" }' % corr,
                '{ name = "route_event" && correlation = "%s" && span.event_name = "order.validated" }' % corr]})
        self.assertEqual(status, 200)
        self.assertFalse(body["ok"])
        self.assertIn("out of order: 2 started", body["report"])

    def test_wait_times_out_with_the_report(self):
        corr = create_task("python", "timeout")
        status, body = api("/api/v1/wait", {
            "query": {"name": "publish_event", "correlation": corr,
                      "attrs": [{"key": "event_name", "value": "payment.refunded"}]},
            "timeout": dur(2)})
        self.assertEqual(status, 200)
        self.assertFalse(body["ok"])
        self.assertEqual(body["found"], 0)
        self.assertTrue(body["report"].startswith(
            'expected at least 1 span named "publish_event" with event_name = "payment.refunded" '
            'in the trace of correlation "%s"' % corr), body["report"])
        self.assertIn("near misses", body["report"])

    def test_spans_and_stats(self):
        corr = create_task("rust", "spans")
        # Wait for more spans than the limit: finalize_task alone does not mean
        # the workers' spans have arrived (they come from other processes).
        self.assertPassed(api("/api/v1/wait", {"query": {"correlation": corr}, "count": 4, "timeout": dur(30)}))
        status, body = api("/api/v1/spans", {"query": {"correlation": corr}, "limit": 3})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["spans"]), 3)
        self.assertGreater(body["total"], 3, "total counts all matches, not the limit")
        seqs = [s["seq"] for s in body["spans"]]
        self.assertEqual(seqs, sorted(seqs), "arrival order")
        req = urllib.request.Request(SERVER + "/api/v1/stats", headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(req, timeout=30) as resp:
            stats = json.load(resp)
        self.assertGreater(stats["spans"], 0)
        self.assertIn("correlation_id", stats["correlation_keys"])

    def test_bad_requests_and_token(self):
        status, body = api("/api/v1/spans", {"query": '{ name = "a" && kind = sever }'})
        self.assertEqual(status, 400)
        self.assertEqual((body["field"], body["column"]), ("query.kind", 24), body)
        status, body = api("/api/v1/check", {"check": "exactly", "query": {}})
        self.assertEqual(status, 400)
        self.assertEqual(body["field"], "count")
        status, body = api("/api/v1/spans", {}, token="wrong")
        self.assertEqual(status, 401, body)


if __name__ == "__main__":
    unittest.main()
