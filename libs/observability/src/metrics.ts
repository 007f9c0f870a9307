import { metrics, type Attributes, type BatchObservableResult, type Counter, type Histogram, type ObservableGauge } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

/** Where metrics go: always a Prometheus scrape (`prometheusText`), and an OTLP/HTTP collector when an endpoint is configured. */
export interface MetricsOptions {
  serviceName: string;
  /** OTLP/HTTP base endpoint (as OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://127.0.0.1:4318; metrics are pushed to `<it>/v1/metrics`. */
  otlpEndpoint?: string;
  /** How often metrics are pushed to the OTLP endpoint. Default 15 000 ms. */
  otlpIntervalMs?: number;
}

/** A started metrics pipeline: shut it down before exit (pushes the last OTLP export). */
export interface Metrics {
  shutdown(): Promise<void>;
}

/** What the Prometheus text exposition is served as (`GET /metrics`). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Bucket boundaries of the task histograms, in seconds: batch tasks take from under a second (a
 * small partition) to an hour (AWS Batch's usual attempt timeout), and waits for capacity as long.
 */
export const TASK_SECONDS_BUCKETS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** How a task ended, as its job reported it. */
export type TaskOutcome = 'SUCCEEDED' | 'FAILED';

/** One finished task, as {@link PlatformMetrics.taskFinished} records it. */
export interface FinishedTask {
  pipeline: string;
  step: string;
  status: TaskOutcome;
  /** Time its attempts ran, in seconds (the sum over attempts: what the compute was busy with). */
  durationS: number;
  /** From submission to its first attempt's start, in seconds; undefined when it never started. */
  runnableWaitS?: number;
  /** vCPUs each attempt reserved. */
  vcpus: number;
}

/** A service queue's state at collection time. */
export interface QueueSample {
  queue: string;
  /** Messages waiting to be received (SQS ApproximateNumberOfMessages). */
  depth: number;
  /** Messages received and not yet acknowledged (SQS ApproximateNumberOfMessagesNotVisible). */
  inFlight?: number;
  /** Age of the oldest message in the queue, in seconds; 0 when empty; omitted where the adapter cannot tell. */
  oldestAgeS?: number;
  /** Messages in its dead-letter queue. */
  dlqDepth?: number;
}

/** What a queue consumer did with one delivery. */
export type ConsumeOutcome = 'handled' | 'retried' | 'dead_lettered' | 'dropped';

/**
 * The platform's metrics, in domain terms: callers never see OpenTelemetry. Every call is a no-op
 * until {@link startMetrics} ran in the process (tests and tools without metrics keep working).
 */
export interface PlatformMetrics {
  /** A run started (PENDING to RUNNING, or a retry reopened it). */
  runStarted(pipeline: string): void;
  /** A run reached SUCCEEDED or FAILED. */
  runFinished(pipeline: string, status: 'SUCCEEDED' | 'FAILED'): void;
  /** A task finished: its duration and RUNNABLE wait, and vCPUs x duration to the pipeline's vCPU-seconds. */
  taskFinished(task: FinishedTask): void;
  /** An event a service published was accepted by the bus. */
  eventPublished(detailType: string, source: string): void;
  /** A service's queue consumer dealt with one delivery of an event. */
  eventConsumed(detailType: string, queue: string, outcome?: ConsumeOutcome): void;
  /**
   * Reports queue gauges from `sample` at every collection (a scrape, an OTLP export). Returns a
   * function that stops it. A sample that throws is skipped for that collection.
   */
  observeQueues(sample: () => QueueSample[] | Promise<QueueSample[]>): () => void;
}

