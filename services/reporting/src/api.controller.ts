import { randomUUID } from 'node:crypto';
import { BadRequestException, Body, Controller, Get, Headers, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { envelope, issuesToProblems, RunRequested } from '@nightshift/contracts';
import type { EventPublisher } from '@nightshift/events-domain';
import { runIdFor, runProgress, type Clock, type JobStore, type Report, type Run, type Task } from '@nightshift/jobs-domain';
import { withSpan } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { CLOCK, EVENT_PUBLISHER, JOB_STORE, OBJECT_STORE } from './tokens.js';

/** What `POST /runs` accepts: Run Requested's data, `requestedBy` defaulting to `api`; unknown fields are refused, not ignored. */
const runRequestBody = RunRequested.detail.shape.data.extend({ requestedBy: RunRequested.detail.shape.data.shape.requestedBy.default('api') }).strict();

/** A client's `Idempotency-Key`: a retried request with the same key names the same run. */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/** The answer to an accepted run request: where the run will be, once the planner has it. */
export interface RunRequestAccepted {
  requestId: string;
  runId: string;
  pipeline: string;
  businessDate: string;
  location: string;
}

/** A run as the API shows it: its state, its tasks, and progress per step. */
export interface RunView extends Run {
  progress: ReturnType<typeof runProgress>;
  durationMs?: number;
  tasks: Array<Task & { durationMs?: number }>;
}

function duration(from?: string, to?: string): number | undefined {
  return from && to ? Date.parse(to) - Date.parse(from) : undefined;
}

/** REST API: runs and reports. Read-only over the job store and the object store. */
@Controller()
export class ApiController {
  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(OBJECT_STORE) private readonly objects: ObjectStore,
    @Inject(EVENT_PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('runs')
  async listRuns(@Query('limit') limit?: string): Promise<{ runs: Run[] }> {
    const n = limit === undefined ? 50 : Number(limit);
    return { runs: await this.store.listRuns({ limit: Number.isInteger(n) && n > 0 ? Math.min(n, 500) : 50 }) };
  }

  /**
   * Asks for a run of one pipeline (e.g. re-running `desk-risk` alone) over a registered dataset:
   * publishes Run Requested and answers 202 with the run's id, which derives from the request (and
   * from its `Idempotency-Key`, when given). The planner decides; an unknown pipeline or a dataset
   * that is missing, of another date or unfit shows as that run FAILED with the reason.
   */
  @Post('runs')
  @HttpCode(202)
  async requestRun(@Body() body: unknown, @Headers('idempotency-key') idempotencyKey?: string): Promise<RunRequestAccepted> {
    const parsed = runRequestBody.safeParse(body ?? {});
    const problems = parsed.success ? [] : issuesToProblems(parsed.error.issues, 'body');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      problems.push({ path: 'headers.idempotency-key', message: 'must be 1-128 characters of letters, digits and ._:-' });
    }
    if (!parsed.success || problems.length > 0) throw new BadRequestException({ message: 'invalid run request', problems });
    const data = parsed.data;
    // The run id derives from the request id, so a retry with the same key finds the first run.
    const requestId = idempotencyKey !== undefined ? `run-request-${idempotencyKey}` : randomUUID();
    await withSpan('reporting: POST /runs', { kind: 'server', attributes: { 'nightshift.pipeline': data.pipeline } }, async (span) => {
      await this.publisher.publish([
        {
          source: RunRequested.source,
          detailType: RunRequested.detailType,
          detail: envelope(data, { eventId: requestId, correlationId: requestId, occurredAt: this.clock.now(), traceparent: span.traceparent() }),
        },
      ]);
    });
    const runId = runIdFor(data.pipeline, data.businessDate, requestId);
    return { requestId, runId, pipeline: data.pipeline, businessDate: data.businessDate, location: `/runs/${runId}` };
  }

  @Get('runs/:id')
  async getRun(@Param('id') id: string): Promise<RunView> {
    const run = await this.store.getRun(id);
    if (!run) throw new NotFoundException(`run ${id} not found`);
    const tasks = await this.store.listTasks(id);
    const durationMs = duration(run.startedAt, run.finishedAt);
    return {
      ...run,
      ...(durationMs !== undefined ? { durationMs } : {}),
      progress: runProgress(tasks),
      tasks: tasks.map((t) => {
        const d = duration(t.startedAt, t.stoppedAt);
        return d === undefined ? t : { ...t, durationMs: d };
      }),
    };
  }

  @Get('reports')
  async listReports(@Query('runId') runId?: string): Promise<{ reports: Report[] }> {
    return { reports: await this.store.listReports(runId ? { runId } : {}) };
  }

  @Get('reports/:id')
  async getReport(@Param('id') id: string): Promise<Report & { document: unknown }> {
    const report = await this.store.getReport(id);
    if (!report) throw new NotFoundException(`report ${id} not found`);
    const document = JSON.parse(Buffer.from(await this.objects.get(report.key)).toString('utf8')) as unknown;
    return { ...report, document };
  }
}
