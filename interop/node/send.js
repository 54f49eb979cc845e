#!/usr/bin/env node
// Sends one domain-event trace (route_event > publish_event > send_json_message,
// the shape DESIGN.md describes) to an OTLP endpoint with the OpenTelemetry
// JavaScript SDK, then flushes, shuts down and exits:
//   0  the exporter reported success,
//   1  the export failed (the exporter's error is printed on stderr),
//   2  bad usage.
// On success it prints one JSON line on stdout with the IDs it generated, so a
// test can compare them with what the receiver decoded.
//
// Configuration: flags, else the standard OTEL_* variables, which the SDK's
// exporters read themselves (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL,
// _COMPRESSION, _HEADERS, _INSECURE; OTEL_RESOURCE_ATTRIBUTES).
//   --protocol http/json|http/protobuf|grpc   (else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf)
//   --endpoint URL     base URL, e.g. http://127.0.0.1:4318 or http://127.0.0.1:4317
//   --compression gzip|none
//   --token T          sends "Authorization: Bearer T" (header, or gRPC metadata)
//   --correlation ID   correlation_id value (required; or TRACEPROOF_CORRELATION_ID)
//   --instance ID      service.instance.id (overrides OTEL_RESOURCE_ATTRIBUTES)
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { context, diag, DiagConsoleLogger, DiagLogLevel, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

function usage(msg) {
  process.stderr.write(`send.js: ${msg}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      protocol: { type: 'string' },
      endpoint: { type: 'string' },
      compression: { type: 'string' },
      token: { type: 'string' },
      correlation: { type: 'string' },
      instance: { type: 'string' },
    },
    strict: true,
  }));
} catch (err) {
  usage(err.message);
}

const protocol = args.protocol ?? process.env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
const correlationId = args.correlation ?? process.env.TRACEPROOF_CORRELATION_ID;
if (!correlationId) usage('--correlation (or TRACEPROOF_CORRELATION_ID) is required');
if (args.compression !== undefined && !['gzip', 'none'].includes(args.compression)) {
  usage(`--compression must be gzip or none, not ${JSON.stringify(args.compression)}`);
}

// Exporter warnings and errors (retries, refused requests) go to stderr.
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

// Only the chosen exporter is loaded: loading all three costs a second.
async function newExporter() {
  const cfg = {};
  if (args.compression !== undefined) cfg.compression = args.compression;
  const endpoint = args.endpoint?.replace(/\/+$/, '');
  switch (protocol) {
    case 'http/json':
    case 'http/protobuf': {
      if (endpoint !== undefined) cfg.url = `${endpoint}/v1/traces`;
      if (args.token !== undefined) cfg.headers = { Authorization: `Bearer ${args.token}` };
      // exporter-trace-otlp-http sends JSON; -proto sends binary protobuf.
      const { OTLPTraceExporter } = await import(protocol === 'http/json'
        ? '@opentelemetry/exporter-trace-otlp-http'
        : '@opentelemetry/exporter-trace-otlp-proto');
      return new OTLPTraceExporter(cfg);
    }
    case 'grpc': {
      if (endpoint !== undefined) cfg.url = endpoint;
      const [{ OTLPTraceExporter }, { Metadata }] = await Promise.all([
        import('@opentelemetry/exporter-trace-otlp-grpc'),
        import('@grpc/grpc-js'),
      ]);
      if (args.token !== undefined) {
        const md = new Metadata();
        md.set('authorization', `Bearer ${args.token}`);
        cfg.metadata = md;
      }
      return new OTLPTraceExporter(cfg);
    }
    default:
      usage(`unknown protocol ${JSON.stringify(protocol)}; want http/json, http/protobuf or grpc`);
  }
}

// recording wraps the exporter to keep every failed result: the batch
// processor rejects forceFlush with the error, but a timer-driven export that
// fails would only reach the global error handler.
function recording(exporter, failures) {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          failures.push(result.error ?? new Error(`export failed with result code ${result.code}`));
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

// describe renders an exporter error with what the receiver answered: the
// HTTP exporter puts the status in err.code and the response body in
// err.data; gRPC errors carry "<code> <NAME>: <message>" in err.message.
function describe(err) {
  let s = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  for (const k of ['code', 'data']) {
    const v = err?.[k];
    if (v !== undefined && v !== '' && !s.includes(String(v))) s += `\n  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`;
  }
  return s;
}

// The SDK's default resource (telemetry.sdk.*), then the service, then
// OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME, then --instance.
let resource = defaultResource()
  .merge(resourceFromAttributes({ 'service.name': 'tasker-core' }))
  .merge(detectResources({ detectors: [envDetector] }));
if (args.instance !== undefined) {
  resource = resource.merge(resourceFromAttributes({ 'service.instance.id': args.instance }));
}

const failures = [];
const provider = new BasicTracerProvider({
  resource,
  spanProcessors: [
    // A long delay: the export happens in forceFlush, where its error is seen.
    new BatchSpanProcessor(recording(await newExporter(), failures), { scheduledDelayMillis: 60_000 }),
  ],
});
const tracer = provider.getTracer('traceproof-interop', '1.0.0');

const namespace = 'domain_events_node';
const eventName = 'payment.processed';
const deliveryMode = 'Durable';
const taskUuid = randomUUID();
const eventId = randomUUID();
const queue = `${namespace}_domain_events`;

const root = tracer.startSpan('route_event', {
  kind: SpanKind.INTERNAL,
  attributes: { delivery_mode: deliveryMode, event_name: eventName, namespace },
});
root.addEvent('Routing domain event', {
  delivery_mode: deliveryMode,
  event_name: eventName,
  task_uuid: taskUuid,
  correlation_id: correlationId,
});
const publish = tracer.startSpan(
  'publish_event',
  {
    kind: SpanKind.INTERNAL,
    attributes: {
      event_name: eventName,
      namespace,
      correlation_id: correlationId,
      // Typed values that must survive every encoding.
      'interop.retry_count': 42,
      'interop.max_safe_int': Number.MAX_SAFE_INTEGER,
      'interop.negative': -7,
      'interop.ratio': 0.75,
      'interop.durable': true,
      'interop.tags': ['alpha', 'beta'],
      'interop.partitions': [1, 2, 3],
    },
  },
  trace.setSpan(context.active(), root),
);
publish.addEvent('Publishing domain event', {
  event_id: eventId,
  queue_name: queue,
  task_uuid: taskUuid,
  correlation_id: correlationId,
});
const send = tracer.startSpan(
  'send_json_message',
  { kind: SpanKind.PRODUCER, attributes: { queue } },
  trace.setSpan(context.active(), publish),
);
send.end();
publish.addEvent('Domain event published successfully');
publish.setStatus({ code: SpanStatusCode.OK });
publish.end();
root.end();

try {
  await provider.forceFlush();
} catch (err) {
  // Already recorded by the wrapper, unless the processor itself failed
  // (e.g. its export timeout).
  if (failures.length === 0) failures.push(err);
}
try {
  await provider.shutdown();
} catch (err) {
  process.stderr.write(`send.js: shutdown: ${describe(err)}\n`);
}
for (const err of failures) {
  process.stderr.write(`send.js: export over ${protocol} failed: ${describe(err)}\n`);
}
if (failures.length === 0) {
  process.stdout.write(JSON.stringify({
    protocol,
    traceId: root.spanContext().traceId,
    spanIds: {
      route_event: root.spanContext().spanId,
      publish_event: publish.spanContext().spanId,
      send_json_message: send.spanContext().spanId,
    },
    taskUuid,
    eventId,
  }) + '\n');
}
process.exit(failures.length === 0 ? 0 : 1);
