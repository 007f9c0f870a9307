import { randomUUID } from 'node:crypto';
import type { RunListQuery, RunRequestBody } from '@nightshift/api-contract';
import { envelope, RunCancelRequested, RunRequested, RunRetryRequested, StepApprovalDecided } from '@nightshift/contracts';
import { InvalidDeadLetterCursorError, UnknownDeadLetterQueueError, type DeadLetterQueues, type DeadLetterView, type EventPublisher } from '@nightshift/events-domain';
import {
  isTerminalRunStatus,
  planKeyFor,
  previousBusinessDayBefore,
  runIdFor,
  runProgress,
  tenantOf,
  DEFAULT_TENANT,
  type Clock,
  type ComputeEnvironment,
  type DatasetVersion,
  type IdempotencyKeys,
  type JobLogs,
  type JobStore,
  type Page,
  type PipelineDefinition,
  type Report,
  type Run,
  type RunPlan,
  type ScheduleState,
  type BackfillStore,
  type StepExecution,
  type Task,
} from '@nightshift/jobs-domain';
import { runTraceId, runTraceparent, withSpan } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { tenantScope, type Principal } from '../auth/principal.js';
import { canonicalHash } from '../canonical-hash.js';
import { ApiProblemError, badRequest, conflict, forbidden, notFound } from './api-problem.js';
import { BackfillApi } from './backfill-api.js';
import { scheduleViews, type ScheduleView } from './schedule-views.js';

/** One page of a listing as the API gives it. */
export interface ApiPage<T> {
  items: T[];
  nextCursor?: string;
}

/** What the compute environment says of a step's job right now (asked when the run is read, not stored). */
export interface StepJobView {
  jobId: string;
  status: string;
  statusReason?: string;
  statusSummary?: Record<string, number>;
  /** Why the first RUNNABLE task of the step waits: needs, what is in use, how many jobs are ahead. */
  waitingReason?: string;
}

export type RunView = Omit<Run, 'outbox'> & { durationMs?: number; traceId: string };
/** A run with its steps (and their jobs now), progress and one page of task records. */
export type RunDetailView = RunView & {
  progress: ReturnType<typeof runProgress>;
  steps: Array<StepExecution & { job?: StepJobView }>;
  tasks: TaskView[];
  tasksNextCursor?: string;
};
export type TaskView = Task & { durationMs?: number; attempts: Array<Task['attempts'][number] & { logUrl?: string }> };

/** The ports the API reads and writes through. */
export interface PlatformApiPorts {
  store: JobStore;
  objects: ObjectStore;
  publisher: EventPublisher;
  clock: Clock;
  compute: ComputeEnvironment;
  logs: JobLogs;
  idempotencyKeys: IdempotencyKeys;
  /** The schedules' cursors and fire records, for the pipelines' schedules. */
  schedules: ScheduleState;
  pipelines: readonly PipelineDefinition[];
  deadLetters: DeadLetterQueues;
  /** The backfills' records (`POST /backfills` and its siblings). */
  backfills: BackfillStore;
  /** Where a run's trace is read from: the platform's trace file; absent when spans go to an OTLP endpoint. */
  traces?: RunTraces;
}

/** Reads one trace's spans back (the embedded platform's trace file). */
export interface RunTraces {
  read(traceId: string): Promise<{ resourceSpans: unknown[] }>;
}

/**
 * What the REST API and GraphQL do, once: every query and command takes the authenticated caller
 * and applies its role's tenant scope (another tenant's run, report, dataset or landing is 404, as
 * one that does not exist), and every refusal is an {@link ApiProblemError}, so both interfaces
 * answer alike. Reads go to the job store and the object store; commands are events for the planner.
 */
export class PlatformApi {
  /** Backfills: the same callers, tenancy and problems, in a class of their own. */
  readonly backfills: BackfillApi;

  constructor(private readonly ports: PlatformApiPorts) {
    this.backfills = new BackfillApi(ports);
  }

