// The remote API of traceproof serve from Node: node:test and the built-in
// fetch, no packages. Run by interop/remote/remote_test.go against a serve
// that the reference workflow system (e2e/tasker, cluster mode) exports to:
//
//   TRACEPROOF_SERVER=http://127.0.0.1:4318 TRACEPROOF_TOKEN=... \
//   TASKER_TEST_ORCHESTRATION_URLS=http://127.0.0.1:8080 node --test interop/remote/node/
//
// Each test creates its own task with its own correlation ID, as a real
// suite does, then proves its domain events with one call each.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const server = process.env.TRACEPROOF_SERVER;
const token = process.env.TRACEPROOF_TOKEN ?? '';
const orchestration = (process.env.TASKER_TEST_ORCHESTRATION_URLS ?? '').split(',').filter(Boolean);
const scale = Number(process.env.TRACEPROOF_TIMEOUT_SCALE) || 1;
if (!server || orchestration.length === 0) {
  throw new Error('set TRACEPROOF_SERVER and TASKER_TEST_ORCHESTRATION_URLS');
}

// seconds → a Go duration string, scaled for slow machines.
const dur = (s) => `${Math.round(s * scale * 1000)}ms`;

const namespaces = { rust: 'domain_events_rust', ruby: 'domain_events', python: 'domain_events_py' };
const success = [
  { name: 'order.validated', delivery: 'Fast' },
  { name: 'payment.processed', delivery: 'Durable' },
  { name: 'inventory.updated', delivery: 'Fast' },
  { name: 'notification.sent', delivery: 'Fast' },
];

async function api(path, body, { auth = token } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  const res = await fetch(server + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let created = 0;
async function createTask(flavour, name, { fail = false } = {}) {
  const correlation = `node-${name}-${process.pid}-${Date.now()}-${created}`;
  const context = { order_id: `ORD-${correlation}`, amount: 99.95, items: [{ sku: 'SKU-001', quantity: 2 }] };
  if (fail) context.simulate_failure = true;
  const url = orchestration[created++ % orchestration.length] + '/v1/tasks';
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ namespace: namespaces[flavour], name: 'domain_event_publishing', version: '1.0.0', context, correlation_id: correlation }),
  });
  assert.equal(res.status, 201, `creating a task: ${await res.text()}`);
  return correlation;
}

// ok asserts a check or wait passed, showing the server's report if not.
function ok(answer) {
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.ok, true, answer.body.report);
}

