import { Controller, Inject, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  BatchJobStateChange,
  ContractViolationError,
  DatasetRegistered,
  parseDetail,
  RunRequested,
  traceparentOf,
  type EventBridgeEvent,
} from '@nightshift/contracts';
import { InvalidPipelineError, type DatasetVersion, type JobStore, type PipelineDefinition, type PlanRequest } from '@nightshift/jobs-domain';
import { PreserveHandlerErrorFilter } from '@nightshift/events-local';
import { withSpan } from '@nightshift/observability';
import { RunEngine } from './run-engine.js';
import { JOB_STORE } from './tokens.js';

/** Transport seam of the planner: parse with the contract, one use case per event. */
// Errors reach the transport as thrown, so one marked `retryable: false` is dead-lettered at once.
@UseFilters(PreserveHandlerErrorFilter)
@Controller()
export class PlannerHandlers {
  private readonly log = new Logger('planner');

  constructor(
    @Inject(RunEngine) private readonly engine: RunEngine,
    @Inject(JOB_STORE) private readonly store: JobStore,
  ) {}

  @EventPattern(DatasetRegistered.detailType)
  async onDatasetRegistered(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(DatasetRegistered, event);
    await this.span('planner: Dataset Registered', event, async (traceparent) => {
      const dataset = await this.store.getDatasetVersion(detail.data.datasetId);
      if (!dataset) throw new ContractViolationError(event['detail-type'], event.id, `dataset ${detail.data.datasetId} is not registered`);
      const meta = { triggerEventId: detail.metadata.eventId, correlationId: detail.metadata.correlationId, traceparent, tenant: detail.metadata.tenant };
      // Every workload the dataset triggers gets a run; one that cannot use the dataset fails alone.
      for (const pipeline of this.engine.pipelinesFor(dataset.dataset)) await this.start(pipeline, dataset, meta);
    });
  }

  @EventPattern(RunRequested.detailType)
  async onRunRequested(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunRequested, event);
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
      await this.start(pipeline, dataset, meta);
    });
  }

  /** Starts a pipeline's run, or records it as failed (Run Failed on the bus) when the dataset lacks what it needs. */
  private async start(pipeline: PipelineDefinition, dataset: DatasetVersion, meta: Omit<PlanRequest, 'pipeline' | 'dataset' | 'now'>): Promise<void> {
    try {
      const run = await this.engine.startRun({ pipeline, dataset, ...meta });
      this.log.log(`run ${run.runId} (${pipeline.name}) ${run.status}: ${run.tasksTotal} task(s)`);
    } catch (e) {
      if (!(e instanceof InvalidPipelineError)) throw e;
      await this.engine.failUnplannable({ ...meta, pipeline: pipeline.name, businessDate: dataset.businessDate, datasetId: dataset.datasetId, reason: e.message });
      this.log.warn(e.message);
    }
  }

  @EventPattern(BatchJobStateChange.detailType)
  async onJobStateChange(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(BatchJobStateChange, event);
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
