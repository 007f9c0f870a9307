import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { runProgress, type JobStore, type Report, type Run, type Task } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';
import { JOB_STORE, OBJECT_STORE } from './tokens.js';

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
