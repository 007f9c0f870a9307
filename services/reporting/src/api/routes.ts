import {
  approvalDecisionBodySchema,
  backfillAcceptedSchema,
  backfillActionAcceptedSchema,
  backfillListQuerySchema,
  backfillRequestBodySchema,
  backfillSchema,
  backfillsPageSchema,
  cancelBackfillBodySchema,
  cancelRunBodySchema,
  datasetDetailQuerySchema,
  datasetDetailSchema,
  datasetListQuerySchema,
  datasetsPageSchema,
  deadLetterListQuerySchema,
  deadLettersPageSchema,
  emptyQuerySchema,
  idempotencyKeySchema,
  landingSchema,
  pipelineListQuerySchema,
  pipelineSchema,
  pipelinesPageSchema,
  redriveBodySchema,
  redriveResultSchema,
  reportDetailSchema,
  reportListQuerySchema,
  reportsPageSchema,
  retryRunBodySchema,
  runAcceptedSchema,
  runActionAcceptedSchema,
  runDetailQuerySchema,
  runDetailSchema,
  runListQuerySchema,
  runRequestBodySchema,
  runsPageSchema,
  stepParamsSchema,
  tenantQuerySchema,
} from '@nightshift/api-contract';
import { issuesToProblems } from '@nightshift/contracts';
import { z } from 'zod';
import type { Role } from '../auth/principal.js';
import { badRequest } from './api-problem.js';
import { NOTIFICATION_ROUTES } from './notification-routes.js';
import { REPORT_EXPORT_ROUTES } from './report-exports.js';

/*
 * The REST API's routes as data: what each accepts (zod), who may call it, and what it answers.
 * The controllers validate every request with these schemas (parseInput) and the OpenAPI document
 * is generated from them (openapi.ts), so the document cannot drift from what is enforced; a test
 * checks that every route Nest serves is here and every answer matches its documented schema.
 */

export interface ApiRoute {
  operationId: string;
  method: 'GET' | 'POST';
  /** Nest/Fastify style: `/runs/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: 'runs' | 'backfills' | 'reports' | 'datasets' | 'pipelines' | 'operations' | 'meta';
  /** `public`: no token needed. */
  role: Role | 'public';
  params?: z.ZodObject;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Whether the route takes an `Idempotency-Key` header. */
  idempotencyKey?: boolean;
  /** `contentType`: the media type(s) of an answer that is not JSON (text/plain when absent); the request's `format` picks one of several. */
  success: { status: 200 | 202; description: string; schema?: z.ZodType; contentType?: string | readonly string[]; location?: boolean };
  /** Problem statuses the route documents besides 400/401/403/500/503, which every authenticated route may give. */
  errors?: Array<404 | 409 | 422>;
}

const id = (description: string) => z.object({ id: z.string().min(1).max(1024).describe(description) });

/**
 * A command on one run that the planner carries out (`POST /runs/:id/<action>`): for operators,
 * 202 with the run's `Location`, 404 for a run the caller cannot see, 409 when the run is not in a
 * state for it. `accepted` describes the 202.
 */
function runAction<A extends string, B extends z.ZodType>(action: A, route: { summary: string; description?: string; body: B; accepted: string }) {
  return {
    operationId: `${action}Run`,
    method: 'POST',
    path: `/runs/:id/${action}`,
    summary: route.summary,
    ...(route.description !== undefined ? { description: route.description } : {}),
    tag: 'runs',
    role: 'operator',
    params: id('The run id'),
    body: route.body,
    success: { status: 202, description: route.accepted, schema: runActionAcceptedSchema, location: true },
    errors: [404, 409],
  } as const satisfies ApiRoute;
}

/**
 * A person's answer to a run's approval step (`POST /runs/:id/steps/:step/<action>`): for operators,
 * 202 with the run's `Location`; 404 for a run the caller cannot see or a step that is not an
 * approval; 409 when the step is not WAITING (answered already, timed out, not reached yet).
 */
function approvalAction<A extends 'approve' | 'reject'>(action: A, summary: string) {
  return {
    operationId: `${action}Step`,
    method: 'POST',
    path: `/runs/:id/steps/:step/${action}`,
    summary,
    description: 'The first answer to a waiting step wins; the planner ignores any later one. With no answer before the step\'s timeout, the run fails with the timeout as its reason.',
    tag: 'runs',
    role: 'operator',
    params: stepParamsSchema,
    body: approvalDecisionBodySchema,
    success: { status: 202, description: 'Accepted: the planner records the answer', schema: runActionAcceptedSchema, location: true },
    errors: [404, 409],
  } as const satisfies ApiRoute;
}