  // ---- runs -------------------------------------------------------------------------------------

  async listRuns(caller: Principal, query: Omit<RunListQuery, 'limit'> & { limit?: number }): Promise<ApiPage<RunView>> {
    const scope = tenantScope(caller, query.tenant);
    const from = query.businessDate ?? query.businessDateFrom;
    const to = query.businessDate ?? query.businessDateTo;
    const page = await this.ports.store.listRuns({
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(scope !== undefined ? { tenant: scope } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.pipeline ? { pipeline: query.pipeline } : {}),
      ...(from ? { businessDateFrom: from } : {}),
      ...(to ? { businessDateTo: to } : {}),
      ...(query.correlationId ? { correlationId: query.correlationId } : {}),
      ...(query.datasetId ? { datasetId: query.datasetId } : {}),
      ...(query.cursor ? { nextToken: query.cursor } : {}),
    });
    return apiPage(page, runView);
  }

  /** The run, if the caller may read it: another tenant's is 404 as a missing one, so its existence does not leak. */
  async run(caller: Principal, runId: string): Promise<Run> {
    const run = await this.ports.store.getRun(runId);
    if (!run || !mayRead(caller, run)) throw notFound(`run ${runId} not found`);
    return run;
  }

  async getRun(caller: Principal, runId: string, tasks: { limit?: number; cursor?: string } = {}): Promise<RunDetailView> {
    const run = await this.run(caller, runId);
    const steps = await this.ports.store.listSteps(runId);
    const page = await this.listTasks(caller, run, tasks);
    return {
      ...runView(run),
      progress: runProgress(steps),
      steps: await Promise.all(steps.map((s) => this.stepView(s))),
      tasks: page.items,
      ...(page.nextCursor ? { tasksNextCursor: page.nextCursor } : {}),
    };
  }

  /** Steps of a run the caller may read, each with its job's live state while SUBMITTED. */
  async steps(caller: Principal, run: Run): Promise<Array<StepExecution & { job?: StepJobView }>> {
    if (!mayRead(caller, run)) throw notFound(`run ${run.runId} not found`);
    const steps = await this.ports.store.listSteps(run.runId);
    return Promise.all(steps.map((s) => this.stepView(s)));
  }

  async listTasks(caller: Principal, run: Run, options: { step?: string; limit?: number; cursor?: string } = {}): Promise<ApiPage<TaskView>> {
    if (!mayRead(caller, run)) throw notFound(`run ${run.runId} not found`);
    const page = await this.ports.store.listTasks(run.runId, {
      ...(options.step ? { step: options.step } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.cursor ? { nextToken: options.cursor } : {}),
    });
    return apiPage(page, taskView);
  }

