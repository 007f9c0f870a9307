import { randomUUID } from 'node:crypto';
import { BadRequestException, Body, ConflictException, Controller, Get, Header, Headers, HttpCode, Inject, NotFoundException, Param, Post, Query, UnprocessableEntityException, UseGuards } from '@nestjs/common';
import { envelope, issuesToProblems, RunCancelRequested, RunRequested } from '@nightshift/contracts';
import type { EventPublisher } from '@nightshift/events-domain';
import {
  isTerminalRunStatus,
  planKeyFor,
  runIdFor,
  runProgress,
  tenantOf,
  DEFAULT_TENANT,
  type Clock,
  type ComputeEnvironment,
  type IdempotencyKeys,
  type JobLogs,
  type JobStore,
  type Report,
  type Run,
  type RunPlan,
  type StepExecution,
  type Task,
} from '@nightshift/jobs-domain';
import { withSpan } from '@nightshift/observability';
import { z } from 'zod';
import type { ObjectStore } from '@nightshift/storage-domain';
import { BearerAuthGuard, Caller, Public, RequireRole } from './auth/auth.guard.js';
import { tenantScope, type Principal } from './auth/principal.js';
import { canonicalHash } from './canonical-hash.js';
import { CLOCK, COMPUTE, EVENT_PUBLISHER, IDEMPOTENCY_KEYS, JOB_LOGS, JOB_STORE, OBJECT_STORE } from './tokens.js';

/** What `POST /runs` accepts: Run Requested's data, `requestedBy` defaulting to `api`; unknown fields are refused, not ignored. */
const runRequestBody = RunRequested.detail.shape.data.extend({ requestedBy: RunRequested.detail.shape.data.shape.requestedBy.default('api') }).strict();

/**
 * A client's `Idempotency-Key`: a retried request with the same key and body names the same run;
 * the same key with another body is refused (422), never a new run.
 */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/** The answer to an accepted run request: where the run will be, once the planner has it. */
export interface RunRequestAccepted {
  requestId: string;
  runId: string;
  pipeline: string;
  businessDate: string;
  location: string;
}

/** What the compute environment says of a step's job right now (asked when the run is read, not stored). */
export interface StepJobView {
  jobId: string;
  status: string;
  statusReason?: string;
  statusSummary?: Record<string, number>;
  /** Why the first RUNNABLE task of the step is waiting: needs, what is in use, how many jobs are ahead. */
  waitingReason?: string;
}

/** A run as the API shows it: its state, its steps (with their jobs' live state), progress, and one page of task records. */
export interface RunView extends Omit<Run, 'outbox'> {
  progress: ReturnType<typeof runProgress>;
  durationMs?: number;
  steps: Array<StepExecution & { job?: StepJobView }>;
  /** Task records (a task has one once its job reported), one page: `tasksNextToken` asks for the next. */
  tasks: Array<Task & { durationMs?: number }>;
  tasksNextToken?: string;
}

/** What `POST /runs/:id/cancel` accepts. */
const cancelBody = z.object({ reason: z.string().min(1).max(1024).optional(), requestedBy: z.string().min(1).max(256).default('api') }).strict();

function duration(from?: string, to?: string): number | undefined {
  return from && to ? Date.parse(to) - Date.parse(from) : undefined;
}

/**
 * REST API: runs and reports. Read-only over the job store and the object store. Every route but
 * `/health` takes a bearer token (see BearerAuthGuard); every read is of the caller's tenant, and
 * another tenant's run or report answers 404 as one that does not exist. A tenantless admin reads
 * every tenant, or one it names with `?tenant=`.
 */
@Controller()
@UseGuards(BearerAuthGuard)
export class ApiController {
  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(OBJECT_STORE) private readonly objects: ObjectStore,
    @Inject(EVENT_PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(COMPUTE) private readonly compute: ComputeEnvironment,
    @Inject(JOB_LOGS) private readonly logs: JobLogs,
    @Inject(IDEMPOTENCY_KEYS) private readonly idempotencyKeys: IdempotencyKeys,
  ) {}