/** The metric names, as OpenTelemetry names them; Prometheus shows `.` as `_` and counters with `_total`. */
export const METRIC_NAMES = {
  runsStarted: 'nightshift.runs.started',
  runsSucceeded: 'nightshift.runs.succeeded',
  runsFailed: 'nightshift.runs.failed',
  taskDuration: 'nightshift.task.duration',
  taskRunnableWait: 'nightshift.task.runnable_wait',
  vcpuSeconds: 'nightshift.compute.vcpu_seconds',
  eventsPublished: 'nightshift.events.published',
  eventsConsumed: 'nightshift.events.consumed',
  queueDepth: 'nightshift.queue.depth',
  queueInFlight: 'nightshift.queue.in_flight',
  queueOldestAge: 'nightshift.queue.oldest_message_age',
  queueDlqDepth: 'nightshift.queue.dlq_depth',
} as const;

interface Instruments {
  runsStarted: Counter;
  runsSucceeded: Counter;
  runsFailed: Counter;
  taskDuration: Histogram;
  taskRunnableWait: Histogram;
  vcpuSeconds: Counter;
  eventsPublished: Counter;
  eventsConsumed: Counter;
  queueDepth: ObservableGauge;
  queueInFlight: ObservableGauge;
  queueOldestAge: ObservableGauge;
  queueDlqDepth: ObservableGauge;
}

interface Started {
  provider: MeterProvider;
  prometheus: PrometheusExporter;
  serializer: PrometheusSerializer;
  instruments: Instruments;
}

const METER = 'nightshift';
let started: Started | undefined;

/**
 * Starts metrics for this process (once; later calls return the same pipeline): one MeterProvider
 * with a Prometheus reader that serves no port of its own (reporting serves {@link prometheusText}
 * at `/metrics` on the API's port) and, when `otlpEndpoint` is set, a periodic OTLP/HTTP push. It
 * is also registered as the global meter provider, for instrumentation libraries.
 */
