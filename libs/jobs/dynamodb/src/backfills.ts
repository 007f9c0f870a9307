import {
  IDEMPOTENCY_KEY_RETENTION_SECONDS,
  PROCESSED_EVENT_RETENTION_SECONDS,
  expiresAtEpochSeconds,
  tenantOf,
  type Clock,
  type DatasetVersion,
  type Report,
  type Run,
} from '@nightshift/jobs-domain';
import { datasetPointers } from './dataset-versions.js';
import { UpdateBuilder, type DynamoTable, type Item } from './dynamo-table.js';
import {
  REPORTS_PARTITION,
  RUNS_PARTITION,
  TTL_ATTRIBUTE,
  datasetRunsPartition,
  migrationKey,
  runKey,
  stripInternal,
  tenantReportIndexKey,
  tenantRunsPartition,
  type ItemKey,
} from './keys.js';
import { PRESENT_ON_EVERY_NEW_POINTER, runPointerFields } from './run-query.js';

/*
 * One-off migrations of a table written by earlier versions of the store. Each is idempotent (it
 * writes only what is missing, with conditional writes, so concurrent runs and re-runs change
 * nothing more) and records its completion in a `MIGRATION#<name>` item, so a process that starts
 * on a migrated table reads one item and goes on.
 */

/** Pointers read per page of an index partition. */
const INDEX_PAGE = 100;
/** Items read per Scan request of the expiry backfill. */
const SCAN_PAGE = 500;

/** What a backfill did: items it wrote, or that it found the migration done (`skipped`). */
export interface BackfillOutcome {
  /** The table was already migrated (its marker exists): nothing was read or written. */
  skipped: boolean;
  /** Index entries (tenant backfill) or records (expiry backfill) written. */
  written: number;
}

export const TENANT_INDEXES_MIGRATION = 'tenant-indexes-v1';
export const EXPIRY_MIGRATION = 'expiry-v1';
export const LISTING_INDEXES_MIGRATION = 'listing-indexes-v1';

export class Backfills {
  constructor(
    private readonly table: DynamoTable,
    private readonly clock: Clock,
  ) {}

  /**
   * The per-tenant listing indexes (`RUNS#TENANT#<t>`, `REPORTS#TENANT#<t>`) for runs and reports
   * stored before they existed: every `RUNS` pointer gets its copy in its run's tenant's index,
   * every `REPORTS` copy its tenant's copy (`tenantOf`: none is `default`). A run's copy carries
   * what listings filter on, as createRun writes it.
   */
  async tenantIndexes(options: { force?: boolean } = {}): Promise<BackfillOutcome> {
    const op = 'backfillTenantIndexes';
    return this.once(TENANT_INDEXES_MIGRATION, options, op, async () => {
      let written = 0;
      await this.eachIndexPage(RUNS_PARTITION, op, async (pointers) => {
        const runs = await this.runsOf(pointers, op);
        for (const pointer of pointers) {
          const run = runs.get(String(pointer.runId));
          // A pointer without its run is not listed either; there is nothing to copy.
          if (run === undefined) continue;
          const copy = { PK: tenantRunsPartition(tenantOf(run)), SK: String(pointer.SK), _entity: 'runPointer', runId: pointer.runId, ...runPointerFields(run) };
          if (await this.table.putIfAbsent(copy, op)) written++;
        }
      });
      await this.eachIndexPage(REPORTS_PARTITION, op, async (copies) => {
        for (const item of copies) {
          const report = stripInternal<Report>(item);
          const copy = { ...report, ...tenantReportIndexKey(tenantOf(report), report.publishedAt, report.reportId), _entity: 'reportCopy' };
          if (await this.table.putIfAbsent(copy, op)) written++;
        }
      });
      return written;
    });
  }

  /**
   * The TTL attribute on processed-event records and Idempotency-Key bindings written before it
   * existed: their retention counted from when they were written (`processedAt`, `createdAt`; now
   * when unreadable). One Scan of the table; each record is updated only while it still lacks the
   * attribute and still exists.
   */
  async expiry(options: { force?: boolean } = {}): Promise<BackfillOutcome> {
    const op = 'backfillExpiry';
    return this.once(EXPIRY_MIGRATION, options, op, async () => {
      let written = 0;
      let startKey: Item | undefined;
      do {
        const page = await this.table.scanPage(
          {
            filter: 'attribute_not_exists(#ttl) AND (#entity = :processed OR #entity = :binding)',
            names: { '#ttl': TTL_ATTRIBUTE, '#entity': '_entity' },
            values: { ':processed': 'processedEvent', ':binding': 'idempotencyKey' },
            attributes: ['PK', 'SK', '_entity', 'processedAt', 'createdAt'],
            limit: SCAN_PAGE,
            startKey,
          },
          op,
        );
        for (const item of page.items) {
          const processed = item._entity === 'processedEvent';
          const since = new Date(String(processed ? item.processedAt : item.createdAt));
          const expiresAt = expiresAtEpochSeconds(
            Number.isNaN(since.getTime()) ? this.clock.now() : since,
            processed ? PROCESSED_EVENT_RETENTION_SECONDS : IDEMPOTENCY_KEY_RETENTION_SECONDS,
          );
          const outcome = await this.table.update(
            {
              Key: { PK: String(item.PK), SK: String(item.SK) },
              UpdateExpression: 'SET #ttl = :expiresAt',
              ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#ttl)',
              ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
              ExpressionAttributeValues: { ':expiresAt': expiresAt },
            },
            op,
          );
          if (outcome.applied) written++;
        }
        startKey = page.lastKey;
      } while (startKey !== undefined);
      return written;
    });
  }