export const ROUTES = {
  health: {
    operationId: 'health',
    method: 'GET',
    path: '/health',
    summary: 'Liveness: answers when the API is up',
    tag: 'meta',
    role: 'public',
    success: { status: 200, description: 'The API is up', schema: z.object({ status: z.literal('ok') }).meta({ id: 'Health' }) },
  },
  openapi: {
    operationId: 'getOpenApiDocument',
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document (OpenAPI 3.1)',
    tag: 'meta',
    role: 'public',
    success: { status: 200, description: 'The OpenAPI document', schema: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }).meta({ id: 'OpenApiDocument' }) },
  },
  docs: {
    operationId: 'getApiReference',
    method: 'GET',
    path: '/docs',
    summary: 'The rendered API reference (HTML; its assets are served under /docs/)',
    tag: 'meta',
    role: 'public',
    success: { status: 200, description: 'An HTML page', contentType: 'text/html' },
  },
  listRuns: {
    operationId: 'listRuns',
    method: 'GET',
    path: '/runs',
    summary: 'Runs, newest first, filtered',
    description: 'A page may hold fewer than `limit` runs and still have a `nextCursor` (the filters are applied while reading); follow it until it is absent.',
    tag: 'runs',
    role: 'viewer',
    query: runListQuerySchema,
    success: { status: 200, description: 'One page of runs', schema: runsPageSchema },
  },
  requestRun: {
    operationId: 'requestRun',
    method: 'POST',
    path: '/runs',
    summary: 'Ask for a run of a pipeline over a registered dataset',
    description:
      'Publishes Run Requested and answers 202 with where the run will be. With an `Idempotency-Key`, a retry with the same body names the same run; the same key with another body is 422. The planner decides: an unknown pipeline or an unfit dataset shows as that run FAILED with the reason.',
    tag: 'runs',
    role: 'operator',
    query: tenantQuerySchema,
    body: runRequestBodySchema,
    idempotencyKey: true,
    success: { status: 202, description: 'Accepted: the run will be at `Location`', schema: runAcceptedSchema, location: true },
    errors: [422],
  },
  getRun: {
    operationId: 'getRun',
    method: 'GET',
    path: '/runs/:id',
    summary: 'A run with its steps (and their jobs now), progress and one page of tasks',
    tag: 'runs',
    role: 'viewer',
    params: id('The run id'),
    query: runDetailQuerySchema,
    success: { status: 200, description: 'The run', schema: runDetailSchema },
    errors: [404],
  },
  cancelRun: runAction('cancel', {
    summary: 'Stop a run: the planner fails it with the reason and terminates its jobs',
    body: cancelRunBodySchema,
    accepted: 'Accepted: the run will fail with the reason',
  }),
  retryRun: runAction('retry', {
    summary: "Run a failed run's failed tasks again, as the run's next attempt",
    description: 'Only the tasks that failed (or never finished) run again; succeeded tasks keep their results. 409 unless the run is FAILED.',
    body: retryRunBodySchema,
    accepted: 'Accepted: the run will be RUNNING as its next attempt',
  }),
  approveStep: approvalAction('approve', 'Approve a waiting approval step: the run goes on'),
  rejectStep: approvalAction('reject', 'Reject a waiting approval step: the step fails, and so does the run'),
  attemptLog: {
    operationId: 'getAttemptLog',
    method: 'GET',
    path: '/runs/:id/tasks/:taskId/attempts/:n/log',
    summary: 'What attempt n (1-based) of a task wrote, as text',
    tag: 'runs',
    role: 'viewer',
    params: z.object({
      id: z.string().min(1).describe('The run id'),
      taskId: z.string().regex(/^[^#]+#.+$/, 'must be <step>#<partition> (URL-encode "#" as %23)').describe('`<step>#<partition>`, URL-encoded'),
      n: z.coerce.number().int().min(1).describe('The attempt, from 1'),
    }),
    query: emptyQuerySchema,
    success: { status: 200, description: "The attempt's output (the last part, when it was cut)", contentType: 'text/plain' },
    errors: [404],
  },
  runTrace: {
    operationId: 'getRunTrace',
    method: 'GET',
    path: '/runs/:id/trace',
    summary: "The run's trace, as one OTLP/JSON export request",
    description:
      "Every span of the run's trace (its id is the run's `traceId`) from the platform's trace file, kept with their resources and scopes: import it into Jaeger or an OpenTelemetry Collector as is. 404 when the platform exports its spans to an OTLP endpoint instead (look the trace id up there).",
    tag: 'runs',
    role: 'viewer',
    params: id('The run id'),
    query: emptyQuerySchema,
    success: {
      status: 200,
      description: 'The trace: `resourceSpans` as OTLP/JSON (empty while no span of the run has been exported yet)',
      schema: z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/), resourceSpans: z.array(z.looseObject({})) }),
    },
    errors: [404],
  },
  listReports: {
    operationId: 'listReports',
    method: 'GET',
    path: '/reports',
    summary: 'Published reports, newest first',
    tag: 'reports',
    role: 'viewer',
    query: reportListQuerySchema,
    success: { status: 200, description: 'One page of reports', schema: reportsPageSchema },
  },
  getReport: {
    operationId: 'getReport',
    method: 'GET',
    path: '/reports/:id',
    summary: 'A report with its document',
    tag: 'reports',
    role: 'viewer',
    params: id('The report id'),
    query: emptyQuerySchema,
    success: { status: 200, description: 'The report', schema: reportDetailSchema },
    errors: [404],
  },
  listDatasets: {
    operationId: 'listDatasets',
    method: 'GET',
    path: '/datasets',
    summary: 'Registered dataset versions, newest first',
    tag: 'datasets',
    role: 'viewer',
    query: datasetListQuerySchema,
    success: { status: 200, description: 'One page of dataset versions', schema: datasetsPageSchema },
  },
  getDataset: {
    operationId: 'getDataset',
    method: 'GET',
    path: '/datasets/:id',
    summary: 'A dataset version: its files and checksums, and the runs it triggered',
    tag: 'datasets',
    role: 'viewer',
    params: id('The dataset version id, `<dataset>@<businessDate>#v<version>` (URL-encode "#" as %23)'),
    query: datasetDetailQuerySchema,
    success: { status: 200, description: 'The dataset version', schema: datasetDetailSchema },
    errors: [404],
  },
  getLanding: {
    operationId: 'getLanding',
    method: 'GET',
    path: '/landings/:eventId',
    summary: 'Whether a Dataset Landed event was accepted (and as which version) or rejected (and why)',
    description: '404 until ingestion has handled the event (or when it is another tenant\'s).',
    tag: 'datasets',
    role: 'viewer',
    params: z.object({ eventId: z.string().min(1).max(1024).describe('The `metadata.eventId` of the Dataset Landed event') }),
    query: emptyQuerySchema,
    success: { status: 200, description: 'The outcome of the landing', schema: landingSchema },
    errors: [404],
  },
  listPipelines: {
    operationId: 'listPipelines',
    method: 'GET',
    path: '/pipelines',
    summary: 'Pipeline definitions: steps, what triggers them, schedules',
    tag: 'pipelines',
    role: 'viewer',
    query: pipelineListQuerySchema,
    success: { status: 200, description: 'One page of pipelines, by name', schema: pipelinesPageSchema },
  },
  getPipeline: {
    operationId: 'getPipeline',
    method: 'GET',
    path: '/pipelines/:name',
    summary: 'One pipeline definition',
    tag: 'pipelines',
    role: 'viewer',
    params: z.object({ name: z.string().min(1).max(63) }),
    query: emptyQuerySchema,
    success: { status: 200, description: 'The pipeline', schema: pipelineSchema },
    errors: [404],
  },
  listDeadLetters: {
    operationId: 'listDeadLetters',
    method: 'GET',
    path: '/dlq',
    summary: "Messages in the services' dead-letter queues, oldest first",
    description: 'A tenant-bound caller sees only its tenant\'s messages.',
    tag: 'operations',
    role: 'operator',
    query: deadLetterListQuerySchema,
    success: { status: 200, description: 'One page of dead letters', schema: deadLettersPageSchema },
    errors: [404],
  },
  redrive: {
    operationId: 'redriveDeadLetters',
    method: 'POST',
    path: '/dlq/:queue/redrive',
    summary: "Move a queue's dead letters back to it for another delivery",
    description: 'Platform-wide: needs a tenantless admin token.',
    tag: 'operations',
    role: 'admin',
    params: z.object({ queue: z.string().min(1).max(80).describe('A service queue (e.g. `planner`)') }),
    body: redriveBodySchema,
    success: { status: 200, description: 'How many messages were moved', schema: redriveResultSchema },
    errors: [404],
  },
  listBackfills: {
    operationId: 'listBackfills',
    method: 'GET',
    path: '/backfills',
    summary: 'Backfills, newest first, without their dates',
    description: 'A page may hold fewer than `limit` backfills and still have a `nextCursor` (the filters are applied while reading); follow it until it is absent.',
    tag: 'backfills',
    role: 'viewer',
    query: backfillListQuerySchema,
    success: { status: 200, description: 'One page of backfills', schema: backfillsPageSchema },
  },
  requestBackfill: {
    operationId: 'requestBackfill',
    method: 'POST',
    path: '/backfills',
    summary: "Run a pipeline once per business date of its calendar in a range, at most `concurrency` at a time",
    description:
      "Records the backfill (the business days of the pipeline's calendar from `from` to `to`), publishes Backfill Requested and answers 202 with it. The planner runs its dates in order over the tenant's latest dataset version of each; a date without one is reported MISSING_DATASET. 409 while an open backfill of the same pipeline overlaps the range. With an `Idempotency-Key`, a retry with the same body answers the same backfill; the key with another body is 422.",
    tag: 'backfills',
    role: 'operator',
    query: tenantQuerySchema,
    body: backfillRequestBodySchema,
    idempotencyKey: true,
    success: { status: 202, description: 'Accepted: the backfill, at `Location`', schema: backfillAcceptedSchema, location: true },
    errors: [404, 409, 422],
  },
  getBackfill: {
    operationId: 'getBackfill',
    method: 'GET',
    path: '/backfills/:id',
    summary: 'A backfill: its progress (dates per status), every date with its run and reason, and once finished a summary',
    tag: 'backfills',
    role: 'viewer',
    params: id('The backfill id'),
    query: emptyQuerySchema,
    success: { status: 200, description: 'The backfill', schema: backfillSchema },
    errors: [404],
  },
  cancelBackfill: {
    operationId: 'cancelBackfill',
    method: 'POST',
    path: '/backfills/:id/cancel',
    summary: 'Stop a backfill: its waiting dates are cancelled and its open runs stopped',
    description: '409 once the backfill has finished or was cancelled.',
    tag: 'backfills',
    role: 'operator',
    params: id('The backfill id'),
    body: cancelBackfillBodySchema,
    success: { status: 202, description: 'Accepted: the backfill will be CANCELLED', schema: backfillActionAcceptedSchema, location: true },
    errors: [404, 409],
  },
  ...REPORT_EXPORT_ROUTES,
  ...NOTIFICATION_ROUTES,
} as const satisfies Record<string, ApiRoute>;

