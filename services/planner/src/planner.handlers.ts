import { Controller, Inject, Logger, Optional, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  BatchJobStateChange,
  ContractViolationError,
  DatasetRegistered,
  parseDetail,
  RunCancelRequested,
  RunRequested,
  RunFailed,
  RunRetryRequested,
  RunSucceeded,
  StepApprovalDecided,
  traceparentOf,
  type EventBridgeEvent,
} from '@nightshift/contracts';
import {
  DatasetLacksTablesError,
  DatasetOfAnotherTenantError,
  runIdFor,
  tenantOf,
  type DatasetVersion,
  type JobStore,
  type PipelineDefinition,
  type PlanRequest,
} from '@nightshift/jobs-domain';
import { PreserveHandlerErrorFilter } from '@nightshift/events-nest';
import { linkActiveSpan, runTraceparent, withSpan, type SpanHandle } from '@nightshift/observability';
import { BackfillRunner, describeAdvance } from './backfills.js';
import { JOB_PARAM_RUN_ID } from './job-params.js';
import { PipelinesNotStartedError } from './errors.js';
import { RunEngine } from './run-engine.js';
import { RunChaining } from './run-chaining.js';
import { RunRetry } from './run-retry.js';
import { ScheduledRuns, type DatedRunRequest, type RunRequestMeta } from './scheduled-runs.js';
import { JOB_STORE } from './tokens.js';

/** The planner's name in processed-event records (`JobStore.markProcessed`). */
const CONSUMER = 'planner';
/** The planner's `service.name` in traces. */
const SERVICE = 'nightshift-planner';

/** Transport seam of the planner: parse with the contract, one use case per event. */
// Errors reach the transport as thrown, so one marked `retryable: false` is dead-lettered at once.
@UseFilters(PreserveHandlerErrorFilter)
@Controller()
export class PlannerHandlers {
  private readonly log = new Logger('planner');
  private readonly chaining: RunChaining;

  constructor(
    @Inject(RunEngine) private readonly engine: RunEngine,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(RunRetry) private readonly retrier: RunRetry,
    // Optional for harnesses that send no schedule fires; the composition always binds it.
    @Optional() @Inject(ScheduledRuns) private readonly scheduled?: ScheduledRuns,
    // Optional for harnesses without backfills; the composition always binds it.
    @Optional() @Inject(BackfillRunner) private readonly backfills?: BackfillRunner,
  ) {
    this.chaining = new RunChaining(store, (pipeline) => engine.pipelinesAfter(pipeline), (pipeline, dataset, meta) => this.start(pipeline, dataset, meta));
  }

  @EventPattern(DatasetRegistered.detailType)
  async onDatasetRegistered(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(DatasetRegistered, event);
    await this.span('planner: Dataset Registered', event, async (traceparent) => {
      const dataset = await this.store.getDatasetVersion(detail.data.datasetId);
      if (!dataset) throw new ContractViolationError(event['detail-type'], event.id, `dataset ${detail.data.datasetId} is not registered`);
      // The runs a dataset triggers are its tenant's, as stored (not as the event says).
      const meta = { triggerEventId: detail.metadata.eventId, correlationId: detail.metadata.correlationId, traceparent, tenant: dataset.tenant };
      // Every workload the dataset triggers gets its run, whatever happens to the others'.
      const failures: Array<{ pipeline: string; error: unknown }> = [];
      for (const pipeline of this.engine.pipelinesFor(dataset.dataset)) {
        await this.start(pipeline, dataset, meta).catch((error: unknown) => failures.push({ pipeline: pipeline.name, error }));
      }
      if (failures.length > 0) throw new PipelinesNotStartedError(dataset.datasetId, failures);
    });
  }

