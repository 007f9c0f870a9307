import { StoreUnavailableError, tenantOf, type DatasetVersion, type DatasetVersionQuery, type Page } from '@nightshift/jobs-domain';
import type { DynamoTable, Item } from './dynamo-table.js';
import { DatasetVersionContentionError } from './errors.js';
import { FilterBuilder, listIndex } from './index-listing.js';
import {
  DATASETS_PARTITION,
  VERSION_PREFIX,
  datasetId,
  datasetIndexKey,
  datasetPartition,
  datasetVersionKey,
  datasetVersionKeyFromId,
  landedEventKey,
  stripInternal,
  tenantDatasetIndexKey,
  tenantDatasetsPartition,
  type ItemKey,
} from './keys.js';
import { pageLimit } from './page-token.js';

/** Versions read per page while looking for one tenant's latest: only version numbers and tenants are read. */
const TENANT_SEARCH_PAGE = 25;
const LIST_VERSIONS_DEFAULT = 50;
const LIST_VERSIONS_MAX = 500;

/*
 * Dataset versions: one item per version in the dataset-and-date partition (`V#<version>`), and one
 * claim per landed event saying which version it takes. A version carries its `tenant` like any
 * other field; numbering is per dataset and date across tenants. Each version has a pointer in the
 * DATASETS index and one in its tenant's (`DATASETS#TENANT#<t>`), by `registeredAt`, for
 * listDatasetVersions; the pointers carry the version's dataset name, date and tenant (all
 * immutable), so a listing by dataset filters them before reading any version.
 */
export class DatasetVersionRecords {
  constructor(
    private readonly table: DynamoTable,
    private readonly maxAllocationAttempts: number,
  ) {}

