import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  context,
  createContextKey,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Where spans go: an OTLP/HTTP collector when an endpoint is configured, else a JSON-lines file. */
export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP base endpoint (as OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://127.0.0.1:4318. */
  otlpEndpoint?: string;
  /** JSON-lines file the spans are appended to when no OTLP endpoint is set. */
  traceFile?: string;
}

/** A started tracing pipeline; flush before reading the file, shut down before exit. */
export interface Tracing {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** One span as written to the local trace file. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: string;
  service: string;
  startTime: string;
  endTime: string;
  durationMs: number;
  status: 'UNSET' | 'OK' | 'ERROR';
  statusMessage?: string;
  attributes: Attributes;
}

const TRACER = 'nightshift';
let provider: NodeTracerProvider | undefined;

/**
 * Starts tracing for this process (once; later calls return the same pipeline). Registers the
 * W3C trace-context propagator and an async-local context manager so spans nest across awaits.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (!provider) {
    const exporter: SpanExporter = options.otlpEndpoint
      ? new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })
      : new JsonLinesFileSpanExporter(options.traceFile ?? 'traces.jsonl');
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 200 })],
    });
    provider.register({ propagator: new W3CTraceContextPropagator() });
  }
  const p = provider;
  return {
    forceFlush: () => p.forceFlush(),
    shutdown: async () => {
      await p.shutdown();
      if (provider === p) provider = undefined;
    },
  };
}

/** Span options at the seams nightshift instruments (transport, handlers, compute, worker). */
export interface SpanOptions {
  /** Continue the trace of this W3C traceparent (from an event's metadata or TRACEPARENT). */
  traceparent?: string;
  kind?: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  attributes?: Attributes;
}

const KINDS = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
} as const;

/**
 * Runs `fn` inside a new span, child of `traceparent` when given, else of the active span.
 * The span records an exception and ERROR status when `fn` throws; the error is rethrown.
 */
export async function withSpan<T>(name: string, options: SpanOptions, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
  const parent: Context = options.traceparent ? contextFromTraceparent(options.traceparent) : context.active();
  const span = trace.getTracer(TRACER).startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: options.attributes }, parent);
  return context.with(withWork(trace.setSpan(parent, span), options.attributes), async () => {
    try {
      const result = await fn(handle(span));
      span.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (e) {
      span.recordException(e instanceof Error ? e : String(e));
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      span.end();
    }
  });
}

/** What code inside a span may do with it, without touching the OTel API. */
export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  /** This span's traceparent, to pass on to the next hop. */
  traceparent(): string;
}

function handle(span: Span): SpanHandle {
  return {
    setAttributes: (a) => span.setAttributes(a),
    traceparent: () => {
      const c = span.spanContext();
      return `00-${c.traceId}-${c.spanId}-${c.traceFlags.toString(16).padStart(2, '0')}`;
    },
  };
}

/** The active span's traceparent, if a span is active. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'];
}

/** Fields that tie a log line to its trace and its work: the active span's ids, and the run and task the active span concerns. */
export interface LogContext {
  trace_id?: string;
  span_id?: string;
  run_id?: string;
  task_id?: string;
}

/**
 * The active span's trace and span ids, and the run and task ids it concerns (a span started with
 * `nightshift.run_id` / `nightshift.task_id` attributes carries them to every span and log line
 * inside it). Empty outside any span.
 */
export function logContext(): LogContext {
  const active = context.active();
  const span = trace.getSpan(active);
  const ids = span?.spanContext();
  const work = active.getValue(WORK_KEY) as { run_id?: string; task_id?: string } | undefined;
  return {
    ...(ids && trace.isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {}),
    ...(work?.run_id ? { run_id: work.run_id } : {}),
    ...(work?.task_id ? { task_id: work.task_id } : {}),
  };
}

const WORK_KEY = createContextKey('nightshift.work');

/** The context inside a span: the run and task ids of its attributes added to those it inherits. */
function withWork(parent: Context, attributes: Attributes | undefined): Context {
  const runId = attributes?.['nightshift.run_id'];
  const taskId = attributes?.['nightshift.task_id'];
  if (runId === undefined && taskId === undefined) return parent;
  const inherited = (parent.getValue(WORK_KEY) as { run_id?: string; task_id?: string } | undefined) ?? {};
  return parent.setValue(WORK_KEY, {
    ...inherited,
    ...(runId !== undefined ? { run_id: String(runId) } : {}),
    ...(taskId !== undefined ? { task_id: String(taskId) } : {}),
  });
}

function contextFromTraceparent(traceparent: string): Context {
  return propagation.extract(context.active(), { traceparent });
}

/** Span exporter appending one JSON object per line; several processes may share the file. */
export class JsonLinesFileSpanExporter implements SpanExporter {
  constructor(private readonly file: string) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const lines = spans.map((s) => JSON.stringify(toRecord(s))).join('\n') + '\n';
    mkdir(dirname(this.file), { recursive: true })
      .then(() => appendFile(this.file, lines))
      .then(
        () => done({ code: ExportResultCode.SUCCESS }),
        (error: Error) => done({ code: ExportResultCode.FAILED, error }),
      );
  }

  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

function toRecord(s: ReadableSpan): SpanRecord {
  const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
  const ctx = s.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(s.parentSpanContext?.spanId ? { parentSpanId: s.parentSpanContext.spanId } : {}),
    name: s.name,
    kind: SpanKind[s.kind],
    service: String(s.resource.attributes['service.name'] ?? ''),
    startTime: new Date(ms(s.startTime)).toISOString(),
    endTime: new Date(ms(s.endTime)).toISOString(),
    durationMs: Math.round((ms(s.endTime) - ms(s.startTime)) * 1000) / 1000,
    status: s.status.code === SpanStatusCode.ERROR ? 'ERROR' : s.status.code === SpanStatusCode.OK ? 'OK' : 'UNSET',
    ...(s.status.message ? { statusMessage: s.status.message } : {}),
    attributes: s.attributes,
  };
}
