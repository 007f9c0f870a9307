import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  BACKFILL_DATE_STATUSES,
  BACKFILL_STATUSES,
  BackfillOverlapError,
  countBackfillDates,
  tenantOf,
  type Backfill,
  type BackfillDate,
  type BackfillDateStatus,
  type BackfillQuery,
  type BackfillStatus,
  type BackfillStore,
  type BackfillSummary,
  type Page,
} from '@nightshift/jobs-domain';
import { DynamoTable, UpdateBuilder, forEachLimit, type Item } from './dynamo-table.js';
import { BackfillLaneContentionError, InvalidJobStoreInputError } from './errors.js';
import { FilterBuilder, listIndex } from './index-listing.js';
import {
  BACKFILLS_PARTITION,
  OPEN_BACKFILLS_PARTITION,
  backfillIndexKey,
  backfillKey,
  backfillLaneKey,
  openBackfillKey,
  tenantBackfillIndexKey,
  tenantBackfillsPartition,
} from './keys.js';
import { cutPage, decodeToken, pageLimit, withToken } from './page-token.js';

/** How a DynamoDbBackfillStore is wired. */
export interface DynamoDbBackfillStoreConfig {
  /** The job store's table (`createTable`): backfills live in their own `BACKFILL#`, `BACKFILLS`, `OPEN_BACKFILLS` and `BACKFILL_LANE#` partitions. */
  tableName: string;
}

const LIST_DEFAULT = 50;
const LIST_MAX = 500;
/** A lane entry whose backfill record still does not exist this long after its creation began was abandoned (the creator died). */
export const ABANDONED_CREATE_MS = 60_000;
/** An open-backfill pointer without a record this old is an abandoned creation's, and is deleted by `listOpen`. */
const ABANDONED_POINTER_MS = 60 * 60_000;
/** Rounds of "read the lane, find it moved, read again" before a create gives up (retryably). */
const MAX_LANE_ROUNDS = 20;
/** Point reads kept in flight while resolving a page of pointers. */
const READ_CONCURRENCY = 16;
/**
 * Bytes the encoded dates of one record may take. DynamoDB's items stop at 400 KB; ten years of
 * dates with their run ids take about 150 KB, and what is left goes to the reasons: the longest are
 * shortened until the dates fit (see `fitDates`).
 */
export const DATES_BUDGET_BYTES = 330_000;

const STATUS_CODES: Record<BackfillDateStatus, string> = { PENDING: 'P', RUNNING: 'R', SUCCEEDED: 'S', FAILED: 'F', MISSING_DATASET: 'M', CANCELLED: 'C' };
const STATUS_OF_CODE = new Map(Object.entries(STATUS_CODES).map(([status, code]) => [code, status as BackfillDateStatus]));

/** What a summary is read with: everything but the dates. */
const SUMMARY_ATTRIBUTES = ['backfillId', 'tenant', 'pipeline', 'from', 'to', 'concurrency', 'requestedBy', 'status', 'createdAt', 'updatedAt', 'finishedAt', 'summary', 'version', 'counts'] as const;

/** An open backfill's range, as its lane keeps it. */
interface LaneEntry {
  from: string;
  to: string;
  /** When its creation began: an entry without a record after ABANDONED_CREATE_MS was abandoned. */
  createdAt: string;
}

/**
 * The BackfillStore port on the job store's table. A backfill is one item (`BACKFILL#<id>`) holding
 * every date, each encoded as one compact string (`<date>|<status code>|<run id>|<reason>`), with
 * the per-status counts beside them so that listings read summaries without the dates; it is
 * replaced by one UpdateItem conditioned on its `version`.
 *
 * Creating one is a few single-item writes ending with the record, the commit point: first the
 * lane of its tenant and pipeline (`BACKFILL_LANE#`, the open backfills' ranges, moved with a
 * condition on its version: of two overlapping creates one wins), then the open pointer and the
 * listing pointers, then the record (put if absent). A replay completes what a crash left; a
 * creation abandoned before its record no longer counts after ABANDONED_CREATE_MS, and its pointers
 * lead nowhere (listings skip them). When a backfill finishes, its open pointer and lane entry go.
 */