export function startMetrics(options: MetricsOptions): Metrics {
  if (!started) {
    const prometheus = new PrometheusExporter({ preventServerStart: true });
    const readers = [prometheus];
    const otlp = options.otlpEndpoint
      ? new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/metrics` }),
          exportIntervalMillis: options.otlpIntervalMs ?? 15_000,
        })
      : undefined;
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      readers: otlp ? [...readers, otlp] : readers,
    });
    metrics.setGlobalMeterProvider(provider);
    started = { provider, prometheus, serializer: new PrometheusSerializer(), instruments: createInstruments(provider) };
  }
  const s = started;
  return {
    shutdown: async () => {
      if (started !== s) return;
      started = undefined;
      metrics.disable();
      await s.provider.shutdown();
    },
  };
}

/**
 * The metrics in the Prometheus text exposition format (version 0.0.4, {@link PROMETHEUS_CONTENT_TYPE}),
 * collected now; undefined when metrics were not started in this process.
 */
export async function prometheusText(): Promise<string | undefined> {
  const s = started;
  if (!s) return undefined;
  const { resourceMetrics } = await s.prometheus.collect();
  return s.serializer.serialize(resourceMetrics);
}

/** The platform's metrics facade (see {@link PlatformMetrics}); cheap to call wherever a metric is recorded. */
export function platformMetrics(): PlatformMetrics {
  return FACADE;
}

const FACADE: PlatformMetrics = {
  runStarted: (pipeline) => started?.instruments.runsStarted.add(1, { pipeline }),
  runFinished: (pipeline, status) => {
    const i = started?.instruments;
    (status === 'SUCCEEDED' ? i?.runsSucceeded : i?.runsFailed)?.add(1, { pipeline });
  },
  taskFinished: (task) => {
    const i = started?.instruments;
    if (!i) return;
    const duration = nonNegative(task.durationS);
    i.taskDuration.record(duration, { pipeline: task.pipeline, step: task.step, status: task.status });
    if (task.runnableWaitS !== undefined) i.taskRunnableWait.record(nonNegative(task.runnableWaitS), { pipeline: task.pipeline, step: task.step });
    i.vcpuSeconds.add(nonNegative(task.vcpus) * duration, { pipeline: task.pipeline });
  },
  eventPublished: (detailType, source) => started?.instruments.eventsPublished.add(1, { detail_type: detailType, source }),
  eventConsumed: (detailType, queue, outcome = 'handled') => started?.instruments.eventsConsumed.add(1, { detail_type: detailType, queue, outcome }),
  observeQueues: (sample) => {
    const s = started;
    if (!s) return () => undefined;
    const { queueDepth, queueInFlight, queueOldestAge, queueDlqDepth } = s.instruments;
    const gauges = [queueDepth, queueInFlight, queueOldestAge, queueDlqDepth];
    const callback = async (batch: BatchObservableResult) => {
      let samples: QueueSample[];
      try {
        samples = await sample();
      } catch {
        // A queue that cannot be read now (the bus closing, SQS throttling) is absent from this collection, not an error of the scrape.
        return;
      }
      for (const q of samples) {
        const attributes: Attributes = { queue: q.queue };
        batch.observe(queueDepth, q.depth, attributes);
        if (q.inFlight !== undefined) batch.observe(queueInFlight, q.inFlight, attributes);
        if (q.oldestAgeS !== undefined) batch.observe(queueOldestAge, q.oldestAgeS, attributes);
        if (q.dlqDepth !== undefined) batch.observe(queueDlqDepth, q.dlqDepth, attributes);
      }
    };
    const meter = s.provider.getMeter(METER);
    meter.addBatchObservableCallback(callback, gauges);
    return () => meter.removeBatchObservableCallback(callback, gauges);
  },
};

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(METER);
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: [...TASK_SECONDS_BUCKETS] } };
  return {
    runsStarted: meter.createCounter(METRIC_NAMES.runsStarted, { description: 'Runs started (or reopened by a retry), by pipeline', unit: '{run}' }),
    runsSucceeded: meter.createCounter(METRIC_NAMES.runsSucceeded, { description: 'Runs that succeeded, by pipeline', unit: '{run}' }),
    runsFailed: meter.createCounter(METRIC_NAMES.runsFailed, { description: 'Runs that failed (a task out of attempts, cancelled, unplannable, past deadline), by pipeline', unit: '{run}' }),
    taskDuration: meter.createHistogram(METRIC_NAMES.taskDuration, { ...seconds, description: 'Time a finished task ran, summed over its attempts, by pipeline, step and status' }),
    taskRunnableWait: meter.createHistogram(METRIC_NAMES.taskRunnableWait, {
      ...seconds,
      description: 'Time from a task\'s submission to its first attempt\'s start (RUNNABLE and STARTING: waiting for capacity), by pipeline and step',
    }),
    vcpuSeconds: meter.createCounter(METRIC_NAMES.vcpuSeconds, { description: 'vCPUs reserved x seconds run, by pipeline: the compute cost of its runs', unit: '{vCPU}.s' }),
    eventsPublished: meter.createCounter(METRIC_NAMES.eventsPublished, { description: 'Events the services published and the bus accepted, by detail-type and source', unit: '{event}' }),
    eventsConsumed: meter.createCounter(METRIC_NAMES.eventsConsumed, {
      description: 'Deliveries a service queue consumer dealt with, by detail-type, queue and outcome (handled, retried, dead_lettered, dropped)',
      unit: '{event}',
    }),
    queueDepth: meter.createObservableGauge(METRIC_NAMES.queueDepth, { description: 'Messages waiting in a service queue', unit: '{message}' }),
    queueInFlight: meter.createObservableGauge(METRIC_NAMES.queueInFlight, { description: 'Messages of a service queue received and not yet acknowledged', unit: '{message}' }),
    queueOldestAge: meter.createObservableGauge(METRIC_NAMES.queueOldestAge, { description: 'Age of the oldest message in a service queue (0 when empty)', unit: 's' }),
    queueDlqDepth: meter.createObservableGauge(METRIC_NAMES.queueDlqDepth, { description: 'Messages in a service queue\'s dead-letter queue', unit: '{message}' }),
  };
}

/** A histogram refuses negative values; a clock step between two hosts must not drop a task. */
function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