  /**
   * Asks for a run of one pipeline over a registered dataset: publishes Run Requested and answers
   * with the run's id, which derives from the request (and from its `Idempotency-Key`, when given:
   * the key is bound to the sha256 of the canonical body on first use, and reused with another body
   * is 422 and publishes nothing). The run is the caller's tenant's (a tenantless admin's: `tenant`,
   * else the default tenant); the body cannot name another.
   */
  async requestRun(caller: Principal, body: RunRequestBody, options: { idempotencyKey?: string; tenant?: string } = {}) {
    const tenant = tenantScope(caller, options.tenant) ?? DEFAULT_TENANT;
    const data = { ...body, businessDate: body.businessDate ?? this.defaultBusinessDate(body.pipeline), requestedBy: body.requestedBy ?? caller.subject };
    const { idempotencyKey } = options;
    // The run id derives from the request id, so a retry with the same key finds the first run.
    // Keys are per tenant: one tenant's key never names another tenant's run.
    const requestId = idempotencyKey !== undefined ? `run-request-${tenant}-${idempotencyKey}` : randomUUID();
    // One conditional write binds the key to this body (after defaults, keys sorted), before anything is published.
    if (idempotencyKey !== undefined && !(await this.ports.idempotencyKeys.claim(tenant, idempotencyKey, canonicalHash(data), this.ports.clock.now()))) {
      throw new ApiProblemError(
        422,
        `Idempotency-Key ${JSON.stringify(idempotencyKey)} was already used with a different request body; resend that body to get its run, or use a new key`,
        [{ path: 'headers.idempotency-key', message: 'already used with a different request body' }],
      );
    }
    const runId = runIdFor(data.pipeline, data.businessDate, requestId);
    // Inside the request's server span (the caller's trace), linked to the run's own trace.
    await withSpan('reporting: POST /runs', { links: [runTraceparent(runId)], attributes: { 'nightshift.pipeline': data.pipeline, 'nightshift.run_id': runId } }, async (span) => {
      await this.ports.publisher.publish([
        {
          source: RunRequested.source,
          detailType: RunRequested.detailType,
          detail: envelope(data, { eventId: requestId, correlationId: requestId, occurredAt: this.ports.clock.now(), traceparent: span.traceparent(), tenant }),
        },
      ]);
    });
    return { requestId, runId, pipeline: data.pipeline, businessDate: data.businessDate, location: runLocation(runId) };
  }

  /**
   * The business date of a request that gives none: the last business day of the pipeline's calendar
   * before today (UTC), as a nightly run covers; of the weekday calendar for a pipeline not defined
   * here (the planner records that run as failed, naming the pipeline).
   */
  private defaultBusinessDate(pipeline: string): string {
    const calendar = this.ports.pipelines.find((p) => p.name === pipeline)?.calendar ?? 'WEEKDAYS';
    return previousBusinessDayBefore(calendar, this.ports.clock.now());
  }

  /**
   * Asks the planner to stop a run: it fails the run with the reason, terminates its jobs and
   * publishes Run Failed once. 404 for an unknown run, 409 for one that already finished.
   */
  async cancelRun(caller: Principal, runId: string, body: { reason?: string; requestedBy?: string } = {}) {
    const run = await this.run(caller, runId);
    if (isTerminalRunStatus(run.status)) throw conflict(`run ${runId} already finished: ${run.status}`);
    const data = { runId, reason: body.reason ?? 'cancelled through the API', requestedBy: body.requestedBy ?? caller.subject };
    return this.commandRun(run, RunCancelRequested, data, `run-cancel-${runId}`);
  }

  /**
   * Asks the planner to run a FAILED run's failed tasks again, as the run's next attempt (succeeded
   * tasks keep their results). 404 for an unknown run, 409 unless it is FAILED. The event id names
   * the attempt being retried, so asking twice before the planner acts starts one attempt, not two.
   */
  async retryRun(caller: Principal, runId: string, body: { reason?: string; requestedBy?: string } = {}) {
    const run = await this.run(caller, runId);
    if (run.status !== 'FAILED') throw conflict(`run ${runId} is ${run.status}: only a FAILED run can be retried`);
    const attempt = run.attempt ?? 1;
    const data = { runId, requestedBy: body.requestedBy ?? caller.subject, ...(body.reason !== undefined ? { reason: body.reason } : {}) };
    return this.commandRun(run, RunRetryRequested, data, `run-retry-${runId}-after-attempt-${attempt}`);
  }