export class DynamoDbBackfillStore implements BackfillStore {
  private readonly table: DynamoTable;

  /** @param client the process's one DocumentClient; never destroyed here. */
  constructor(client: DynamoDBDocumentClient, config: DynamoDbBackfillStoreConfig) {
    this.table = new DynamoTable(client, config.tableName);
  }

  async create(backfill: Backfill): Promise<{ created: boolean; backfill: Backfill }> {
    const op = 'createBackfill';
    const existing = await this.get(backfill.backfillId);
    if (existing) return { created: false, backfill: existing };
    const item = toItem(backfill);
    await this.claimLane(backfill, op);
    const { backfillId, createdAt, pipeline } = backfill;
    const tenant = tenantOf(backfill);
    await this.table.putIfAbsent({ ...openBackfillKey(backfillId), _entity: 'openBackfillPointer', backfillId, createdAt }, op);
    for (const key of [backfillIndexKey(createdAt, backfillId), tenantBackfillIndexKey(tenant, createdAt, backfillId)]) {
      await this.table.putIfAbsent({ ...key, _entity: 'backfillPointer', backfillId, pipeline, tenant }, op);
    }
    if (await this.table.putIfAbsent(item, op)) return { created: true, backfill };
    // A concurrent create of the same id won.
    const stored = await this.get(backfillId);
    if (!stored) throw new InvalidJobStoreInputError(`backfill ${backfillId} was neither created nor found`);
    return { created: false, backfill: stored };
  }

  async get(backfillId: string): Promise<Backfill | undefined> {
    const item = await this.table.get(backfillKey(backfillId), 'getBackfill');
    return item ? toBackfill(item) : undefined;
  }

  async update(expectedVersion: number, next: Backfill): Promise<Backfill> {
    const op = 'updateBackfill';
    const key = backfillKey(next.backfillId);
    const dates = fitDates(next.dates);
    const u = new UpdateBuilder()
      .set('status', next.status)
      .set('dates', dates)
      .set('counts', countBackfillDates(next.dates))
      .set('updatedAt', next.updatedAt)
      .set('version', expectedVersion + 1);
    if (next.finishedAt === undefined) u.remove('finishedAt');
    else u.set('finishedAt', next.finishedAt);
    if (next.summary === undefined) u.remove('summary');
    else u.set('summary', next.summary);
    const condition = `attribute_exists(PK) AND ${u.name('version')} = ${u.value(expectedVersion)}`;
    const outcome = await this.table.update(u.build(key, condition, 'ALL_NEW'), op);
    if (!outcome.applied) throw await this.table.conditionFailure(key, 'backfill', next.backfillId, `at version ${expectedVersion}`, outcome.cause, op);
    const stored = toBackfill(outcome.attributes);
    if (stored.finishedAt !== undefined) await this.unlistOpen(stored, op);
    return stored;
  }

  /** The BACKFILLS index (or the tenant's) newest first, filtered by pipeline on the pointers, then the summaries read and checked by status. */
  async list(query: BackfillQuery = {}): Promise<Page<BackfillSummary>> {
    const op = 'listBackfills';
    const limit = pageLimit(query.limit, LIST_DEFAULT, LIST_MAX, op);
    const statuses = query.status === undefined ? undefined : new Set<BackfillStatus>(query.status);
    if (statuses !== undefined && (statuses.size === 0 || [...statuses].some((s) => !BACKFILL_STATUSES.includes(s)))) {
      throw new InvalidJobStoreInputError(`listBackfills status must be a non-empty list of ${BACKFILL_STATUSES.join(', ')}, got ${JSON.stringify(query.status)}`);
    }
    const filter = query.pipeline === undefined ? undefined : new FilterBuilder().equals('pipeline', query.pipeline).build();
    return listIndex(this.table, {
      op,
      pk: query.tenant === undefined ? BACKFILLS_PARTITION : tenantBackfillsPartition(query.tenant),
      limit,
      ...(query.nextToken === undefined ? {} : { nextToken: query.nextToken }),
      ...(filter ? { filter } : {}),
      resolve: async (pointers) => {
        const summaries = await this.summariesOf(pointers.map((p) => String(p.backfillId)), op);
        return summaries.map((s) => (s && (statuses === undefined || statuses.has(s.status)) ? s : undefined));
      },
    });
  }

