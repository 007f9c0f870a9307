import { createHash, randomUUID } from 'node:crypto';
import type { BackfillListQuery, BackfillRequestBody } from '@nightshift/api-contract';
import { BackfillCancelRequested, BackfillRequested, envelope } from '@nightshift/contracts';
import type { EventPublisher } from '@nightshift/events-domain';
import {
  backfillDates,
  BackfillOverlapError,
  BackfillRangeError,
  DEFAULT_TENANT,
  newBackfill,
  summarizeBackfill,
  UnknownCalendarError,
  type Backfill,
  type BackfillStore,
  type BackfillSummary,
  type Clock,
  type IdempotencyKeys,
  type PipelineDefinition,
} from '@nightshift/jobs-domain';
import { withSpan } from '@nightshift/observability';
import { tenantScope, type Principal } from '../auth/principal.js';
import { canonicalHash } from '../canonical-hash.js';
import { ApiProblemError, badRequest, conflict, notFound } from './api-problem.js';

/** A backfill as the API gives it: without its dates, with their counts, total and duration. */
export type BackfillSummaryView = Omit<BackfillSummary, 'version'> & { total: number; durationMs?: number };
/** A backfill with every date. */
export type BackfillView = BackfillSummaryView & { dates: Backfill['dates'] };

/** The ports backfills are asked for and read through. */
export interface BackfillApiPorts {
  backfills: BackfillStore;
  publisher: EventPublisher;
  clock: Clock;
  idempotencyKeys: IdempotencyKeys;
  pipelines: readonly PipelineDefinition[];
}

/**
 * The backfill part of the API (PlatformApi hands its callers here): every call takes the
 * authenticated caller and keeps to its tenant (another tenant's backfill is 404, as one that does
 * not exist), and every refusal is an ApiProblemError. Requests are recorded here (the record is
 * the backfill's state, and keeps overlapping backfills apart) and carried out by the planner.
 */
export class BackfillApi {
  constructor(private readonly ports: BackfillApiPorts) {}

  /**
   * Records a backfill and publishes Backfill Requested: one run of the pipeline per business date
   * of its calendar from `from` to `to`, at most `concurrency` at once, for the caller's tenant.
   * With an `Idempotency-Key` a retry with the same body answers the same backfill (the key with
   * another body is 422). 404 for an unknown pipeline; 400 for a range that cannot be run (naming
   * the field); 409 while an open backfill of the pipeline and tenant overlaps the range.
   */
  async start(caller: Principal, body: BackfillRequestBody, options: { idempotencyKey?: string; tenant?: string } = {}): Promise<BackfillView & { location: string }> {
    const tenant = tenantScope(caller, options.tenant) ?? DEFAULT_TENANT;
    const pipeline = this.ports.pipelines.find((p) => p.name === body.pipeline);
    if (!pipeline) throw notFound(`pipeline ${body.pipeline} not found (known: ${this.ports.pipelines.map((p) => p.name).join(', ')})`);
    if (pipeline.trigger.datasets.length === 0) {
      throw badRequest(`pipeline ${pipeline.name} runs after other pipelines, not over a dataset: backfill those`, [{ path: 'body.pipeline', message: 'is not triggered by a dataset' }]);
    }
    const dates = datesOf(pipeline, body.from, body.to);
    const data = { ...body, requestedBy: caller.subject };
    const { idempotencyKey } = options;
    if (idempotencyKey !== undefined && !(await this.ports.idempotencyKeys.claim(tenant, idempotencyKey, canonicalHash({ request: 'POST /backfills', ...data }), this.ports.clock.now()))) {
      throw new ApiProblemError(
        422,
        `Idempotency-Key ${JSON.stringify(idempotencyKey)} was already used with a different request body; resend that body to get its backfill, or use a new key`,
        [{ path: 'headers.idempotency-key', message: 'already used with a different request body' }],
      );
    }
    // Keys are per tenant: the id derives from both, so a retry with the key finds the first backfill.
    const backfillId = backfillIdFor(body.pipeline, body.from, idempotencyKey !== undefined ? `${tenant}\n${idempotencyKey}` : randomUUID());
    const candidate = newBackfill({ backfillId, tenant, ...data, dates, now: this.ports.clock.now() });
    let backfill: Backfill;
    try {
      ({ backfill } = await this.ports.backfills.create(candidate));
    } catch (e) {
      if (!(e instanceof BackfillOverlapError)) throw e;
      throw new ApiProblemError(409, `${e.message}: cancel it (POST /backfills/${e.existing.backfillId}/cancel) or wait for it to finish`, [
        { path: 'body.from', message: `overlaps open backfill ${e.existing.backfillId} (${e.existing.from} to ${e.existing.to})` },
      ]);
    }
    // Published on every answer, a retry's too: the planner's advance is idempotent, and a first try that died before publishing is completed.
    await withSpan('reporting: POST /backfills', { attributes: { 'nightshift.pipeline': backfill.pipeline, 'nightshift.backfill': backfill.backfillId } }, async (span) => {
      await this.ports.publisher.publish([
        {
          source: BackfillRequested.source,
          detailType: BackfillRequested.detailType,
          resources: [backfill.backfillId],
          detail: envelope(
            { backfillId: backfill.backfillId, pipeline: backfill.pipeline, from: backfill.from, to: backfill.to, concurrency: backfill.concurrency, requestedBy: backfill.requestedBy },
            { eventId: `backfill-requested-${backfill.backfillId}`, correlationId: backfill.backfillId, occurredAt: this.ports.clock.now(), traceparent: span.traceparent(), tenant },
          ),
        },
      ]);
    });
    return { ...backfillView(backfill), location: backfillLocation(backfill.backfillId) };
  }