  /**
   * Passes a person's answer to a run's approval step to the planner. 404 for an unknown run or a
   * step that is not an approval of its pipeline; 409 unless the step is WAITING. The event id names
   * the answer and the run's attempt: asking twice is one answer; approve and reject both sent
   * while the step waits are decided by the planner, first come first served.
   */
  async decideApproval(caller: Principal, runId: string, step: string, decision: 'APPROVED' | 'REJECTED', body: { comment?: string } = {}) {
    const run = await this.run(caller, runId);
    const def = this.ports.pipelines.find((p) => p.name === run.pipeline)?.steps.find((s) => s.name === step);
    if (!def?.approval) throw notFound(`run ${runId} has no approval step ${step}`);
    const exec = await this.ports.store.getStep(runId, step);
    if (exec?.status !== 'WAITING' || isTerminalRunStatus(run.status)) {
      throw conflict(`step ${step} of run ${runId} is ${exec?.status ?? 'not planned'} (run ${run.status}): only a WAITING approval can be answered`);
    }
    const data = { runId, step, decision, decidedBy: caller.subject, ...(body.comment !== undefined ? { comment: body.comment } : {}) };
    return this.commandRun(run, StepApprovalDecided, data, `step-approval-${runId}-${step}-${decision.toLowerCase()}-a${run.attempt ?? 1}`);
  }

  /**
   * Publishes a command about one run for the planner (cancel, retry, an approval's answer), in the
   * run's flow and tenant, under `eventId` (which makes asking twice one request), and answers where
   * to follow its effect.
   */
  private async commandRun<T>(run: Run, contract: { source: string; detailType: string }, data: T, eventId: string): Promise<{ runId: string; location: string }> {
    await this.ports.publisher.publish([
      {
        source: contract.source,
        detailType: contract.detailType,
        resources: [run.runId],
        detail: envelope(data, { eventId, correlationId: run.correlationId, occurredAt: this.ports.clock.now(), tenant: run.tenant }),
      },
    ]);
    return { runId: run.runId, location: runLocation(run.runId) };
  }

  /** What attempt `attempt` (1-based) of task `<step>#<partition>` wrote, as text. */
  /** The run's trace (every span whose trace id is the run's) as one OTLP/JSON export request. */
  async runTrace(caller: Principal, runId: string): Promise<{ traceId: string; resourceSpans: unknown[] }> {
    const run = await this.run(caller, runId);
    const traceId = runTraceId(run.runId);
    if (!this.ports.traces) throw notFound(`this platform exports its spans to an OTLP endpoint, not to a file it can read back: look up trace ${traceId} there`);
    return { traceId, ...(await this.ports.traces.read(traceId)) };
  }

  async attemptLog(caller: Principal, runId: string, taskId: string, attempt: number): Promise<string> {
    const at = taskId.indexOf('#');
    const [step, partition] = [taskId.slice(0, at), taskId.slice(at + 1)];
    await this.run(caller, runId);
    let plan: RunPlan;
    try {
      plan = JSON.parse(Buffer.from(await this.ports.objects.get(planKeyFor(runId))).toString('utf8')) as RunPlan;
    } catch {
      throw notFound(`run ${runId} has no plan yet`);
    }
    const index = plan.steps.find((s) => s.step === step)?.partitions.indexOf(partition) ?? -1;
    if (index < 0) throw notFound(`run ${runId} has no task ${taskId}`);
    const task = await this.ports.store.getTask(runId, step, index);
    const record = task?.attempts[attempt - 1];
    if (!task || !record) throw notFound(`task ${taskId} of run ${runId} has no attempt ${attempt}${task ? ` (it has ${task.attempts.length})` : ' yet'}`);
    if (!record.logStreamName) throw notFound(`attempt ${attempt} of task ${taskId} has no log stream (it never started)`);
    const log = await this.ports.logs.read(record.logStreamName);
    if (!log) throw notFound(`log stream ${record.logStreamName} is gone`);
    return log.truncated ? `[... earlier output cut; the last ${log.bytes} bytes follow]\n${log.text}` : log.text;
  }

  // ---- reports ----------------------------------------------------------------------------------