test('each domain event of a task is proven by one wait, then all by one check', async () => {
  const corr = await createTask('rust', 'success');
  for (const e of success) {
    const a = await api('/api/v1/wait', {
      query: {
        name: 'route_event', correlation: corr,
        attrs: [{ key: 'event_name', value: e.name, scope: 'span' }, { key: 'delivery_mode', value: e.delivery, scope: 'span' }],
      },
      timeout: dur(30),
    });
    ok(a);
    assert.equal(a.body.found, 1);
    const [span] = a.body.spans;
    assert.equal(span.name, 'route_event');
    assert.equal(span.parent_span_id, '', 'a root span');
    assert.match(span.trace_id, /^[0-9a-f]{32}$/);
    assert.match(span.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    assert.ok(Date.parse(span.end) >= Date.parse(span.start));
    assert.equal(span.attributes.event_name, e.name);
    assert.equal(span.attributes.namespace, 'domain_events_rust');
    assert.match(span.instance, /^worker-rust-[12]$/);
    assert.equal(span.service, 'tasker-core');
    assert.ok(span.correlations.includes(corr));
    assert.equal(span.events[0].attributes.correlation_id, corr);
  }

  // A fast publish carries the correlation only through its trace; the text
  // form follows the parent link.
  const fast = await api('/api/v1/wait', {
    query: `{ name = "route_event" && correlation = "${corr}" && span.event_name = "order.validated" } > { name = "publish" }`,
    timeout: dur(30),
  });
  ok(fast);
  assert.equal(fast.body.spans[0].attributes.correlation_id, undefined);
  assert.ok(fast.body.spans[0].correlations.includes(corr));

  ok(await api('/api/v1/check', {
    check: 'published', correlation: corr, timeout: dur(30),
    events: success.map((e) => ({ name: e.name, delivery: e.delivery.toLowerCase() })),
  }));
});

test('the failure path publishes payment.failed and nothing after it', async () => {
  const corr = await createTask('python', 'failure', { fail: true });
  ok(await api('/api/v1/check', {
    check: 'published', correlation: corr, timeout: dur(30),
    events: [{ name: 'order.validated', delivery: 'FAST' }, { name: 'payment.failed', delivery: 'Durable' }],
  }));
  ok(await api('/api/v1/check', {
    check: 'not_published', correlation: corr, window: dur(0.5),
    events: ['payment.processed', 'inventory.updated', 'notification.sent'],
  }));
  // The same check over an event that was published fails, with the report.
  const a = await api('/api/v1/check', { check: 'not_published', correlation: corr, window: dur(0.5), events: ['order.validated'] });
  assert.equal(a.status, 200);
  assert.equal(a.body.ok, false);
  assert.match(a.body.report, new RegExp(`expected correlation "${corr}" not to publish "order.validated"`));
});

test('a check that does not hold fails with the report the Go API prints', async () => {
  const corr = await createTask('rust', 'wrong-mode');
  const a = await api('/api/v1/check', {
    check: 'published', correlation: corr, timeout: dur(30), settle: '100ms',
    events: success.map((e) => ({ name: e.name, delivery: e.name === 'payment.processed' ? 'fast' : e.delivery })),
  });
  assert.equal(a.status, 200);
  assert.equal(a.body.ok, false, 'payment.processed is durable, not fast');
  assert.match(a.body.report, /payment\.processed \(Fast\)/);
  assert.match(a.body.report, /Durable/);
  assert.match(a.body.report, new RegExp(`spans of correlation "${corr}"`));
});

test('the stream pushes a task\'s spans as they arrive', async () => {
  const corr = `node-stream-${process.pid}-${Date.now()}`;
  const q = `{ name = "route_event" && correlation = "${corr}" }`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 30_000 * scale);
  // EventSource cannot send headers: the token goes in the URL.
  const res = await fetch(`${server}/api/v1/stream?q=${encodeURIComponent(q)}&token=${encodeURIComponent(token)}`, { signal: abort.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const read = async () => {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended');
    buf += decoder.decode(value, { stream: true });
  };
  while (!buf.includes('\n\n')) await read(); // the opening comment: the stream watches
  assert.match(buf, /^: traceproof stream of spans named "route_event"/);

  // The task is created once the stream is on, with the correlation chosen.
  const url = orchestration[0] + '/v1/tasks';
  const created = await fetch(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ namespace: 'domain_events', name: 'domain_event_publishing', version: '1.0.0', correlation_id: corr,
      context: { order_id: 'ORD-1', amount: 10, items: [] } }),
  });
  assert.equal(created.status, 201);
  const seen = new Set();
  try {
    while (seen.size < success.length) {
      let i;
      while ((i = buf.indexOf('\n\n')) < 0) await read();
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!block.startsWith('data: ')) continue;
      const span = JSON.parse(block.slice('data: '.length));
      assert.equal(span.name, 'route_event');
      assert.ok(span.correlations.includes(corr));
      assert.ok(!seen.has(span.attributes.event_name), `${span.attributes.event_name} sent twice`);
      seen.add(span.attributes.event_name);
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  assert.deepEqual([...seen].sort(), success.map((e) => e.name).sort());
});

test('bad requests get 400 naming the field and the column', async () => {
  let a = await api('/api/v1/spans', { query: '{ name = "a" || name = "b" }' });
  assert.equal(a.status, 400);
  assert.equal(a.body.field, 'query');
  assert.equal(a.body.column, 14);
  assert.match(a.body.error, /\|\| is not supported/);
  a = await api('/api/v1/wait', { query: { attrs: [{ key: 'event_name', op: '~', value: 'x' }] } });
  assert.equal(a.status, 400);
  assert.equal(a.body.field, 'query.attrs[0].op');
  a = await api('/api/v1/check', { check: 'published', correlation: 'c', events: [{ name: 'a', delivery: 'slow' }] });
  assert.equal(a.status, 400);
  assert.equal(a.body.field, 'events[0].delivery');
});

test('the token is required', async () => {
  const a = await api('/api/v1/spans', {}, { auth: 'wrong' });
  assert.equal(a.status, 401);
  const res = await fetch(server + '/api/v1/stats');
  assert.equal(res.status, 401);
  const stats = await fetch(server + '/api/v1/stats', { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
  assert.ok(stats.spans > 0, 'the sink received spans');
  assert.ok(stats.instances.some((i) => /^worker-rust-/.test(i.instance)));
});