  @EventPattern(RunRequested.detailType)
  async onRunRequested(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunRequested, event);
    await this.span('planner: Run Requested', event, async (traceparent) => {
      const meta = { triggerEventId: detail.metadata.eventId, correlationId: detail.metadata.correlationId, traceparent, tenant: detail.metadata.tenant };
      const { businessDate } = detail.data;
      // A schedule's fire carries no business date: ScheduledRuns derives it (or skips the fire), then asks as any request does.
      if (detail.data.schedule) {
        if (!this.scheduled) throw new ContractViolationError(event['detail-type'], event.id, 'this planner does not take schedule fires');
        await this.scheduled.onFire(detail.data, meta, (request, runMeta) => this.requestRun(event.id, request, runMeta));
        return;
      }
      if (businessDate === undefined) throw new ContractViolationError(event['detail-type'], event.id, 'a request without schedule needs businessDate');
      await this.requestRun(event.id, { ...detail.data, businessDate }, meta);
    });
  }

  /** A dated run request: its run started, or recorded as failed with why (under the run id the requester derives). */
  private async requestRun(eventId: string, request: DatedRunRequest, meta: RunRequestMeta): Promise<void> {
    const resolved = await this.resolveRequest(request, tenantOf(meta));
    if ('reason' in resolved) {
      // The run id the requester was given derives from the requested date, so the failure is recorded under it.
      await this.inRunTrace(runIdFor(request.pipeline, request.businessDate, meta.triggerEventId), request.pipeline, () =>
        this.engine.failUnplannable({ pipeline: request.pipeline, businessDate: request.businessDate, ...meta, ...resolved }),
      );
      this.log.warn(`run request ${eventId} failed: ${resolved.reason}`);
      return;
    }
    await this.start(resolved.pipeline, resolved.dataset, meta);
  }

  /**
   * The pipeline and dataset version a run request names, or why they cannot make the run it asks
   * for. Only the requester's tenant's datasets are candidates: the latest is its latest, and a
   * named version of another tenant is refused as one that does not exist (its id is not recorded
   * on the failed run), so a tenant can neither run over nor learn of another's data.
   */
  private async resolveRequest(
    request: DatedRunRequest,
    tenant: string,
  ): Promise<{ pipeline: PipelineDefinition; dataset: DatasetVersion } | { reason: string; datasetId?: string }> {
    const { businessDate, datasetId } = request;
    const pipeline = this.engine.pipeline(request.pipeline);
    if (!pipeline) return { reason: `unknown pipeline "${request.pipeline}"` };
    const input = pipeline.trigger.datasets[0] ?? '(none)';
    const dataset = datasetId ? await this.store.getDatasetVersion(datasetId) : await this.store.latestDatasetVersion(input, businessDate, { tenant });
    if (datasetId && (!dataset || tenantOf(dataset) !== tenant)) return { reason: new DatasetOfAnotherTenantError(datasetId, tenant).message };
    if (!dataset) return { reason: `no registered dataset ${input} for ${businessDate}` };
    if (dataset.businessDate !== businessDate) {
      return { reason: `dataset ${dataset.datasetId} is of business date ${dataset.businessDate}, not the requested ${businessDate}`, datasetId: dataset.datasetId };
    }
    if (!pipeline.trigger.datasets.includes(dataset.dataset)) {
      return { reason: `pipeline ${pipeline.name} runs on ${pipeline.trigger.datasets.join(', ')} datasets, not on ${dataset.datasetId}`, datasetId: dataset.datasetId };
    }
    return { pipeline, dataset };
  }

  /**
   * Starts a pipeline's run, or records it as failed (Run Failed on the bus) when the dataset lacks
   * what it needs or is another tenant's (planning refuses that too, whatever the caller checked).
   */
  private async start(pipeline: PipelineDefinition, dataset: DatasetVersion, meta: Omit<PlanRequest, 'pipeline' | 'dataset' | 'now'>): Promise<void> {
    await this.inRunTrace(runIdFor(pipeline.name, dataset.businessDate, meta.triggerEventId), pipeline.name, () => this.startInRunTrace(pipeline, dataset, meta));
  }

  /**
   * Runs the start of a run in the run's own trace (its first steps' submissions are the run's
   * work, under its span), linked from the span that asked for it; the run's span links back.
   */
  private inRunTrace(runId: string, pipeline: string, fn: () => Promise<void>): Promise<void> {
    linkActiveSpan(runTraceparent(runId));
    return withSpan(`planner: start run ${pipeline}`, { traceparent: runTraceparent(runId), service: SERVICE, attributes: { 'nightshift.run_id': runId, 'nightshift.pipeline': pipeline } }, () => fn());
  }

  private async startInRunTrace(pipeline: PipelineDefinition, dataset: DatasetVersion, meta: Omit<PlanRequest, 'pipeline' | 'dataset' | 'now'>): Promise<void> {
    try {
      const run = await this.engine.startRun({ pipeline, dataset, ...meta });
      const trigger = run.upstream ? `run ${run.upstream.runId} (${run.upstream.pipeline}) succeeded` : run.backfillId ? `backfill ${run.backfillId}` : `event ${meta.triggerEventId}`;
      this.log.log({
        msg: `run ${run.runId} (${pipeline.name}, ${run.businessDate}) ${run.status}: ${run.tasksTotal} task(s), triggered by ${trigger}`,
        run_id: run.runId,
        pipeline: pipeline.name,
        business_date: run.businessDate,
        dataset_id: run.datasetId,
        trigger,
        correlation_id: run.correlationId,
        status: run.status,
      });
    } catch (e) {
      if (!(e instanceof DatasetLacksTablesError) && !(e instanceof DatasetOfAnotherTenantError)) throw e;
      const datasetId = e instanceof DatasetLacksTablesError ? { datasetId: dataset.datasetId } : {};
      await this.engine.failUnplannable({ ...meta, pipeline: pipeline.name, businessDate: dataset.businessDate, ...datasetId, reason: e.message });
      this.log.warn(e.message);
    }
  }

  @EventPattern(RunCancelRequested.detailType)
  async onRunCancelRequested(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunCancelRequested, event);
    await this.span('planner: Run Cancel Requested', event, async () => {
      const { runId, reason, requestedBy } = detail.data;
      const cancelled = await this.engine.cancelRun(runId, `${reason} (by ${requestedBy})`);
      this.log.log(cancelled ? `run ${runId} cancelled by ${requestedBy}` : `cancel of run ${runId} ignored: no such open run`);
    }, { 'nightshift.run_id': detail.data.runId });
  }

  /**
   * Retries a FAILED run as its next attempt. Idempotent per event id: a processed request is
   * skipped, and one whose handling was interrupted finishes the attempt it started (the run
   * records the request that reopened it), never starting another.
   */
  @EventPattern(RunRetryRequested.detailType)
  async onRunRetryRequested(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunRetryRequested, event);
    await this.span('planner: Run Retry Requested', event, async () => {
      const { eventId } = detail.metadata;
      const { runId, requestedBy, reason } = detail.data;
      if (await this.store.isProcessed(CONSUMER, eventId)) {
        this.log.log(`retry request ${eventId} for run ${runId} already handled`);
        return;
      }
      const outcome = await this.retrier.retry(runId, { eventId, requestedBy, ...(reason ? { reason } : {}) });
      switch (outcome.kind) {
        case 'retried':
          this.log.log(`run ${runId} retried by ${requestedBy} as attempt ${outcome.run.attempt ?? 1} (${outcome.run.status}): ${outcome.resubmitted} task(s) resubmitted`);
          break;
        case 'refused':
          this.log.warn(`run ${runId}: ${outcome.reason}`);
          break;
        case 'ignored':
          this.log.log(`retry of run ${runId} by ${requestedBy} ignored: ${outcome.reason}`);
          break;
      }
      await this.store.markProcessed(CONSUMER, eventId);
    }, { 'nightshift.run_id': detail.data.runId });
  }

  /**
   * The planner's own finished runs (rule planner-run-finished): a success starts the pipelines
   * chained after its pipeline. Extend here for other reactions to a finished run: Nest takes one
   * handler per detail-type.
   */
  @EventPattern(RunSucceeded.detailType)
  async onRunSucceeded(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunSucceeded, event);
    await this.span('planner: Run Succeeded', event, async (traceparent) => {
      const started = await this.chaining.onRunSucceeded(detail, traceparent);
      if (started.length > 0) this.log.log(`run ${detail.data.runId} (${detail.data.pipeline}) succeeded: started ${started.join(', ')} after it`);
      await this.onBackfillRunFinished(detail.data, traceparent);
    }, { 'nightshift.run_id': detail.data.runId });
  }

  /** The planner's own failed runs (rule planner-run-finished): a backfill's frees its place. Any other is acknowledged at once. */
  @EventPattern(RunFailed.detailType)
  async onRunFailed(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunFailed, event);
    if (detail.data.backfillId === undefined) return;
    await this.span('planner: Run Failed', event, (traceparent) => this.onBackfillRunFinished(detail.data, traceparent), { 'nightshift.run_id': detail.data.runId });
  }

  /** A run of a backfill ended: the backfill settles its date and starts the next. Runs of no backfill cost nothing. */
  private async onBackfillRunFinished(data: { runId: string; backfillId?: string | undefined }, traceparent: string): Promise<void> {
    if (data.backfillId === undefined || !this.backfills) return;
    const outcome = await this.backfills.advance(data.backfillId, traceparent);
    this.log.log(`run ${data.runId} of backfill ${data.backfillId} ended: ${describeAdvance(outcome)}`);
  }

  /** Records a person's answer to an approval step; the first answer to a waiting step wins, any later one is ignored. */
  @EventPattern(StepApprovalDecided.detailType)
  async onStepApprovalDecided(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(StepApprovalDecided, event);
    await this.span('planner: Step Approval Decided', event, async () => {
      const { runId, step, decision, decidedBy, comment } = detail.data;
      const outcome = await this.engine.decideApproval(runId, step, { decision, by: decidedBy, at: detail.metadata.occurredAt, ...(comment ? { comment } : {}) });
      if (outcome.kind === 'decided') this.log.log(`run ${runId}: step ${step} ${decision.toLowerCase()} by ${decidedBy}`);
      else this.log.log(`answer to step ${step} of run ${runId} ignored: ${outcome.reason}`);
    }, { 'nightshift.run_id': detail.data.runId });
  }

  @EventPattern(BatchJobStateChange.detailType)
  async onJobStateChange(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(BatchJobStateChange, event);
    // The job was submitted with its run attempt's span as TRACEPARENT: the handling is the run's work, under it.
    const runId = detail.parameters[JOB_PARAM_RUN_ID];
    const attributes = { ...(runId ? { 'nightshift.run_id': runId } : {}), 'aws.batch.job_id': detail.jobId, 'aws.batch.job.status': detail.status };
    await this.span(`planner: job ${detail.status}`, event, async (_traceparent, span) => {
      // The handling succeeds, but the job failed: the span says so, with AWS Batch's reason.
      if (detail.status === 'FAILED') span.fail(detail.statusReason ?? `job ${detail.jobId} failed`);
      await this.engine.onJobStateChange(detail);
    }, attributes);
  }

  /**
   * The span of one event's handling, child of the span the event carries. The terminal events of a
   * run carry the run's span, which has ended by then: their handling follows it (a linked root of
   * the run's trace).
   */
  private span(name: string, event: EventBridgeEvent, fn: (traceparent: string, span: SpanHandle) => Promise<void>, attributes: Record<string, string> = {}): Promise<void> {
    const traceparent = traceparentOf(event);
    const after = event['detail-type'] === RunSucceeded.detailType || event['detail-type'] === RunFailed.detailType;
    return withSpan(
      name,
      { ...(after ? { follows: traceparent } : { traceparent }), service: SERVICE, kind: 'consumer', attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'planner', ...attributes } },
      (span) => fn(span.traceparent(), span),
    );
  }
}