  async listReports(caller: Principal, query: { runId?: string; tenant?: string; limit?: number; cursor?: string }): Promise<ApiPage<Report>> {
    const scope = tenantScope(caller, query.tenant);
    const page = await this.ports.store.listReports({
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.runId ? { runId: query.runId } : {}),
      ...(scope !== undefined ? { tenant: scope } : {}),
      ...(query.cursor ? { nextToken: query.cursor } : {}),
    });
    return apiPage(page, (r) => r);
  }

  async getReport(caller: Principal, reportId: string): Promise<Report & { document: unknown }> {
    const report = await this.ports.store.getReport(reportId);
    if (!report || !mayRead(caller, report)) throw notFound(`report ${reportId} not found`);
    return { ...report, document: await this.reportDocument(caller, report) };
  }

  // ---- datasets and landings --------------------------------------------------------------------

  async listDatasets(caller: Principal, query: { dataset?: string; tenant?: string; limit?: number; cursor?: string }): Promise<ApiPage<DatasetVersion>> {
    const scope = tenantScope(caller, query.tenant);
    const page = await this.ports.store.listDatasetVersions({
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.dataset ? { dataset: query.dataset } : {}),
      ...(scope !== undefined ? { tenant: scope } : {}),
      ...(query.cursor ? { nextToken: query.cursor } : {}),
    });
    return apiPage(page, (v) => v);
  }

  /** The version, if the caller may read it: another tenant's is 404 as a missing one. */
  async dataset(caller: Principal, datasetId: string): Promise<DatasetVersion> {
    const version = await this.ports.store.getDatasetVersion(datasetId);
    if (!version || !mayRead(caller, version)) throw notFound(`dataset version ${datasetId} not found`);
    return version;
  }

  /** A dataset version with its files and checksums, and (one page of) the runs it triggered or was requested for. */
  async getDataset(caller: Principal, datasetId: string, runs: { limit?: number; cursor?: string } = {}) {
    const version = await this.dataset(caller, datasetId);
    const page = await this.listRuns(caller, { datasetId, ...(runs.limit !== undefined ? { limit: runs.limit } : {}), ...(runs.cursor ? { cursor: runs.cursor } : {}) });
    return { ...version, runs: page.items, ...(page.nextCursor ? { runsNextCursor: page.nextCursor } : {}) };
  }

  /**
   * What became of a Dataset Landed event: ACCEPTED with the version it registered (or, already
   * registered, the version it matched), or REJECTED with every reason. 404 until ingestion has
   * handled it, and for another tenant's landing.
   */
  async getLanding(caller: Principal, landedEventId: string) {
    const landing = await this.ports.store.getLanding(landedEventId);
    if (!landing || !mayRead(caller, landing)) throw notFound(`landing ${landedEventId} not found (not landed, not handled yet, or not this tenant's)`);
    if (landing.status === 'REJECTED') return landing;
    const version = await this.ports.store.getDatasetVersion(landing.datasetId);
    return { ...landing, ...(version ? { version } : {}) };
  }

  // ---- pipelines --------------------------------------------------------------------------------

  /**
   * Pipeline definitions by name (the same for every tenant: pipelines are the platform's), each
   * schedule with its next fire times and its last fires (two store reads per schedule).
   */
  async listPipelines(_caller: Principal, query: { limit?: number; cursor?: string } = {}): Promise<ApiPage<PipelineView>> {
    const sorted = [...this.ports.pipelines].sort((a, b) => a.name.localeCompare(b.name));
    const after = query.cursor === undefined ? undefined : decodeNameCursor(query.cursor);
    const rest = after === undefined ? sorted : sorted.filter((p) => p.name > after);
    const limit = query.limit ?? 100;
    const items = await Promise.all(rest.slice(0, limit).map((p) => this.pipelineWithSchedules(p)));
    const last = items.at(-1);
    return { items, ...(rest.length > limit && last ? { nextCursor: encodeNameCursor(last.name) } : {}) };
  }

  async getPipeline(_caller: Principal, name: string): Promise<PipelineView> {
    const pipeline = this.ports.pipelines.find((p) => p.name === name);
    if (!pipeline) throw notFound(`pipeline ${name} not found (known: ${this.ports.pipelines.map((p) => p.name).join(', ')})`);
    return this.pipelineWithSchedules(pipeline);
  }

  /** A pipeline's definition by name, without its schedules' state: for lookups of its steps (vCPUs, analytics). */
  pipelineDefinition(name: string): PipelineDefinition | undefined {
    return this.ports.pipelines.find((p) => p.name === name);
  }

  private async pipelineWithSchedules(pipeline: PipelineDefinition): Promise<PipelineView> {
    return { ...pipelineView(pipeline), schedules: await scheduleViews(pipeline, this.ports.schedules, this.ports.clock.now()) };
  }

  // ---- dead letters -----------------------------------------------------------------------------

  /**
   * Dead letters of one service queue, or of every queue (queue by queue, each oldest first), of
   * the caller's tenant (a tenantless admin: every tenant's, or `tenant`'s). Reading them consumes
   * nothing. An unknown queue is 404, naming the known ones.
   */
  async listDeadLetters(caller: Principal, query: { queue?: string; tenant?: string; limit?: number; cursor?: string }): Promise<ApiPage<DeadLetterView>> {
    const scope = tenantScope(caller, query.tenant);
    const known = this.ports.deadLetters.queues();
    if (query.queue !== undefined && !known.includes(query.queue)) throw notFound(new UnknownDeadLetterQueueError(query.queue, known).message);
    const queues = query.queue !== undefined ? [query.queue] : [...known];
    let at = decodeDeadLetterListCursor(query.cursor, queues);
    const limit = query.limit ?? 20;
    const items: DeadLetterView[] = [];
    while (at && items.length < limit) {
      const queue: string = at.queue;
      let page;
      try {
        page = await this.ports.deadLetters.list(queue, { limit: limit - items.length, ...(at.cursor ? { cursor: at.cursor } : {}), ...(scope !== undefined ? { tenant: scope } : {}) });
      } catch (e) {
        if (e instanceof InvalidDeadLetterCursorError) throw badRequest(e.message, [{ path: 'query.cursor', message: 'not issued by this listing' }]);
        throw e;
      }
      items.push(...page.items);
      const next = queues[queues.indexOf(queue) + 1];
      at = page.nextCursor ? { queue, cursor: page.nextCursor } : next !== undefined ? { queue: next } : undefined;
    }
    return { items, ...(at ? { nextCursor: encodeDeadLetterListCursor(at) } : {}) };
  }

  /** Moves a queue's dead letters back to it for another delivery: platform-wide, so a tenantless admin's alone. */
  async redrive(caller: Principal, queue: string, body: { max?: number } = {}): Promise<{ queue: string; moved: number }> {
    if (caller.tenant !== undefined) throw forbidden(`redriving a queue moves every tenant's messages: it needs a tenantless admin token; this one acts for tenant ${caller.tenant}`);
    const known = this.ports.deadLetters.queues();
    if (!known.includes(queue)) throw notFound(new UnknownDeadLetterQueueError(queue, known).message);
    const { moved } = await this.ports.deadLetters.redrive(queue, body.max !== undefined ? { max: body.max } : {});
    return { queue, moved };
  }

  /** The step's job as the compute environment sees it now, with why its first RUNNABLE task waits. */
  private async stepView(step: StepExecution): Promise<StepExecution & { job?: StepJobView }> {
    if (step.status !== 'SUBMITTED' || !step.jobId) return step;
    const jobId = step.jobId;
    const [job] = await this.ports.compute.describeJobs([jobId]);
    if (!job) return step;
    let waitingReason = job.status === 'RUNNABLE' ? job.statusReason : undefined;
    if ((job.arrayProperties?.statusSummary?.['RUNNABLE'] ?? 0) > 0) {
      const [first] = await this.ports.compute.listJobs({ arrayJobId: jobId, jobStatus: 'RUNNABLE' });
      if (first) waitingReason = (await this.ports.compute.describeJobs([first.jobId]))[0]?.statusReason ?? first.statusReason;
    }
    return {
      ...step,
      job: {
        jobId,
        status: job.status,
        ...(job.statusReason ? { statusReason: job.statusReason } : {}),
        ...(job.arrayProperties?.statusSummary ? { statusSummary: job.arrayProperties.statusSummary } : {}),
        ...(waitingReason ? { waitingReason } : {}),
      },
    };
  }

  // ---- batch reads (GraphQL: a bounded number of store reads per page of runs, not one per run) --

  /**
   * The steps of runs the caller may read, by run id, each run's by step name (as `steps`, without
   * their jobs): one batch read of the steps the runs' pipelines name. A run of a pipeline not
   * defined here, or whose named steps are not found (a renamed step), is read with `listSteps`.
   */
  async stepsOfRuns(caller: Principal, runs: readonly Run[]): Promise<Map<string, StepExecution[]>> {
    for (const run of runs) if (!mayRead(caller, run)) throw notFound(`run ${run.runId} not found`);
    const pipelines = new Map(this.ports.pipelines.map((p) => [p.name, p]));
    const refs = runs.flatMap((r) => pipelines.get(r.pipeline)?.steps.map((s) => ({ runId: r.runId, step: s.name })) ?? []);
    const byRun = new Map<string, StepExecution[]>(runs.map((r) => [r.runId, []]));
    for (const step of refs.length > 0 ? await this.ports.store.getSteps(refs) : []) byRun.get(step.runId)?.push(step);
    const unnamed = runs.filter((r) => !pipelines.has(r.pipeline) || (byRun.get(r.runId)?.length === 0 && r.tasksTotal > 0));
    await Promise.all(unnamed.map(async (r) => byRun.set(r.runId, await this.ports.store.listSteps(r.runId))));
    for (const steps of byRun.values()) steps.sort((a, b) => (a.step < b.step ? -1 : a.step > b.step ? 1 : 0));
    return byRun;
  }

  /** Task records of steps of runs the caller may read, in the order given: each step's first `indexLimit` children's (all when absent), in one batch read. */
  async tasksOfSteps(caller: Principal, steps: ReadonlyArray<{ run: Run; step: StepExecution }>, options: { indexLimit?: number } = {}): Promise<TaskView[]> {
    for (const { run } of steps) if (!mayRead(caller, run)) throw notFound(`run ${run.runId} not found`);
    return (await this.ports.store.listTasksOfSteps(steps.map((s) => s.step), options)).map(taskView);
  }

  /** The jobs of steps of a run the caller may read, as the compute environment sees them now (undefined unless SUBMITTED). */
  async stepJobs(caller: Principal, run: Run, steps: readonly StepExecution[]): Promise<Array<StepJobView | undefined>> {
    if (!mayRead(caller, run)) throw notFound(`run ${run.runId} not found`);
    return Promise.all(steps.map(async (s) => (await this.stepView(s)).job));
  }

  /** The document of a report the caller may read, as `getReport` gives it, for a report already read (a listing's). */
  async reportDocument(caller: Principal, report: Report): Promise<unknown> {
    if (!mayRead(caller, report)) throw notFound(`report ${report.reportId} not found`);
    return JSON.parse(Buffer.from(await this.ports.objects.get(report.key)).toString('utf8')) as unknown;
  }
}

