import { createHash } from 'node:crypto';
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, RandomIdGenerator, type IdGenerator, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OtlpJsonLinesFileExporter } from './trace-file.js';

/** Where spans go: an OTLP/HTTP collector when an endpoint is configured, else an OTLP/JSON-lines file. */
export interface TracingOptions {
  /** The process's default `service.name`; spans of other services of the process name theirs (`SpanOptions.service`). */
  serviceName: string;
  /** OTLP/HTTP base endpoint (as OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://127.0.0.1:4318. */
  otlpEndpoint?: string;
  /** OTLP/JSON-lines file the spans are appended to when no OTLP endpoint is set. */
  traceFile?: string;
}

/** A started tracing pipeline; flush before reading the file, shut down before exit. */
export interface Tracing {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const TRACER = 'nightshift';

/**
 * One exporter, and one tracer provider per service name: the embedded host runs ingestion,
 * planner and reporting in one process, and each must report its own `service.name` (a resource
 * is per provider). The first provider is the global one (context manager, propagator).
 */
interface Pipeline {
  exporter: SpanExporter;
  defaultService: string;
  providers: Map<string, NodeTracerProvider>;
}

let pipeline: Pipeline | undefined;

/**
 * Random ids, except for the one span being started with ids derived from a run (see
 * {@link runTraceId}): `startSpan` is synchronous, so the ids set just before it are its own.
 */
class DerivableIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  next: { traceId?: string; spanId?: string } = {};
  generateTraceId(): string {
    return this.next.traceId ?? this.random.generateTraceId();
  }
  generateSpanId(): string {
    return this.next.spanId ?? this.random.generateSpanId();
  }
}
const ids = new DerivableIdGenerator();

function startWithIds(forced: { traceId?: string; spanId?: string }, start: () => Span): Span {
  ids.next = forced;
  try {
    return start();
  } finally {
    ids.next = {};
  }
}

/**
 * Starts tracing for this process (once; later calls return the same pipeline). Registers the
 * W3C trace-context propagator and an async-local context manager so spans nest across awaits.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (!pipeline) {
    const exporter: SpanExporter = options.otlpEndpoint
      ? new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })
      : new OtlpJsonLinesFileExporter(options.traceFile ?? 'traces.jsonl');
    pipeline = { exporter, defaultService: options.serviceName, providers: new Map() };
    providerFor(pipeline, options.serviceName).register({ propagator: new W3CTraceContextPropagator() });
  }
  const p = pipeline;
  const flushAll = () => Promise.all([...p.providers.values()].map((provider) => provider.forceFlush())).then(() => undefined);
  return {
    forceFlush: async () => {
      emitPendingRunSpans();
      await flushAll();
    },
    shutdown: async () => {
      emitPendingRunSpans();
      await Promise.all([...p.providers.values()].map((provider) => provider.shutdown()));
      await p.exporter.shutdown();
      if (pipeline === p) {
        pipeline = undefined;
        // So a later startTracing (a test's) registers its own provider.
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}

function providerFor(p: Pipeline, service: string): NodeTracerProvider {
  let provider = p.providers.get(service);
  if (!provider) {
    // The processors share the exporter; the pipeline shuts it down once.
    const shared: SpanExporter = {
      export: (spans, done) => p.exporter.export(spans, done),
      shutdown: async () => {},
      forceFlush: async () => p.exporter.forceFlush?.(),
    };
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.namespace': 'nightshift' }),
      idGenerator: ids,
      spanProcessors: [new BatchSpanProcessor(shared, { scheduledDelayMillis: 200 })],
    });
    p.providers.set(service, provider);
  }
  return provider;
}

function tracerFor(service: string | undefined): Tracer {
  if (!pipeline) return trace.getTracer(TRACER);
  return providerFor(pipeline, service ?? pipeline.defaultService).getTracer(TRACER);
}

/** Span options at the seams nightshift instruments (transport, handlers, compute, worker, clients). */
export interface SpanOptions {
  /** Continue the trace of this W3C traceparent (from an event's metadata or TRACEPARENT): the span is its child. */
  traceparent?: string;
  /**
   * Work that follows a span that has ended (a run's report after the run): the span is a root of
   * that span's trace, linked to it, so every child still lies inside its parent.
   */
  follows?: string;
  /** Traceparents of related spans in other traces (the run a request started), linked from this one. */
  links?: ReadonlyArray<string | undefined>;
  /**
   * The `service.name` the span reports (`nightshift-planner`, ...); default the enclosing span's,
   * else the process's (`TracingOptions.serviceName`).
   */
  service?: string;
  kind?: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  attributes?: Attributes;
  /**
   * Only inside a trace: without an active span (or traceparent), `fn` runs with no span. For
   * client calls that periodic sweeps make every second with nothing to do.
   */
  requireParent?: boolean;
  /** Whether a thrown error makes the span ERROR; default every error (a failed DynamoDB condition is an answer, not a failure). */
  isError?: (error: unknown) => boolean;
}

