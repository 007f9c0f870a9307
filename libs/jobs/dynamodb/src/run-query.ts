import { RUN_STATUSES, tenantOf, type Run, type RunQuery, type RunStatus } from '@nightshift/jobs-domain';
import type { Item, ItemFilter } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';
import { FilterBuilder } from './index-listing.js';
import { RUNS_PARTITION, datasetRunIndexKey, datasetRunsPartition, runIndexKey, tenantRunIndexKey, tenantRunsPartition } from './keys.js';

/*
 * How listRuns reads a RunQuery. Every run pointer (RUNS, its tenant's copy, its dataset version's
 * copy) carries the run's attributes that never change after createRun, so the index Query filters
 * on them before any run is read; status changes, so it is checked on the runs read. Pointers
 * written before they carried the attributes lack all of them: they pass the filter, and their
 * run is checked on every field instead (the listing-indexes backfill gives them the attributes).
 */

/** The run fields its pointers carry or are keyed by: `transitionRun` may not change them. */
export const INDEXED_RUN_FIELDS = ['runId', 'pipeline', 'businessDate', 'correlationId', 'datasetId', 'tenant', 'createdAt'] as const;

/** The attribute whose absence marks a pointer written before pointers carried attributes. */
export const PRESENT_ON_EVERY_NEW_POINTER = 'pipeline';

const BUSINESS_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A run's pointers, created at `createdAt` (the stored run's): in RUNS, its tenant's index and its dataset version's. */
export function runPointers(run: Run, createdAt: string): Item[] {
  const fields = { _entity: 'runPointer', runId: run.runId, ...runPointerFields(run) };
  const tenant = tenantOf(run);
  return [runIndexKey(createdAt, run.runId), tenantRunIndexKey(tenant, createdAt, run.runId), datasetRunIndexKey(run.datasetId, createdAt, run.runId)].map((key) => ({
    ...key,
    ...fields,
  }));
}

/** What a run pointer carries for listings to filter on (all of it, or nothing on a pointer written before). */
export function runPointerFields(run: Run): Record<'pipeline' | 'businessDate' | 'correlationId' | 'datasetId' | 'tenant', string> {
  return { pipeline: run.pipeline, businessDate: run.businessDate, correlationId: run.correlationId, datasetId: run.datasetId, tenant: tenantOf(run) };
}

/** Where and how listRuns reads a query. */
export interface RunListing {
  /** The index partition: the dataset version's with `datasetId`, else the tenant's with `tenant`, else RUNS. */
  pk: string;
  /** The tenant, when it is a filter rather than the partition (dataset version index). */
  scope?: string;
  filter?: ItemFilter;
  /** Whether a run read belongs in the listing: every field of the query, checked on the run itself. */
  matches(run: Run): boolean;
}

/** Checks a query (InvalidJobStoreInputError) and plans its read. */
export function runListing(query: RunQuery): RunListing {
  const { tenant, pipeline, correlationId, datasetId, businessDateFrom: from, businessDateTo: to } = query;
  const statuses = statusesOf(query.status);
  for (const [name, date] of [
    ['businessDateFrom', from],
    ['businessDateTo', to],
  ] as const) {
    if (date !== undefined && !BUSINESS_DATE.test(date)) throw new InvalidJobStoreInputError(`listRuns ${name} must be a date as YYYY-MM-DD, got ${JSON.stringify(date)}`);
  }

  const f = new FilterBuilder();
  if (datasetId !== undefined && tenant !== undefined) f.equals('tenant', tenant);
  if (pipeline !== undefined) f.equals('pipeline', pipeline);
  if (correlationId !== undefined) f.equals('correlationId', correlationId);
  if (from !== undefined) f.atLeast('businessDate', from);
  if (to !== undefined) f.atMost('businessDate', to);
  const filter = f.build(PRESENT_ON_EVERY_NEW_POINTER);

  const pk = datasetId !== undefined ? datasetRunsPartition(datasetId) : tenant !== undefined ? tenantRunsPartition(tenant) : RUNS_PARTITION;
  const scope = datasetId !== undefined && tenant !== undefined ? `tenant:${tenant}` : undefined;
  const matches = (run: Run): boolean =>
    (tenant === undefined || tenantOf(run) === tenant) &&
    (statuses === undefined || statuses.has(run.status)) &&
    (pipeline === undefined || run.pipeline === pipeline) &&
    (correlationId === undefined || run.correlationId === correlationId) &&
    (datasetId === undefined || run.datasetId === datasetId) &&
    (from === undefined || run.businessDate >= from) &&
    (to === undefined || run.businessDate <= to);
  return { pk, ...(scope === undefined ? {} : { scope }), ...(filter ? { filter } : {}), matches };
}

function statusesOf(status: RunQuery['status']): ReadonlySet<RunStatus> | undefined {
  if (status === undefined) return undefined;
  const statuses = typeof status === 'string' ? [status] : status;
  if (statuses.length === 0) throw new InvalidJobStoreInputError('listRuns status must name at least one status');
  for (const s of statuses) {
    if (!RUN_STATUSES.includes(s)) throw new InvalidJobStoreInputError(`listRuns status ${JSON.stringify(s)} is not one of ${RUN_STATUSES.join(', ')}`);
  }
  return new Set(statuses);
}