  /**
   * The listing indexes for what was stored before them: every dataset version gets its pointers in
   * `DATASETS` and its tenant's `DATASETS#TENANT#<t>` (one Scan for the versions, which no index
   * lists); every `RUNS` pointer, and its tenant's copy, the attributes listings filter on, and a
   * copy in its dataset version's index (`RUNS#DATASET#<id>`). Puts are conditioned on absence,
   * updates on the pointer existing and still lacking the attributes.
   */
  async listingIndexes(options: { force?: boolean } = {}): Promise<BackfillOutcome> {
    const op = 'backfillListingIndexes';
    return this.once(LISTING_INDEXES_MIGRATION, options, op, async () => {
      let written = 0;
      let startKey: Item | undefined;
      do {
        const page = await this.table.scanPage(
          {
            filter: '#entity = :version',
            names: { '#entity': '_entity' },
            values: { ':version': 'datasetVersion' },
            attributes: ['datasetId', 'dataset', 'businessDate', 'registeredAt', 'tenant'],
            limit: SCAN_PAGE,
            startKey,
          },
          op,
        );
        for (const version of page.items) {
          for (const pointer of datasetPointers(version as unknown as DatasetVersion)) if (await this.table.putIfAbsent(pointer, op)) written++;
        }
        startKey = page.lastKey;
      } while (startKey !== undefined);

      await this.eachIndexPage(RUNS_PARTITION, op, async (pointers) => {
        const runs = await this.runsOf(pointers, op);
        for (const pointer of pointers) {
          const run = runs.get(String(pointer.runId));
          if (run === undefined) continue;
          const sk = String(pointer.SK);
          const fields = runPointerFields(run);
          for (const key of [{ PK: RUNS_PARTITION, SK: sk }, { PK: tenantRunsPartition(tenantOf(run)), SK: sk }]) {
            if (await this.giveFields(key, fields, op)) written++;
          }
          if (await this.table.putIfAbsent({ PK: datasetRunsPartition(run.datasetId), SK: sk, _entity: 'runPointer', runId: run.runId, ...fields }, op)) written++;
        }
      });
      return written;
    });
  }

  /** Sets `fields` on a pointer that exists and lacks them; false when it does not, or has them. */
  private async giveFields(key: ItemKey, fields: Record<string, string>, op: string): Promise<boolean> {
    const b = new UpdateBuilder();
    for (const [name, value] of Object.entries(fields)) b.set(name, value);
    const outcome = await this.table.update(b.build(key, `attribute_exists(PK) AND attribute_not_exists(${b.name(PRESENT_ON_EVERY_NEW_POINTER)})`, 'NONE'), op);
    return outcome.applied;
  }

  /** The runs of a page of pointers, by run id (those that exist). */
  private async runsOf(pointers: Item[], op: string): Promise<Map<string, Run>> {
    const items = await this.table.batchGet(
      pointers.map((p) => runKey(String(p.runId))),
      op,
    );
    return new Map(items.map((item) => [String(item.runId), stripInternal<Run>(item)]));
  }

  /** Runs `migrate` unless the table's marker says it ran to the end (or `force`), then writes the marker. */
  private async once(name: string, options: { force?: boolean }, op: string, migrate: () => Promise<number>): Promise<BackfillOutcome> {
    const key = migrationKey(name);
    if (!options.force && (await this.table.get(key, op, ['PK'])) !== undefined) return { skipped: true, written: 0 };
    const written = await migrate();
    await this.table.putIfAbsent({ ...key, _entity: 'migration', migration: name, completedAt: this.clock.now().toISOString(), written }, op);
    return { skipped: false, written };
  }

  /** Every page of an index partition, oldest first. */
  private async eachIndexPage(pk: string, op: string, fn: (items: Item[]) => Promise<void>): Promise<void> {
    let startKey: Item | undefined;
    do {
      const page = await this.table.queryPage(pk, { limit: INDEX_PAGE, startKey }, op);
      if (page.items.length > 0) await fn(page.items);
      startKey = page.lastKey;
    } while (startKey !== undefined);
  }
}