const KINDS = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
} as const;

/** What code inside a span may do with it, without touching the OTel API. */
export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  /** This span's traceparent, to pass on to the next hop. */
  traceparent(): string;
  /** Ends the span with ERROR status and `reason` though `fn` returns normally (a job that failed, a rejected landing). */
  fail(reason: string): void;
  /** Links the span to another one (the run a handler started). */
  link(traceparent: string): void;
}

/**
 * Runs `fn` inside a new span: child of `traceparent` when given, a linked root of `follows`'s
 * trace when given, else child of the active span. The span records an exception and ERROR status
 * when `fn` throws (the error is rethrown), or when `fn` calls `fail`.
 */
export async function withSpan<T>(name: string, options: SpanOptions, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
  const active = context.active();
  if (options.requireParent && !options.traceparent && !options.follows && !hasActiveSpan(active)) return fn(NO_SPAN);
  const started = startSpan(name, options, active);
  const { span } = started;
  let failure: string | undefined;
  const spanHandle: SpanHandle = {
    ...handle(span),
    fail: (reason) => {
      failure = reason;
    },
  };
  return context.with(started.context, async () => {
    try {
      const result = await fn(spanHandle);
      span.setStatus(failure === undefined ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: failure });
      return result;
    } catch (e) {
      if (options.isError?.(e) ?? true) {
        span.recordException(e instanceof Error ? e : String(e));
        span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      } else span.setAttributes({ 'error.type': e instanceof Error ? e.name : 'error' });
      throw e;
    } finally {
      span.end(preciseNow());
      started.ended();
    }
  });
}

function hasActiveSpan(active: Context): boolean {
  const span = trace.getSpan(active);
  const c = span?.spanContext();
  return c !== undefined && trace.isSpanContextValid(c) && !hasEnded(span!);
}

/**
 * Whether a span has ended. Work a span started in the background (a timer, a job's lifecycle in
 * the local compute environment) keeps its context after the span ended: what it does then is not
 * inside that span.
 */
function hasEnded(span: Span): boolean {
  return (span as Partial<ReadableSpan>).ended === true;
}

const NO_SPAN: SpanHandle = { setAttributes: () => {}, traceparent: () => '', fail: () => {}, link: () => {} };

/** A span started at a seam with its context, and what to call once it has ended. */
interface StartedSpan {
  span: Span;
  context: Context;
  ended(): void;
}

const SERVICE_KEY = createContextKey('nightshift.service');

function startSpan(name: string, options: SpanOptions, active: Context): StartedSpan {
  const service = options.service ?? (active.getValue(SERVICE_KEY) as string | undefined);
  const tracer = tracerFor(service);
  const links = (options.links ?? []).flatMap((tp) => linkTo(tp));
  const kind = KINDS[options.kind ?? 'internal'];
  // Every span inside a run's (or task's) work says which: a store call, a query, a publish.
  const work = active.getValue(WORK_KEY) as { run_id?: string; task_id?: string } | undefined;
  const attributes: Attributes = {
    ...(work?.run_id ? { 'nightshift.run_id': work.run_id } : {}),
    ...(work?.task_id ? { 'nightshift.task_id': work.task_id } : {}),
    ...options.attributes,
  };
  let follows = options.follows ? spanContextOf(options.follows) : undefined;
  let parent = options.traceparent ? spanContextOf(options.traceparent) : undefined;
  // Background work of a span that has ended follows it (a linked root of its trace).
  const activeSpan = trace.getSpan(active);
  if (!follows && !parent && activeSpan && hasEnded(activeSpan)) follows = activeSpan.spanContext();
  // A span whose parent already ended here (a late event of a finished run) follows it instead.
  if (parent && endedParents.has(parent.spanId)) [follows, parent] = [parent, undefined];
  let span: Span;
  let base: Context;
  if (follows) {
    const from = follows;
    base = active;
    span = startWithIds({ traceId: from.traceId }, () =>
      tracer.startSpan(name, { kind, root: true, startTime: preciseNow(), attributes, links: [...links, { context: from, attributes: { 'nightshift.link': 'follows' } }] }, ROOT_CONTEXT),
    );
  } else {
    base = parent ? trace.setSpanContext(active, parent) : active;
    span = tracer.startSpan(name, { kind, startTime: preciseNow(), attributes, links }, base);
  }
  const family = parent ? joinFamily(parent.spanId, span) : undefined;
  let ctx = withWork(trace.setSpan(base, span), options.attributes);
  if (service !== undefined) ctx = ctx.setValue(SERVICE_KEY, service);
  return { span, context: ctx, ended: () => family?.leave(span) };
}