  /** The caller's tenant's backfills (a tenantless admin's: every tenant's, or `tenant`'s), newest first, without their dates. */
  async list(caller: Principal, query: Omit<BackfillListQuery, 'limit'> & { limit?: number }): Promise<{ items: BackfillSummaryView[]; nextCursor?: string }> {
    const scope = tenantScope(caller, query.tenant);
    const page = await this.ports.backfills.list({
      ...(scope !== undefined ? { tenant: scope } : {}),
      ...(query.pipeline ? { pipeline: query.pipeline } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.cursor ? { nextToken: query.cursor } : {}),
    });
    return { items: page.items.map(summaryView), ...(page.nextToken ? { nextCursor: page.nextToken } : {}) };
  }

  /** The backfill with every date, its run and reason; another tenant's is 404 as a missing one. */
  async get(caller: Principal, backfillId: string): Promise<BackfillView> {
    return backfillView(await this.backfill(caller, backfillId));
  }

  /**
   * Asks the planner to stop a backfill: its waiting dates are cancelled and its open runs stopped.
   * 404 for a backfill the caller cannot see, 409 once it finished or was cancelled already.
   */
  async cancel(caller: Principal, backfillId: string, body: { reason?: string; requestedBy?: string } = {}): Promise<{ backfillId: string; location: string }> {
    const backfill = await this.backfill(caller, backfillId);
    if (backfill.status !== 'RUNNING') throw conflict(`backfill ${backfillId} is ${backfill.status}${backfill.finishedAt ? ` since ${backfill.finishedAt}` : ''}: only a RUNNING backfill can be cancelled`);
    const data = { backfillId, reason: body.reason ?? 'cancelled through the API', requestedBy: body.requestedBy ?? caller.subject };
    await this.ports.publisher.publish([
      {
        source: BackfillCancelRequested.source,
        detailType: BackfillCancelRequested.detailType,
        resources: [backfillId],
        detail: envelope(data, { eventId: `backfill-cancel-${backfillId}`, correlationId: backfillId, occurredAt: this.ports.clock.now(), ...(backfill.tenant ? { tenant: backfill.tenant } : {}) }),
      },
    ]);
    return { backfillId, location: backfillLocation(backfillId) };
  }

  private async backfill(caller: Principal, backfillId: string): Promise<Backfill> {
    const backfill = await this.ports.backfills.get(backfillId);
    if (!backfill || (caller.tenant !== undefined && (backfill.tenant ?? DEFAULT_TENANT) !== caller.tenant)) throw notFound(`backfill ${backfillId} not found`);
    return backfill;
  }
}

export function backfillLocation(backfillId: string): string {
  return `/backfills/${encodeURIComponent(backfillId)}`;
}

/** `backfill-<from>-<pipeline>-<hash of seed>`: readable, and the same for the same seed (a tenant's Idempotency-Key). */
function backfillIdFor(pipeline: string, from: string, seed: string): string {
  return `backfill-${from.replaceAll('-', '')}-${pipeline}-${createHash('sha256').update(seed).digest('hex').slice(0, 16)}`;
}

/** The business dates of the pipeline's calendar in the range, or a 400 naming the end that is wrong. */
function datesOf(pipeline: PipelineDefinition, from: string, to: string): string[] {
  try {
    return backfillDates(pipeline.calendar, from, to);
  } catch (e) {
    if (e instanceof BackfillRangeError) throw badRequest(`invalid request to POST /backfills: body.${e.field}: ${e.problem}`, [{ path: `body.${e.field}`, message: e.problem }]);
    if (e instanceof UnknownCalendarError) throw badRequest(e.message, [{ path: 'body.pipeline', message: e.message }]);
    throw e;
  }
}

function summaryView(summary: BackfillSummary): BackfillSummaryView {
  const { version: _version, ...rest } = summary;
  const total = Object.values(summary.counts).reduce((n, c) => n + c, 0);
  const durationMs = summary.finishedAt ? Date.parse(summary.finishedAt) - Date.parse(summary.createdAt) : undefined;
  return { ...rest, total, ...(durationMs !== undefined ? { durationMs } : {}) };
}

function backfillView(backfill: Backfill): BackfillView {
  return { ...summaryView(summarizeBackfill(backfill)), dates: backfill.dates };
}
