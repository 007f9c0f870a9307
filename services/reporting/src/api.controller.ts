import { Body, Controller, Get, Header, Headers, HttpCode, Inject, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { BearerAuthGuard, Caller, Public, RequireRole } from './auth/auth.guard.js';
import type { Principal } from './auth/principal.js';
import { PlatformApi } from './api/platform-api.js';
import { ReportExports } from './api/report-exports.js';
import { parseInput, ROUTES } from './api/routes.js';

interface LocationReply {
  header(name: string, value: string): unknown;
}

/**
 * The REST API: runs, reports, pipelines. Every route is declared in ROUTES (what it accepts, who
 * may call it, what it answers: the OpenAPI document is generated from the same table) and does
 * what {@link PlatformApi} does, so GraphQL answers alike. Every route but `/health` takes a bearer
 * token (BearerAuthGuard); every read is of the caller's tenant.
 */
@Controller()
@UseGuards(BearerAuthGuard)
export class ApiController {
  constructor(
    @Inject(PlatformApi) private readonly api: PlatformApi,
    @Inject(ReportExports) private readonly exports: ReportExports,
  ) {}

  @Get('health')
  @Public()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('runs')
  listRuns(@Caller() caller: Principal, @Query() query: unknown) {
    return this.api.listRuns(caller, parseInput(ROUTES.listRuns, { query }).query);
  }

  @Post('runs')
  @HttpCode(202)
  @RequireRole('operator')
  async requestRun(
    @Caller() caller: Principal,
    @Body() body: unknown,
    @Query() query: unknown,
    @Res({ passthrough: true }) reply: LocationReply,
    @Headers('idempotency-key') idempotencyKey?: string,
  ) {
    const input = parseInput(ROUTES.requestRun, { body, query, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) });
    const accepted = await this.api.requestRun(caller, input.body, { ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}), ...(input.query.tenant ? { tenant: input.query.tenant } : {}) });
    reply.header('Location', accepted.location);
    return accepted;
  }

  @Get('runs/:id')
  getRun(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    const input = parseInput(ROUTES.getRun, { params, query });
    return this.api.getRun(caller, input.params.id, { limit: input.query.tasksLimit, ...(input.query.tasksCursor ? { cursor: input.query.tasksCursor } : {}) });
  }

  @Post('runs/:id/cancel')
  @HttpCode(202)
  @RequireRole('operator')
  async cancelRun(@Caller() caller: Principal, @Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) reply: LocationReply) {
    const input = parseInput(ROUTES.cancelRun, { params, body });
    const accepted = await this.api.cancelRun(caller, input.params.id, input.body);
    reply.header('Location', accepted.location);
    return accepted;
  }

  @Post('runs/:id/retry')
  @HttpCode(202)
  @RequireRole('operator')
  async retryRun(@Caller() caller: Principal, @Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) reply: LocationReply) {
    const input = parseInput(ROUTES.retryRun, { params, body });
    const accepted = await this.api.retryRun(caller, input.params.id, input.body);
    reply.header('Location', accepted.location);
    return accepted;
  }

  @Post('runs/:id/steps/:step/approve')
  @HttpCode(202)
  @RequireRole('operator')
  async approveStep(@Caller() caller: Principal, @Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) reply: LocationReply) {
    const input = parseInput(ROUTES.approveStep, { params, body });
    const accepted = await this.api.decideApproval(caller, input.params.id, input.params.step, 'APPROVED', input.body);
    reply.header('Location', accepted.location);
    return accepted;
  }

  @Post('runs/:id/steps/:step/reject')
  @HttpCode(202)
  @RequireRole('operator')
  async rejectStep(@Caller() caller: Principal, @Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) reply: LocationReply) {
    const input = parseInput(ROUTES.rejectStep, { params, body });
    const accepted = await this.api.decideApproval(caller, input.params.id, input.params.step, 'REJECTED', input.body);
    reply.header('Location', accepted.location);
    return accepted;
  }

  @Get('runs/:id/tasks/:taskId/attempts/:n/log')
  @Header('content-type', 'text/plain; charset=utf-8')
  attemptLog(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    const input = parseInput(ROUTES.attemptLog, { params, query });
    return this.api.attemptLog(caller, input.params.id, input.params.taskId, input.params.n);
  }

  @Get('runs/:id/trace')
  runTrace(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    const input = parseInput(ROUTES.runTrace, { params, query });
    return this.api.runTrace(caller, input.params.id);
  }

  @Get('reports')
  listReports(@Caller() caller: Principal, @Query() query: unknown) {
    return this.api.listReports(caller, parseInput(ROUTES.listReports, { query }).query);
  }

  @Get('reports/:id')
  getReport(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    return this.api.getReport(caller, parseInput(ROUTES.getReport, { params, query }).params.id);
  }

  @Get('reports/:id/sections')
  listReportSections(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    return this.exports.sections(caller, parseInput(ROUTES.listReportSections, { params, query }).params.id);
  }

  @Get('reports/:id/sections/:section')
  async exportReportSection(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown, @Res({ passthrough: true }) reply: LocationReply) {
    const input = parseInput(ROUTES.exportReportSection, { params, query });
    const file = await this.exports.export(caller, input.params.id, input.params.section, input.query);
    reply.header('content-type', file.contentType);
    reply.header('content-disposition', `attachment; filename="${file.filename}"`);
    return file.body;
  }

  @Get('reports/:id/sections/:section/detail/:partition/:table')
  async exportReportDetail(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown, @Res({ passthrough: true }) reply: LocationReply) {
    const { params: p, query: q } = parseInput(ROUTES.exportReportDetail, { params, query });
    const file = await this.exports.detail(caller, p.id, p.section, p.partition, p.table, q.format);
    reply.header('content-type', file.contentType);
    reply.header('content-disposition', `attachment; filename="${file.filename}"`);
    return file.body;
  }

  @Get('pipelines')
  listPipelines(@Caller() caller: Principal, @Query() query: unknown) {
    return this.api.listPipelines(caller, parseInput(ROUTES.listPipelines, { query }).query);
  }

  @Get('pipelines/:name')
  getPipeline(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    return this.api.getPipeline(caller, parseInput(ROUTES.getPipeline, { params, query }).params.name);
  }

  @Get('dlq')
  @RequireRole('operator')
  listDeadLetters(@Caller() caller: Principal, @Query() query: unknown) {
    return this.api.listDeadLetters(caller, parseInput(ROUTES.listDeadLetters, { query }).query);
  }

  @Post('dlq/:queue/redrive')
  @HttpCode(200)
  @RequireRole('admin')
  redrive(@Caller() caller: Principal, @Param() params: unknown, @Body() body: unknown) {
    const input = parseInput(ROUTES.redrive, { params, body });
    return this.api.redrive(caller, input.params.queue, input.body);
  }

  @Get('datasets')
  listDatasets(@Caller() caller: Principal, @Query() query: unknown) {
    return this.api.listDatasets(caller, parseInput(ROUTES.listDatasets, { query }).query);
  }

  @Get('datasets/:id')
  getDataset(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    const input = parseInput(ROUTES.getDataset, { params, query });
    return this.api.getDataset(caller, input.params.id, { limit: input.query.runsLimit, ...(input.query.runsCursor ? { cursor: input.query.runsCursor } : {}) });
  }

  @Get('landings/:eventId')
  getLanding(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    return this.api.getLanding(caller, parseInput(ROUTES.getLanding, { params, query }).params.eventId);
  }

  @Get('backfills')
  listBackfills(@Caller() caller: Principal, @Query() query: unknown) {
    return this.api.backfills.list(caller, parseInput(ROUTES.listBackfills, { query }).query);
  }

  @Post('backfills')
  @HttpCode(202)
  @RequireRole('operator')
  async requestBackfill(
    @Caller() caller: Principal,
    @Body() body: unknown,
    @Query() query: unknown,
    @Res({ passthrough: true }) reply: LocationReply,
    @Headers('idempotency-key') idempotencyKey?: string,
  ) {
    const input = parseInput(ROUTES.requestBackfill, { body, query, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) });
    const accepted = await this.api.backfills.start(caller, input.body, {
      ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
      ...(input.query.tenant ? { tenant: input.query.tenant } : {}),
    });
    reply.header('Location', accepted.location);
    return accepted;
  }

  @Get('backfills/:id')
  getBackfill(@Caller() caller: Principal, @Param() params: unknown, @Query() query: unknown) {
    return this.api.backfills.get(caller, parseInput(ROUTES.getBackfill, { params, query }).params.id);
  }

  @Post('backfills/:id/cancel')
  @HttpCode(202)
  @RequireRole('operator')
  async cancelBackfill(@Caller() caller: Principal, @Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) reply: LocationReply) {
    const input = parseInput(ROUTES.cancelBackfill, { params, body });
    const accepted = await this.api.backfills.cancel(caller, input.params.id, input.body);
    reply.header('Location', accepted.location);
    return accepted;
  }
}