  /** OPEN_BACKFILLS pointers, then the summaries; pointers of finished backfills (and of long-abandoned creations) are deleted on the way. */
  async listOpen(options: { limit?: number; nextToken?: string } = {}): Promise<Page<BackfillSummary>> {
    const op = 'listOpenBackfills';
    const limit = pageLimit(options.limit, LIST_DEFAULT, LIST_MAX, op);
    const startKey = options.nextToken === undefined ? undefined : decodeToken(options.nextToken, op, OPEN_BACKFILLS_PARTITION);
    const page = cutPage(await this.table.queryPage(OPEN_BACKFILLS_PARTITION, { limit: limit + 1, startKey }, op), limit);
    const summaries = await this.summariesOf(page.items.map((p) => String(p.backfillId)), op);
    const open: BackfillSummary[] = [];
    const stale: string[] = [];
    page.items.forEach((pointer, i) => {
      const summary = summaries[i];
      if (summary && summary.finishedAt === undefined) open.push(summary);
      else if (summary || Date.now() - Date.parse(String(pointer.createdAt)) > ABANDONED_POINTER_MS) stale.push(String(pointer.backfillId));
    });
    await forEachLimit(stale, READ_CONCURRENCY, (id) => this.table.delete(openBackfillKey(id), op));
    return withToken(open, page.next);
  }

  /**
   * Adds the backfill's range to its lane, unless an open backfill's overlaps it. The lane is read,
   * each overlapping entry's record looked at (finished, or abandoned: the entry is dropped), and
   * written back conditioned on the version read; a lost race reads it again.
   */
  private async claimLane(backfill: Backfill, op: string): Promise<void> {
    const tenant = tenantOf(backfill);
    const key = backfillLaneKey(tenant, backfill.pipeline);
    const entry: LaneEntry = { from: backfill.from, to: backfill.to, createdAt: backfill.createdAt };
    for (let round = 0; round < MAX_LANE_ROUNDS; round++) {
      const lane = await this.table.get(key, op);
      const entries = (lane?.open ?? {}) as Record<string, LaneEntry>;
      if (entries[backfill.backfillId] !== undefined) return;
      const stale: string[] = [];
      for (const [id, other] of Object.entries(entries)) {
        if (other.from > backfill.to || backfill.from > other.to) continue;
        const record = await this.table.get(backfillKey(id), op, ['finishedAt']);
        const abandoned = !record && Date.parse(backfill.createdAt) - Date.parse(other.createdAt) > ABANDONED_CREATE_MS;
        if (record?.finishedAt !== undefined || abandoned) stale.push(id);
        else throw new BackfillOverlapError(backfill.backfillId, { backfillId: id, from: other.from, to: other.to });
      }
      if (!lane) {
        const item = { ...key, _entity: 'backfillLane', tenant, pipeline: backfill.pipeline, open: { [backfill.backfillId]: entry }, version: 1 };
        if (await this.table.putIfAbsent(item, op)) return;
        continue;
      }
      const version = Number(lane.version);
      const u = new UpdateBuilder().set(['open', backfill.backfillId], entry).set('version', version + 1);
      for (const id of stale) u.remove(['open', id]);
      const outcome = await this.table.update(u.build(key, `${u.name('version')} = ${u.value(version)}`, 'NONE'), op);
      if (outcome.applied) return;
    }
    throw new BackfillLaneContentionError(tenant, backfill.pipeline, MAX_LANE_ROUNDS);
  }