export type RouteName = keyof typeof ROUTES;

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a route receives, validated: every problem found (in params, query, body and headers) at once, as a 400. */
export function parseInput<R extends ApiRoute>(
  route: R,
  request: { params?: unknown; query?: unknown; body?: unknown; idempotencyKey?: string },
): { params: Parsed<R['params']>; query: Parsed<R['query']>; body: Parsed<R['body']>; idempotencyKey?: string } {
  const problems: Array<{ path: string; message: string }> = [];
  const part = <S extends z.ZodType | undefined>(schema: S, value: unknown, prefix: string): Parsed<S> => {
    if (!schema) return undefined as Parsed<S>;
    const parsed = schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data as Parsed<S>;
    problems.push(...issuesToProblems(parsed.error.issues, prefix));
    return undefined as Parsed<S>;
  };
  const params = part(route.params, request.params, 'params');
  const query = part(route.query, request.query, 'query');
  const body = part(route.body, request.body, 'body');
  // Routes that take no Idempotency-Key ignore one (clients may send it on every POST).
  const idempotencyKey = route.idempotencyKey ? request.idempotencyKey : undefined;
  if (idempotencyKey !== undefined) {
    const key = idempotencyKeySchema.safeParse(idempotencyKey);
    if (!key.success) problems.push({ path: 'headers.idempotency-key', message: key.error.issues[0]?.message ?? 'invalid' });
  }
  if (problems.length > 0) throw badRequest(`invalid request to ${route.method} ${route.path}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  return { params: params as Parsed<R['params']>, query: query as Parsed<R['query']>, body: body as Parsed<R['body']>, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) };
}