function handle(span: Span): Omit<SpanHandle, 'fail'> {
  return {
    setAttributes: (a) => span.setAttributes(a),
    traceparent: () => traceparentOfSpan(span.spanContext()),
    link: (tp) => {
      for (const link of linkTo(tp)) span.addLink(link);
    },
  };
}

function traceparentOfSpan(c: SpanContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.traceFlags.toString(16).padStart(2, '0')}`;
}

/** The active span's traceparent, if a span is active. */
/**
 * Runs `fn` outside any trace: for work the platform does on its own behalf that merely started
 * inside a span (the local compute environment emitting a job's state changes, as AWS Batch does,
 * long after the handler that submitted the job ended), so it neither hangs under that span nor
 * outlives it.
 */
export function outsideTrace<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/**
 * A PutEvents request's producer span (one per request, named by its detail-types), inside the
 * caller's trace and none outside any; refused entries mark it failed. For every PutEvents
 * publisher: the embedded bus and the EventBridge adapter.
 */
export function withPutEventsSpan<R extends { FailedEntryCount: number }>(entries: ReadonlyArray<{ DetailType?: string | undefined }>, send: () => Promise<R>): Promise<R> {
  const detailTypes = [...new Set(entries.map((e) => e.DetailType ?? ''))];
  const attributes = { 'messaging.system': 'aws_eventbridge', 'messaging.operation.name': 'PutEvents', 'messaging.operation.type': 'send', 'messaging.batch.message_count': entries.length, 'nightshift.detail_types': detailTypes };
  return withSpan(`PutEvents ${detailTypes.join(', ')}`, { kind: 'producer', requireParent: true, attributes }, async (span) => {
    const result = await send();
    if (result.FailedEntryCount > 0) span.fail(`${result.FailedEntryCount} of ${entries.length} entries refused`);
    return result;
  });
}

export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'];
}

/** Links the active span (if any) to the span of `traceparent`: the request span that started a run, to the run's span. */
export function linkActiveSpan(traceparent: string): void {
  const span = trace.getSpan(context.active());
  for (const link of linkTo(traceparent)) span?.addLink(link);
}

/** Adds attributes to the active span (if any): what the seam learns only inside (a task's id, once its partition is read). */
export function setActiveSpanAttributes(attributes: Attributes): void {
  trace.getSpan(context.active())?.setAttributes(attributes);
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

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a W3C traceparent names, or undefined for a malformed or all-zero one. */
function spanContextOf(traceparent: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(traceparent.trim());
  if (!m) return undefined;
  const c: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  return trace.isSpanContextValid(c) ? c : undefined;
}

function linkTo(traceparent: string | undefined): Link[] {
  const c = traceparent ? spanContextOf(traceparent) : undefined;
  return c ? [{ context: c }] : [];
}

// ---- The run trace ------------------------------------------------------------------------------

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The trace id of a run: derived from its id, so every process (planner, worker, reporting) puts
 * its spans about the run in the same trace without being told.
 */
export function runTraceId(runId: string): string {
  return sha256Hex(`nightshift-run:${runId}`).slice(0, 32);
}

/** The span id of a run's span for one attempt (a retry is a new attempt: a span of its own). */
export function runSpanId(runId: string, attempt = 1): string {
  return sha256Hex(`nightshift-run:${runId}:attempt:${attempt}`).slice(0, 16);
}

/** The traceparent of a run attempt's span: the parent of every span of work for that attempt. */
export function runTraceparent(runId: string, attempt = 1): string {
  return `00-${runTraceId(runId)}-${runSpanId(runId, attempt)}-01`;
}

/** What a run's span is made of: a `Run` record (jobs-domain) fits. */
export interface RunSpanFacts {
  runId: string;
  pipeline: string;
  businessDate: string;
  status: string;
  /** Why it failed: the span's ERROR message. */
  reason?: string;
  /** The run's creation: the span's start (a retry's attempt starts at `retriedAt`). */
  createdAt: string;
  retriedAt?: string;
  attempt?: number;
  /** The span that started the run (a landing, a request): linked from the run's span. */
  traceparent?: string;
  datasetId?: string;
  tenant?: string;
  backfillId?: string;
}

/**
 * Children of remote parents started in this process, by parent span id: how many are open, when
 * the first started and the last ended. A run's span waits for its open children here and spans
 * them, so a child always lies inside it. Bounded: entries of parents long gone are dropped.
 */
interface Family {
  open: Set<Span>;
  firstStart?: HrTime;
  lastEnd?: HrTime;
  waiters: Array<() => void>;
}
const families = new Map<string, Family>();
/** Run spans this process has recorded (or is recording): a later child follows them instead. */
const endedParents = new Set<string>();
const MAX_REMEMBERED = 10_000;

function remember<T>(set: Set<T>, value: T): void {
  set.add(value);
  if (set.size > MAX_REMEMBERED) set.delete(set.values().next().value as T);
}

function joinFamily(parentSpanId: string, span: Span): { leave(span: Span): void } {
  let family = families.get(parentSpanId);
  if (!family) {
    family = { open: new Set(), waiters: [] };
    families.set(parentSpanId, family);
    if (families.size > MAX_REMEMBERED) {
      for (const [id, f] of families) {
        if (f.open.size === 0 && f.waiters.length === 0) {
          families.delete(id);
          break;
        }
      }
    }
  }
  const f = family;
  f.open.add(span);
  const start = (span as unknown as ReadableSpan).startTime;
  if (start && (!f.firstStart || before(start, f.firstStart))) f.firstStart = start;
  return {
    leave: (s) => {
      f.open.delete(s);
      const end = (s as unknown as ReadableSpan).endTime;
      if (end && (!f.lastEnd || before(f.lastEnd, end))) f.lastEnd = end;
      if (f.open.size === 0) for (const waiter of f.waiters.splice(0)) waiter();
    },
  };
}

function before(a: HrTime, b: HrTime): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function msToHr(ms: number): HrTime {
  const micros = Math.round(ms * 1000);
  return [Math.floor(micros / 1e6), (micros % 1e6) * 1000];
}

/**
 * Now, to the microsecond, on one clock for every span of the process. The SDK's default start is
 * `Date.now()`, truncated to the millisecond while the end adds a precise duration: a child then
 * seems to end up to 1 ms after its parent.
 */
function preciseNow(): HrTime {
  return msToHr(performance.timeOrigin + performance.now());
}

/** Run spans waiting for their open children, emitted at once on flush or shutdown. */
const pendingRunSpans = new Set<() => void>();
/** How long a run's span waits for a child that never ends (a hung handler) before it is recorded anyway. */
const RUN_SPAN_WAIT_MS = 60_000;

/**
 * Records the span of a run attempt that has just ended (SUCCEEDED or FAILED): start at the run's
 * creation (or retry), end once every child span open in this process has ended, ERROR with the
 * reason when it failed, linked to the span that started the run; its ids are the derived ones
 * ({@link runTraceparent}), the parent of all the run's work. Once per run attempt per process;
 * later children follow it (linked roots of its trace). Call it where the run's terminal transition
 * is won (one writer), never on a redelivery.
 */
export function recordRunSpan(run: RunSpanFacts, options: { service?: string } = {}): void {
  const p = pipeline;
  if (!p) return;
  const attempt = run.attempt ?? 1;
  const spanId = runSpanId(run.runId, attempt);
  if (endedParents.has(spanId)) return;
  remember(endedParents, spanId);
  const service = options.service ?? (context.active().getValue(SERVICE_KEY) as string | undefined);
  let done = false;
  const emit = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    pendingRunSpans.delete(emit);
    const family = families.get(spanId);
    families.delete(spanId);
    if (pipeline !== p) return;
    const createdMs = Date.parse(attempt > 1 && run.retriedAt ? run.retriedAt : run.createdAt);
    let start = Number.isNaN(createdMs) ? undefined : msToHr(createdMs);
    if (family?.firstStart && (!start || before(family.firstStart, start))) start = family.firstStart;
    let end = preciseNow();
    if (family?.lastEnd && before(end, family.lastEnd)) end = family.lastEnd;
    const tracer = tracerFor(service);
    const failed = run.status !== 'SUCCEEDED';
    const span = startWithIds({ traceId: runTraceId(run.runId), spanId }, () =>
      tracer.startSpan(
        `run ${run.pipeline}`,
        {
          root: true,
          kind: SpanKind.INTERNAL,
          ...(start ? { startTime: start } : {}),
          links: linkTo(run.traceparent).map((l) => ({ ...l, attributes: { 'nightshift.link': 'trigger' } })),
          attributes: {
            'nightshift.run_id': run.runId,
            'nightshift.pipeline': run.pipeline,
            'nightshift.business_date': run.businessDate,
            'nightshift.run.status': run.status,
            'nightshift.run.attempt': attempt,
            ...(run.datasetId ? { 'nightshift.dataset_id': run.datasetId } : {}),
            ...(run.tenant ? { 'nightshift.tenant': run.tenant } : {}),
            ...(run.backfillId ? { 'nightshift.backfill': run.backfillId } : {}),
          },
        },
        ROOT_CONTEXT,
      ),
    );
    span.setStatus(failed ? { code: SpanStatusCode.ERROR, message: run.reason ?? `run ${run.status}` } : { code: SpanStatusCode.OK });
    span.end(end);
  };
  const timer = setTimeout(emit, RUN_SPAN_WAIT_MS);
  timer.unref();
  const family = families.get(spanId);
  if (!family || family.open.size === 0) emit();
  else {
    pendingRunSpans.add(emit);
    family.waiters.push(emit);
  }
}

function emitPendingRunSpans(): void {
  for (const emit of [...pendingRunSpans]) emit();
}

// ---- Seams without a function to wrap ----------------------------------------------------------

/** A server span opened by one hook and closed by another (an HTTP request's). */
export interface ServerSpan {
  /** Runs `fn` (the rest of the request's handling) inside the span. */
  run<T>(fn: () => T): T;
  setAttributes(attributes: Attributes): void;
  updateName(name: string): void;
  /** Ends the span: ERROR for a 5xx (the server failed), else OK. */
  end(statusCode: number): void;
}

/**
 * Opens a server span for an incoming request, continuing the caller's W3C `traceparent` when it
 * sent one (a malformed one starts a new trace).
 */
export function startServerSpan(name: string, options: { traceparent?: string; service?: string; attributes?: Attributes }): ServerSpan {
  const active = context.active();
  const started = startSpan(name, { kind: 'server', ...options, ...(options.traceparent && spanContextOf(options.traceparent) ? {} : { traceparent: undefined }) }, active);
  let ended = false;
  return {
    run: (fn) => context.with(started.context, fn),
    setAttributes: (a) => started.span.setAttributes(a),
    updateName: (n) => started.span.updateName(n),
    end: (statusCode) => {
      if (ended) return;
      ended = true;
      started.span.setAttributes({ 'http.response.status_code': statusCode });
      started.span.setStatus(statusCode >= 500 ? { code: SpanStatusCode.ERROR, message: `HTTP ${statusCode}` } : { code: SpanStatusCode.OK });
      started.span.end(preciseNow());
      started.ended();
    },
  };
}

/** The shape of an AWS SDK v3 client this needs (no SDK types here): its middleware stack. */
export interface AwsSdkClientLike {
  middlewareStack: {
    add(
      middleware: (next: (args: { input?: unknown }) => Promise<unknown>, context: { commandName?: string; clientName?: string }) => (args: { input?: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string; override?: boolean },
    ): void;
  };
}

/**
 * Gives every call of an AWS SDK client a client span (`DynamoDB.UpdateItem`, ...) inside the
 * active trace: an SDK middleware, what a maintained instrumentation would patch in, added where
 * the client is made because the ESM entrypoints load the SDK before any patching could. Calls
 * outside any span (periodic sweeps and polls) make none.
 */
export function traceAwsSdkClient(client: AwsSdkClientLike, options: { service: string; dbSystem?: string; isError?: (error: unknown) => boolean }): void {
  client.middlewareStack.add(
    (next, ctx) => (args) => {
      const operation = (ctx.commandName ?? 'Call').replace(/Command$/, '');
      const input = (args.input ?? {}) as { TableName?: unknown; RequestItems?: unknown };
      const tables = typeof input.TableName === 'string' ? [input.TableName] : input.RequestItems && typeof input.RequestItems === 'object' ? Object.keys(input.RequestItems) : [];
      return withSpan(
        `${options.service}.${operation}`,
        {
          kind: 'client',
          requireParent: true,
          ...(options.isError ? { isError: options.isError } : {}),
          attributes: {
            'rpc.system': 'aws-api',
            'rpc.service': options.service,
            'rpc.method': operation,
            ...(options.dbSystem ? { 'db.system': options.dbSystem, 'db.system.name': options.dbSystem, 'db.operation': operation, 'db.operation.name': operation } : {}),
            ...(tables.length > 0 ? { 'aws.dynamodb.table_names': tables } : {}),
          },
        },
        () => next(args),
      );
    },
    { step: 'initialize', name: 'nightshiftTracing', override: true },
  );
}