  @Get('health')
  @Public()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Newest first, one page; `nextToken` (when present) asks for the next. */
  @Get('runs')
  async listRuns(
    @Caller() caller: Principal,
    @Query('tenant') tenant?: string,
    @Query('limit') limit?: string,
    @Query('nextToken') nextToken?: string,
  ): Promise<{ runs: Run[]; nextToken?: string }> {
    const scope = tenantScope(caller, tenant);
    const page = await this.store.listRuns({ limit: pageSize(limit, 50, 500), ...(scope !== undefined ? { tenant: scope } : {}), ...(nextToken ? { nextToken } : {}) });
    return { runs: page.items.map(withoutOutbox), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  /**
   * Asks for a run of one pipeline (e.g. re-running `desk-risk` alone) over a registered dataset:
   * publishes Run Requested and answers 202 with the run's id, which derives from the request (and
   * from its `Idempotency-Key`, when given: the key is bound to the sha256 of the canonical body on
   * first use, and reused with another body answers 422 and publishes nothing). The planner decides; an unknown pipeline or a dataset
   * that is missing, of another date or unfit shows as that run FAILED with the reason. The run is
   * the caller's tenant's (a tenantless admin's: `?tenant=`, else the default tenant); the body
   * cannot name another.
   */
  @Post('runs')
  @HttpCode(202)
  @RequireRole('operator')
  async requestRun(
    @Caller() caller: Principal,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey?: string,
    @Query('tenant') tenantParam?: string,
  ): Promise<RunRequestAccepted> {
    const tenant = tenantScope(caller, tenantParam) ?? DEFAULT_TENANT;
    const parsed = runRequestBody.safeParse(body ?? {});
    const problems = parsed.success ? [] : issuesToProblems(parsed.error.issues, 'body');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      problems.push({ path: 'headers.idempotency-key', message: 'must be 1-128 characters of letters, digits and ._:-' });
    }
    if (!parsed.success || problems.length > 0) throw new BadRequestException({ message: 'invalid run request', problems });
    const data = parsed.data;
    // The run id derives from the request id, so a retry with the same key finds the first run.
    // Keys are per tenant: one tenant's key never names another tenant's run.
    const requestId = idempotencyKey !== undefined ? `run-request-${tenant}-${idempotencyKey}` : randomUUID();
    // One conditional write binds the key to this body (after defaults, keys sorted), before anything is published.
    if (idempotencyKey !== undefined && !(await this.idempotencyKeys.claim(tenant, idempotencyKey, canonicalHash(data), this.clock.now()))) {
      throw new UnprocessableEntityException({
        message: `Idempotency-Key ${JSON.stringify(idempotencyKey)} was already used with a different request body; resend that body to get its run, or use a new key`,
        problems: [{ path: 'headers.idempotency-key', message: 'already used with a different request body' }],
      });
    }
    await withSpan('reporting: POST /runs', { kind: 'server', attributes: { 'nightshift.pipeline': data.pipeline } }, async (span) => {
      await this.publisher.publish([
        {
          source: RunRequested.source,
          detailType: RunRequested.detailType,
          detail: envelope(data, { eventId: requestId, correlationId: requestId, occurredAt: this.clock.now(), traceparent: span.traceparent(), tenant }),
        },
      ]);
    });
    const runId = runIdFor(data.pipeline, data.businessDate, requestId);
    return { requestId, runId, pipeline: data.pipeline, businessDate: data.businessDate, location: `/runs/${runId}` };
  }

  @Get('runs/:id')
  async getRun(
    @Caller() caller: Principal,
    @Param('id') id: string,
    @Query('tasksLimit') tasksLimit?: string,
    @Query('tasksNextToken') tasksNextToken?: string,
  ): Promise<RunView> {
    const run = await this.runOf(caller, id);
    const steps = await this.store.listSteps(id);
    const page = await this.store.listTasks(id, { limit: pageSize(tasksLimit, 500, 5000), ...(tasksNextToken ? { nextToken: tasksNextToken } : {}) });
    const durationMs = duration(run.startedAt, run.finishedAt);
    return {
      ...withoutOutbox(run),
      ...(durationMs !== undefined ? { durationMs } : {}),
      progress: runProgress(steps),
      steps: await Promise.all(steps.map(async (s) => (s.status === 'SUBMITTED' && s.jobId ? { ...s, ...(await this.jobView(s.jobId)) } : s))),
      tasks: page.items.map((t) => {
        const d = duration(t.startedAt, t.stoppedAt);
        return d === undefined ? t : { ...t, durationMs: d };
      }),
      ...(page.nextToken ? { tasksNextToken: page.nextToken } : {}),
    };
  }

  /**
   * Asks the planner to stop a run: it fails the run with the reason, terminates its jobs and
   * publishes Run Failed once. 202 with the run's location; 404 for an unknown run, 409 for one
   * that already finished.
   */
  @Post('runs/:id/cancel')
  @HttpCode(202)
  @RequireRole('operator')
  async cancelRun(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown): Promise<{ runId: string; location: string }> {
    const parsed = cancelBody.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestException({ message: 'invalid cancel request', problems: issuesToProblems(parsed.error.issues, 'body') });
    const run = await this.runOf(caller, id);
    if (isTerminalRunStatus(run.status)) throw new ConflictException(`run ${id} already finished: ${run.status}`);
    const data = { runId: id, reason: parsed.data.reason ?? 'cancelled through the API', requestedBy: parsed.data.requestedBy };
    await this.publisher.publish([
      {
        source: RunCancelRequested.source,
        detailType: RunCancelRequested.detailType,
        resources: [id],
        detail: envelope(data, { eventId: `run-cancel-${id}`, correlationId: run.correlationId, occurredAt: this.clock.now(), tenant: run.tenant }),
      },
    ]);
    return { runId: id, location: `/runs/${id}` };
  }

  /** What attempt `n` (1-based) of a task wrote, as text; the task id is `<step>#<partition>` (URL-encoded). */
  @Get('runs/:id/tasks/:taskId/attempts/:n/log')
  @Header('content-type', 'text/plain; charset=utf-8')
  async attemptLog(@Caller() caller: Principal, @Param('id') id: string, @Param('taskId') taskId: string, @Param('n') n: string): Promise<string> {
    const attempt = Number(n);
    if (!Number.isInteger(attempt) || attempt < 1) throw new BadRequestException(`attempt must be a positive integer, got ${JSON.stringify(n)}`);
    const [step, partition] = splitTaskId(taskId);
    await this.runOf(caller, id);
    let plan: RunPlan;
    try {
      plan = JSON.parse(Buffer.from(await this.objects.get(planKeyFor(id))).toString('utf8')) as RunPlan;
    } catch {
      throw new NotFoundException(`run ${id} not found`);
    }
    const index = plan.steps.find((s) => s.step === step)?.partitions.indexOf(partition) ?? -1;
    if (index < 0) throw new NotFoundException(`run ${id} has no task ${taskId}`);
    const task = await this.store.getTask(id, step, index);
    const record = task?.attempts[attempt - 1];
    if (!task || !record) throw new NotFoundException(`task ${taskId} of run ${id} has no attempt ${attempt}${task ? ` (it has ${task.attempts.length})` : ' yet'}`);
    if (!record.logStreamName) throw new NotFoundException(`attempt ${attempt} of task ${taskId} has no log stream (it never started)`);
    const log = await this.logs.read(record.logStreamName);
    if (!log) throw new NotFoundException(`log stream ${record.logStreamName} is gone`);
    return log.truncated ? `[... earlier output cut; the last ${log.bytes} bytes follow]\n${log.text}` : log.text;
  }

  /** The run, if the caller may read it: another tenant's is 404 as a missing one, so its existence does not leak. */
  private async runOf(caller: Principal, id: string): Promise<Run> {
    const run = await this.store.getRun(id);
    if (!run || !mayRead(caller, run)) throw new NotFoundException(`run ${id} not found`);
    return run;
  }

  /** The step's job as the compute environment sees it now, with why its first RUNNABLE task waits. */
  private async jobView(jobId: string): Promise<{ job?: StepJobView }> {
    const [job] = await this.compute.describeJobs([jobId]);
    if (!job) return {};
    let waitingReason = job.status === 'RUNNABLE' ? job.statusReason : undefined;
    if ((job.arrayProperties?.statusSummary?.['RUNNABLE'] ?? 0) > 0) {
      const [first] = await this.compute.listJobs({ arrayJobId: jobId, jobStatus: 'RUNNABLE' });
      if (first) waitingReason = (await this.compute.describeJobs([first.jobId]))[0]?.statusReason ?? first.statusReason;
    }
    return {
      job: {
        jobId,
        status: job.status,
        ...(job.statusReason ? { statusReason: job.statusReason } : {}),
        ...(job.arrayProperties?.statusSummary ? { statusSummary: job.arrayProperties.statusSummary } : {}),
        ...(waitingReason ? { waitingReason } : {}),
      },
    };
  }

  @Get('reports')
  async listReports(
    @Caller() caller: Principal,
    @Query('runId') runId?: string,
    @Query('tenant') tenant?: string,
    @Query('limit') limit?: string,
    @Query('nextToken') nextToken?: string,
  ): Promise<{ reports: Report[]; nextToken?: string }> {
    const scope = tenantScope(caller, tenant);
    const page = await this.store.listReports({
      limit: pageSize(limit, 50, 500),
      ...(runId ? { runId } : {}),
      ...(scope !== undefined ? { tenant: scope } : {}),
      ...(nextToken ? { nextToken } : {}),
    });
    return { reports: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  @Get('reports/:id')
  async getReport(@Caller() caller: Principal, @Param('id') id: string): Promise<Report & { document: unknown }> {
    const report = await this.store.getReport(id);
    if (!report || !mayRead(caller, report)) throw new NotFoundException(`report ${id} not found`);
    const document = JSON.parse(Buffer.from(await this.objects.get(report.key)).toString('utf8')) as unknown;
    return { ...report, document };
  }
}

/** A tenant-bound caller reads only its tenant's runs and reports; a tenantless admin reads all. */
function mayRead(caller: Principal, item: { tenant?: string }): boolean {
  return caller.tenant === undefined || tenantOf(item) === caller.tenant;
}

/** A page size from a query parameter: the default when absent or not a positive integer, capped. */
function pageSize(value: string | undefined, fallback: number, max: number): number {
  const n = value === undefined ? fallback : Number(value);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}

/** The outbox is the planner's bookkeeping, not part of what a run is to its readers. */
function withoutOutbox(run: Run): Omit<Run, 'outbox'> {
  const { outbox: _outbox, ...rest } = run;
  return rest;
}

function splitTaskId(taskId: string): [string, string] {
  const at = taskId.indexOf('#');
  if (at <= 0) throw new BadRequestException(`task id ${JSON.stringify(taskId)} is not <step>#<partition> (URL-encode "#" as %23)`);
  return [taskId.slice(0, at), taskId.slice(at + 1)];
}