  /** A finished backfill leaves the sweep's list and its lane. Each write is idempotent; a crash between leaves what the next reader clears. */
  private async unlistOpen(backfill: Backfill, op: string): Promise<void> {
    await this.table.delete(openBackfillKey(backfill.backfillId), op);
    const u = new UpdateBuilder().remove(['open', backfill.backfillId]);
    // No lane (never made, or of a table cleared by hand) is fine: there is nothing to take the backfill out of.
    await this.table.update(u.build(backfillLaneKey(tenantOf(backfill), backfill.pipeline), 'attribute_exists(PK)', 'NONE'), op);
  }

  /** The summaries of `ids` (point reads without the dates), in their order; undefined where there is no record. */
  private async summariesOf(ids: readonly string[], op: string): Promise<Array<BackfillSummary | undefined>> {
    const found: Array<BackfillSummary | undefined> = new Array<BackfillSummary | undefined>(ids.length);
    await forEachLimit(
      ids.map((id, i) => ({ id, i })),
      READ_CONCURRENCY,
      async ({ id, i }) => {
        const item = await this.table.get(backfillKey(id), op, SUMMARY_ATTRIBUTES);
        found[i] = item ? toSummary(item) : undefined;
      },
    );
    return found;
  }
}

function toItem(backfill: Backfill): Item {
  const { dates, ...fields } = backfill;
  return { ...fields, dates: fitDates(dates), counts: countBackfillDates(dates), ...backfillKey(backfill.backfillId), _entity: 'backfill' };
}

function toBackfill(item: Item): Backfill {
  const { counts: _counts, ...fields } = toSummary(item);
  return { ...fields, dates: ((item.dates as string[] | undefined) ?? []).map(decodeDate) };
}

function toSummary(item: Item): BackfillSummary {
  const out: Record<string, unknown> = {};
  for (const name of SUMMARY_ATTRIBUTES) if (item[name] !== undefined) out[name] = item[name];
  const counts = Object.fromEntries(BACKFILL_DATE_STATUSES.map((s) => [s, Number((item.counts as Record<string, unknown> | undefined)?.[s] ?? 0)]));
  return { ...out, counts } as BackfillSummary;
}

function encodeDate(d: BackfillDate, reasonLimit = Number.POSITIVE_INFINITY): string {
  const head = `${d.date}|${STATUS_CODES[d.status]}`;
  if (d.reason === undefined) return d.runId === undefined ? head : `${head}|${d.runId}`;
  const reason = d.reason.length <= reasonLimit ? d.reason : `${d.reason.slice(0, Math.max(0, reasonLimit - 1))}…`;
  return `${head}|${d.runId ?? ''}|${reason}`;
}

function decodeDate(encoded: string): BackfillDate {
  const [date = '', code = '', runId = '', ...reason] = encoded.split('|');
  const status = STATUS_OF_CODE.get(code);
  if (status === undefined) throw new InvalidJobStoreInputError(`backfill date ${JSON.stringify(encoded.slice(0, 80))} has an unknown status code`);
  return { date, status, ...(runId !== '' ? { runId } : {}), ...(reason.length > 0 ? { reason: reason.join('|') } : {}) };
}

/**
 * The dates encoded, every reason whole when they fit DATES_BUDGET_BYTES; else the longest reasons
 * shortened to the longest length that fits (found by bisection), so short reasons stay whole.
 */
function fitDates(dates: readonly BackfillDate[]): string[] {
  const bytes = (limit: number) => dates.reduce((n, d) => n + Buffer.byteLength(encodeDate(d, limit), 'utf8') + 1, 0);
  if (bytes(Number.POSITIVE_INFINITY) <= DATES_BUDGET_BYTES) return dates.map((d) => encodeDate(d));
  let fits = 0;
  let over = Math.max(0, ...dates.map((d) => d.reason?.length ?? 0));
  if (bytes(fits) > DATES_BUDGET_BYTES) throw new InvalidJobStoreInputError(`backfill of ${dates.length} dates does not fit one record even without reasons`);
  while (over - fits > 1) {
    const mid = Math.floor((fits + over) / 2);
    if (bytes(mid) <= DATES_BUDGET_BYTES) fits = mid;
    else over = mid;
  }
  return dates.map((d) => encodeDate(d, fits));
}