/** A tenant-bound caller reads only its tenant's runs, reports, datasets and landings; a tenantless admin reads all. */
export function mayRead(caller: Principal, item: { tenant?: string }): boolean {
  return caller.tenant === undefined || tenantOf(item) === caller.tenant;
}

export function runLocation(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

function apiPage<T, U>(page: Page<T>, view: (item: T) => U): ApiPage<U> {
  return { items: page.items.map(view), ...(page.nextToken ? { nextCursor: page.nextToken } : {}) };
}

function duration(from?: string, to?: string): number | undefined {
  return from && to ? Date.parse(to) - Date.parse(from) : undefined;
}

/** A run as readers see it: without the planner's outbox, with its duration once finished and its trace's id. */
export function runView(run: Run): RunView {
  const { outbox: _outbox, ...rest } = run;
  const durationMs = duration(run.startedAt, run.finishedAt);
  const traceId = runTraceId(run.runId);
  return durationMs === undefined ? { ...rest, traceId } : { ...rest, durationMs, traceId };
}

function taskView(task: Task): TaskView {
  const durationMs = duration(task.startedAt, task.stoppedAt);
  const attempts = task.attempts.map((a) => (a.logStreamName ? { ...a, logUrl: `${runLocation(task.runId)}/tasks/${encodeURIComponent(task.taskId)}/attempts/${a.attempt}/log` } : a));
  return { ...task, attempts, ...(durationMs !== undefined ? { durationMs } : {}) };
}

function pipelineView(p: PipelineDefinition) {
  return {
    name: p.name,
    description: p.description,
    trigger: p.trigger,
    requiredTables: [...p.requiredTables],
    steps: p.steps.map((s) => ({
      name: s.name,
      ...(s.analytic !== undefined ? { analytic: s.analytic } : {}),
      ...(s.command !== undefined ? { command: [...s.command] } : {}),
      ...(s.bare !== undefined ? { bare: s.bare } : {}),
      ...(s.image !== undefined ? { image: s.image } : {}),
      ...(s.wait !== undefined ? { wait: s.wait } : {}),
      ...(s.approval !== undefined ? { approval: s.approval } : {}),
      ...(s.when !== undefined ? { when: s.when } : {}),
      ...(s.onFailure !== undefined ? { onFailure: s.onFailure } : {}),
      fanOut: s.fanOut,
      dependsOn: [...s.dependsOn],
      nToN: [...s.nToN],
      vcpus: s.vcpus,
      memoryMiB: s.memoryMiB,
      attempts: s.attempts,
      timeoutSeconds: s.timeoutSeconds,
      queue: s.queue,
    })),
    ...(p.timeoutSeconds !== undefined ? { timeoutSeconds: p.timeoutSeconds } : {}),
    calendar: p.calendar,
  };
}

/** A pipeline as the API describes it: its definition, and its schedules with their state. */
export type PipelineView = ReturnType<typeof pipelineView> & { schedules: ScheduleView[] };

function encodeNameCursor(name: string): string {
  return Buffer.from(JSON.stringify({ after: name }), 'utf8').toString('base64url');
}

function decodeNameCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // refused below
  }
  throw new ApiProblemError(400, `cursor ${JSON.stringify(cursor.slice(0, 80))} was not issued by this listing`, [{ path: 'query.cursor', message: 'not issued by this listing' }]);
}

/** Where a listing of dead letters across queues resumes: a queue, and the adapter's cursor in it. */
interface DeadLetterListPosition {
  queue: string;
  cursor?: string;
}

function encodeDeadLetterListCursor(at: DeadLetterListPosition): string {
  return Buffer.from(JSON.stringify(at), 'utf8').toString('base64url');
}

/** The first queue when there is no cursor; a cursor naming a queue outside `queues` is refused. */
function decodeDeadLetterListCursor(cursor: string | undefined, queues: readonly string[]): DeadLetterListPosition | undefined {
  if (cursor === undefined) return queues[0] !== undefined ? { queue: queues[0] } : undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<DeadLetterListPosition>;
    if (typeof parsed.queue === 'string' && queues.includes(parsed.queue) && (parsed.cursor === undefined || typeof parsed.cursor === 'string')) {
      return { queue: parsed.queue, ...(parsed.cursor !== undefined ? { cursor: parsed.cursor } : {}) };
    }
  } catch {
    // refused below
  }
  throw badRequest(`cursor ${JSON.stringify(cursor.slice(0, 80))} was not issued by this listing`, [{ path: 'query.cursor', message: 'not issued by this listing' }]);
}
