import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  BatchJobStateChange,
  DatasetRegistered,
  RunRequested,
  traceparentOf,
  type EventBridgeEvent,
} from '@nightshift/contracts';
import { InvalidPipelineError, type JobStore } from '@nightshift/jobs-domain';
import { withSpan } from '@nightshift/observability';
import { RunEngine } from './run-engine.js';
import { JOB_STORE } from './tokens.js';

/** Event schema violations from our own services are bugs: not retryable, straight to the DLQ. */
export class MalformedEventError extends Error {
  readonly retryable = false;
  constructor(readonly detailType: string, readonly eventId: string, readonly issues: string) {
    super(`${detailType} ${eventId} does not match its contract: ${issues}`);
    this.name = 'MalformedEventError';
  }
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, event: EventBridgeEvent): T {
  const r = schema.safeParse(event.detail);
  if (!r.success) throw new MalformedEventError(event['detail-type'], event.id, r.error.message);
  return r.data;
}

/** Transport seam of the planner: parse with the contract, one use case per event. */
@Controller()
export class PlannerHandlers {
  private readonly log = new Logger('planner');

  constructor(
    @Inject(RunEngine) private readonly engine: RunEngine,
    @Inject(JOB_STORE) private readonly store: JobStore,
  ) {}

  @EventPattern(DatasetRegistered.detailType)
  async onDatasetRegistered(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parse(DatasetRegistered.detail, event);
    await this.span('planner: Dataset Registered', event, async (traceparent) => {
      const dataset = await this.store.getDatasetVersion(detail.data.datasetId);
      if (!dataset) throw new MalformedEventError(event['detail-type'], event.id, `dataset ${detail.data.datasetId} is not registered`);
      for (const pipeline of this.engine.pipelinesFor(dataset.dataset)) {
        const run = await this.engine.startRun({
          pipeline,
          dataset,
          triggerEventId: detail.metadata.eventId,
          correlationId: detail.metadata.correlationId,
          traceparent,
          tenant: detail.metadata.tenant,
        });
        this.log.log(`run ${run.runId} (${pipeline.name}) ${run.status}: ${run.tasksTotal} task(s)`);
      }
    });
  }

  @EventPattern(RunRequested.detailType)
  async onRunRequested(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parse(RunRequested.detail, event);
    await this.span('planner: Run Requested', event, async (traceparent) => {
      const { pipeline: name, businessDate, datasetId } = detail.data;
      const pipeline = this.engine.pipeline(name);
      const dataset = datasetId ? await this.store.getDatasetVersion(datasetId) : await this.store.latestDatasetVersion(pipeline?.trigger.datasets[0] ?? '', businessDate);
      const meta = { triggerEventId: detail.metadata.eventId, correlationId: detail.metadata.correlationId, traceparent, tenant: detail.metadata.tenant };
      if (!pipeline || !dataset) {
        const reason = !pipeline ? `unknown pipeline "${name}"` : `no registered dataset ${datasetId ?? `for ${businessDate}`}`;
        await this.engine.failUnplannable({ pipeline: name, businessDate, reason, ...meta });
        this.log.warn(`run request ${event.id} failed: ${reason}`);
        return;
      }
      try {
        await this.engine.startRun({ pipeline, dataset, ...meta });
      } catch (e) {
        if (!(e instanceof InvalidPipelineError)) throw e;
        this.log.warn(e.message);
      }
    });
  }

  @EventPattern(BatchJobStateChange.detailType)
  async onJobStateChange(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parse(BatchJobStateChange.detail, event);
    await this.span(`planner: job ${detail.status}`, event, async () => {
      await this.engine.onJobStateChange(detail);
    });
  }

  private span(name: string, event: EventBridgeEvent, fn: (traceparent: string) => Promise<void>): Promise<void> {
    return withSpan(name, { traceparent: traceparentOf(event), kind: 'consumer', attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'planner' } }, (span) =>
      fn(span.traceparent()),
    );
  }
}