  /**
   * Allocation without transactions:
   * 1. The landed event's claim item (`LANDED#<id>`) is written first, with attribute_not_exists,
   *    naming the version this event will take (latest + 1). A replay finds the claim and keeps it.
   * 2. The version item is put with attribute_not_exists. If another landing took that slot first,
   *    the claim is moved to the next free version with a write conditioned on the version it held,
   *    and the put is tried again.
   * A slot is owned by exactly one event (the put is conditional) and an event owns at most one
   * slot (its claim only moves off a slot someone else owns), so concurrent deliveries of one event
   * return the same version and distinct events get distinct, gap-free versions.
   * 3. The version's index pointers, conditional puts on every return, so a replay completes a
   *    registration that crashed before them.
   */
  async register(input: Omit<DatasetVersion, 'version' | 'datasetId'>): Promise<DatasetVersion> {
    const op = 'registerDatasetVersion';
    const claimKey = landedEventKey(input.landedEventId);
    let claim = await this.claimOf(claimKey, op);
    if (!claim) {
      const proposed = { dataset: input.dataset, businessDate: input.businessDate, version: (await this.latestVersionNumber(input.dataset, input.businessDate, op)) + 1 };
      const claimed = await this.table.putIfAbsent({ ...claimKey, _entity: 'landedEvent', landedEventId: input.landedEventId, ...proposed }, op);
      claim = claimed ? proposed : await this.claimOf(claimKey, op);
      if (!claim) throw new StoreUnavailableError(`claim of landed event ${input.landedEventId} vanished during ${op}`);
    }
    // A replay registers under the dataset and date of the first delivery, whatever it carries now.
    const { dataset, businessDate } = claim;

    for (let attempt = 1; attempt <= this.maxAllocationAttempts; attempt++) {
      const version: number = claim.version;
      const slotKey = datasetVersionKey(dataset, businessDate, version);
      const candidate: DatasetVersion = { ...input, dataset, businessDate, version, datasetId: datasetId(dataset, businessDate, version) };
      if (await this.table.putIfAbsent({ ...candidate, ...slotKey, _entity: 'datasetVersion' }, op)) return this.indexed(candidate, op);

      const slot = await this.table.get(slotKey, op);
      if (slot !== undefined && slot.landedEventId === input.landedEventId) return this.indexed(stripInternal<DatasetVersion>(slot), op);

      const next = Math.max(version, await this.latestVersionNumber(dataset, businessDate, op)) + 1;
      const moved = await this.table.update(
        {
          Key: claimKey,
          UpdateExpression: 'SET #version = :next',
          ConditionExpression: '#version = :held',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':next': next, ':held': version },
        },
        op,
      );
      if (moved.applied) claim = { ...claim, version: next };
      else {
        // A concurrent delivery of the same event moved the claim already; follow it.
        const current = await this.claimOf(claimKey, op);
        if (!current) throw new StoreUnavailableError(`claim of landed event ${input.landedEventId} vanished during ${op}`);
        claim = current;
      }
    }
    throw new DatasetVersionContentionError(dataset, businessDate, this.maxAllocationAttempts);
  }

  async get(id: string): Promise<DatasetVersion | undefined> {
    const key = datasetVersionKeyFromId(id);
    if (!key) return undefined;
    const item = await this.table.get(key, 'getDatasetVersion');
    return item ? stripInternal<DatasetVersion>(item) : undefined;
  }

  /**
   * The highest version; of one tenant: versions newest first, reading only their keys and tenants,
   * until one is the tenant's, then that version whole (a version's file list can be large, and a
   * day has few versions).
   */
  async latest(dataset: string, businessDate: string, tenant?: string): Promise<DatasetVersion | undefined> {
    const op = 'latestDatasetVersion';
    const pk = datasetPartition(dataset, businessDate);
    if (tenant === undefined) {
      const [item] = await this.table.queryAll(pk, { prefix: VERSION_PREFIX, newestFirst: true, limit: 1 }, op);
      return item ? stripInternal<DatasetVersion>(item) : undefined;
    }
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.queryPage(pk, { prefix: VERSION_PREFIX, newestFirst: true, limit: TENANT_SEARCH_PAGE, startKey, attributes: ['PK', 'SK', 'tenant'] }, op);
      const found = page.items.find((item) => tenantOf(item as { tenant?: string }) === tenant);
      if (found) {
        const item = await this.table.get({ PK: String(found.PK), SK: String(found.SK) }, op);
        if (item) return stripInternal<DatasetVersion>(item);
      }
      startKey = page.lastKey;
    } while (startKey !== undefined);
    return undefined;
  }

  /**
   * DATASETS pointers (or the tenant's copy of them) newest first, filtered on the pointers'
   * `dataset`, then a consistent BatchGet of the versions (see `listIndex`).
   */
  async list(query: DatasetVersionQuery): Promise<Page<DatasetVersion>> {
    const op = 'listDatasetVersions';
    const limit = pageLimit(query.limit, LIST_VERSIONS_DEFAULT, LIST_VERSIONS_MAX, op);
    const pk = query.tenant === undefined ? DATASETS_PARTITION : tenantDatasetsPartition(query.tenant);
    const filter = query.dataset === undefined ? undefined : new FilterBuilder().equals('dataset', query.dataset).build();
    return listIndex(this.table, {
      op,
      pk,
      limit,
      ...(query.nextToken === undefined ? {} : { nextToken: query.nextToken }),
      ...(filter ? { filter } : {}),
      resolve: async (pointers) => {
        const keys = pointers.flatMap((p) => datasetVersionKeyFromId(String(p.datasetId)) ?? []);
        const versions = new Map((await this.table.batchGet(keys, op)).map((item) => [String(item.datasetId), stripInternal<DatasetVersion>(item)]));
        return pointers.map((p) => {
          const version = versions.get(String(p.datasetId));
          const matches = version && (query.dataset === undefined || version.dataset === query.dataset) && (query.tenant === undefined || tenantOf(version) === query.tenant);
          return matches ? version : undefined;
        });
      },
    });
  }

  private async indexed(version: DatasetVersion, op: string): Promise<DatasetVersion> {
    for (const pointer of datasetPointers(version)) await this.table.putIfAbsent(pointer, op);
    return version;
  }

  private async claimOf(key: ItemKey, op: string): Promise<{ dataset: string; businessDate: string; version: number } | undefined> {
    const item = await this.table.get(key, op);
    if (!item) return undefined;
    return { dataset: String(item.dataset), businessDate: String(item.businessDate), version: Number(item.version) };
  }

  private async latestVersionNumber(dataset: string, businessDate: string, op: string): Promise<number> {
    const [item] = await this.table.queryAll(datasetPartition(dataset, businessDate), { prefix: VERSION_PREFIX, newestFirst: true, limit: 1, attributes: ['version'] }, op);
    return item ? Number(item.version) : 0;
  }
}

/** A version's pointers: in the DATASETS index and in its tenant's, with what a listing filters on. */
export function datasetPointers(version: DatasetVersion): Item[] {
  const fields = { _entity: 'datasetPointer', datasetId: version.datasetId, dataset: version.dataset, businessDate: version.businessDate, tenant: tenantOf(version) };
  return [
    { ...datasetIndexKey(version.registeredAt, version.datasetId), ...fields },
    { ...tenantDatasetIndexKey(tenantOf(version), version.registeredAt, version.datasetId), ...fields },
  ];
}
