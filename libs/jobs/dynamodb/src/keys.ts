/*
 * The single-table key design (see the README for the whole picture). Every item has a string
 * partition key `PK` and sort key `SK`; prefixes keep entity types apart inside shared partitions.
 * Attributes the store adds for itself start with `_` (or are PK/SK) and are stripped on read.
 */

// A type alias, not an interface, so that it is assignable to the SDK's Record-typed keys.
export type ItemKey = { PK: string; SK: string };

/** Zero-padded so that the sort key order is the numeric version order. */
const VERSION_DIGITS = 10;

export const RUNS_PARTITION = 'RUNS';
export const OPEN_RUNS_PARTITION = 'OPEN_RUNS';
export const REPORTS_PARTITION = 'REPORTS';
export const DATASETS_PARTITION = 'DATASETS';
export const STEP_PREFIX = 'STEP#';
export const TASK_CHUNK_PREFIX = 'TASKS#';
export const RUN_REPORT_PREFIX = 'REPORT#';
export const VERSION_PREFIX = 'V#';

export function datasetPartition(dataset: string, businessDate: string): string {
  return `DATASET#${dataset}@${businessDate}`;
}

export function datasetVersionKey(dataset: string, businessDate: string, version: number): ItemKey {
  return { PK: datasetPartition(dataset, businessDate), SK: `${VERSION_PREFIX}${String(version).padStart(VERSION_DIGITS, '0')}` };
}

/** The `datasetId` format the domain defines: `${dataset}@${businessDate}#v${version}`. */
export function datasetId(dataset: string, businessDate: string, version: number): string {
  return `${dataset}@${businessDate}#v${version}`;
}

/**
 * The version item's key for a `datasetId`, or undefined when it is not in the domain's format.
 * Only the `#v<n>` suffix needs splitting off: the rest is the partition name verbatim, so a
 * dataset name containing `@` or `#` still maps to one partition.
 */
export function datasetVersionKeyFromId(id: string): ItemKey | undefined {
  const match = /^(.+)#v([1-9][0-9]*)$/.exec(id);
  if (!match) return undefined;
  const version = Number(match[2]);
  if (!Number.isSafeInteger(version) || String(version).length > VERSION_DIGITS) return undefined;
  return { PK: `DATASET#${match[1]}`, SK: `${VERSION_PREFIX}${String(version).padStart(VERSION_DIGITS, '0')}` };
}

/**
 * Pointer in the DATASETS index (`listDatasetVersions`), newest registration first; its copy in the
 * version's tenant's index. `DATASETS` is no dataset partition: those start with `DATASET#`.
 */
export function datasetIndexKey(registeredAt: string, id: string): ItemKey {
  return { PK: DATASETS_PARTITION, SK: `${registeredAt}#${id}` };
}

export function tenantDatasetsPartition(tenant: string): string {
  return `${DATASETS_PARTITION}#TENANT#${tenant}`;
}

export function tenantDatasetIndexKey(tenant: string, registeredAt: string, id: string): ItemKey {
  return { PK: tenantDatasetsPartition(tenant), SK: `${registeredAt}#${id}` };
}

/** The partition of a landed event: its claim (which version it takes) and, apart, its recorded outcome. */
export function landedEventPartition(landedEventId: string): string {
  return `LANDED#${landedEventId}`;
}

/** Which version a landed event was given; written before the version item (see registerDatasetVersion). */
export function landedEventKey(landedEventId: string): ItemKey {
  return { PK: landedEventPartition(landedEventId), SK: 'LANDED' };
}

/**
 * What became of a landing that registered no version of its own (rejected, or already registered):
 * beside the claim, never in its place, so a claim is only ever what registerDatasetVersion wrote.
 */
export function landingOutcomeKey(landedEventId: string): ItemKey {
  return { PK: landedEventPartition(landedEventId), SK: 'OUTCOME' };
}

export function runPartition(runId: string): string {
  return `RUN#${runId}`;
}

export function runKey(runId: string): ItemKey {
  return { PK: runPartition(runId), SK: 'RUN' };
}

/** Pointer in the fixed RUNS partition; ISO-8601 UTC timestamps sort lexically, so SK order is time order. */
export function runIndexKey(createdAt: string, runId: string): ItemKey {
  return { PK: RUNS_PARTITION, SK: `${createdAt}#${runId}` };
}

/**
 * One tenant's RUNS index (`tenantOf(run)`): the same pointers as RUNS, so a tenant's listing reads
 * only its own runs. Only run indexes start with `RUNS#` (run partitions are `RUN#<id>`).
 */
export function tenantRunsPartition(tenant: string): string {
  return `${RUNS_PARTITION}#TENANT#${tenant}`;
}

export function tenantRunIndexKey(tenant: string, createdAt: string, runId: string): ItemKey {
  return { PK: tenantRunsPartition(tenant), SK: `${createdAt}#${runId}` };
}

/**
 * The runs a dataset version triggered (`listRuns({ datasetId })`), same pointers again. Distinct
 * from every tenant's index: those continue `RUNS#TENANT#`.
 */
export function datasetRunsPartition(id: string): string {
  return `${RUNS_PARTITION}#DATASET#${id}`;
}

export function datasetRunIndexKey(id: string, createdAt: string, runId: string): ItemKey {
  return { PK: datasetRunsPartition(id), SK: `${createdAt}#${runId}` };
}

/** Pointer in the fixed OPEN_RUNS partition, present while the run is not closed (see listOpenRuns). */
export function openRunKey(runId: string): ItemKey {
  return { PK: OPEN_RUNS_PARTITION, SK: runId };
}

export function stepKey(runId: string, step: string): ItemKey {
  return { PK: runPartition(runId), SK: `${STEP_PREFIX}${step}` };
}

/**
 * Task records live in chunks of this many array children: child `i` of a step is slot
 * `i % TASK_CHUNK_SIZE` of chunk `floor(i / TASK_CHUNK_SIZE)`. A chunk counts its finished tasks, and
 * is folded into its step's counts once when all of them have finished: one step write per chunk
 * instead of one per task. 25 keeps a chunk of realistic tasks (< 16 KB each) under DynamoDB's
 * 400 KB item limit, and a 10 000-child step (AWS Batch's largest array) at 400 folds.
 */
export const TASK_CHUNK_SIZE = 25;

/** Zero-padded so that the sort key order is the array index order (10 000 children = 400 chunks). */
const CHUNK_DIGITS = 6;

/** Where array child `arrayIndex` of a step is kept: its chunk and its slot in the chunk. */
export interface TaskSlot {
  chunk: number;
  slot: number;
}

export function taskSlot(arrayIndex: number): TaskSlot {
  return { chunk: Math.floor(arrayIndex / TASK_CHUNK_SIZE), slot: arrayIndex % TASK_CHUNK_SIZE };
}

/** Sort-key prefix of one step's chunks. Step names cannot contain `#` (createRun refuses them), so it matches no other step. */
export function taskChunkPrefix(step: string): string {
  return `${TASK_CHUNK_PREFIX}${step}#`;
}

export function taskChunkKey(runId: string, step: string, chunk: number): ItemKey {
  return { PK: runPartition(runId), SK: `${taskChunkPrefix(step)}${String(chunk).padStart(CHUNK_DIGITS, '0')}` };
}

/** The chunk number at the end of a chunk's sort key. */
export function chunkOfKey(sk: string): number {
  return Number(sk.slice(sk.lastIndexOf('#') + 1));
}

/**
 * Attribute names inside a chunk item: `t<s>` the task, `p<s>` its stored progress (see
 * `storedProgress`), `j<s>` its jobId. Top-level attributes rather than a map per slot, because an update cannot SET a nested
 * path whose parent map does not exist yet, and the first write to a chunk must be a single update.
 */
export function slotAttributes(slot: number): { task: string; progress: string; jobId: string } {
  return { task: `t${slot}`, progress: `p${slot}`, jobId: `j${slot}` };
}

/**
 * `p<s>` of a finished task: above any `taskProgress` (attempts * 8 + rank would need 125 000
 * attempts to reach it), and the same for SUCCEEDED and FAILED. So the one comparison the task
 * write is conditioned on (`p<s> < :p`) also keeps a finished task finished, even against a later
 * report with more attempts, which is what makes its count exactly-once; and the condition stays
 * short, which matters on dynalite (it parses every expression, and a longer one cost a third of
 * its write rate).
 */
export const FINISHED_PROGRESS = 1_000_000;

/** Chunk counters: finished tasks (`ok` succeeded, `ko` failed) and the number of children the chunk holds. */
export const CHUNK_SUCCEEDED = 'ok';
export const CHUNK_FAILED = 'ko';
export const CHUNK_SIZE_ATTRIBUTE = 'size';

/** Children of a step of `stepSize` that chunk `chunk` holds. */
export function chunkSize(stepSize: number, chunk: number): number {
  return Math.min(TASK_CHUNK_SIZE, stepSize - chunk * TASK_CHUNK_SIZE);
}

/**
 * The step item's flag saying chunk `chunk` was folded into its counts. It starts with `_`, so
 * reads strip it; the fold is conditioned on its absence, which makes it happen once.
 */
export function foldedFlag(chunk: number): string {
  return `_f${chunk}`;
}

/** The chunk a fold flag names (NaN for another attribute; `foldedFlag(chunkOfFlag(name)) === name` tells). */
export function chunkOfFlag(name: string): number {
  return name.startsWith('_f') ? Number(name.slice(2)) : Number.NaN;
}

export function reportKey(reportId: string): ItemKey {
  return { PK: `REPORT#${reportId}`, SK: 'REPORT' };
}

export function reportIndexKey(publishedAt: string, reportId: string): ItemKey {
  return { PK: REPORTS_PARTITION, SK: `${publishedAt}#${reportId}` };
}

/** One tenant's copy of the REPORTS index (`tenantOf(report)`). */
export function tenantReportsPartition(tenant: string): string {
  return `${REPORTS_PARTITION}#TENANT#${tenant}`;
}

export function tenantReportIndexKey(tenant: string, publishedAt: string, reportId: string): ItemKey {
  return { PK: tenantReportsPartition(tenant), SK: `${publishedAt}#${reportId}` };
}

export function runReportKey(runId: string, publishedAt: string, reportId: string): ItemKey {
  return { PK: runPartition(runId), SK: `${RUN_REPORT_PREFIX}${publishedAt}#${reportId}` };
}

export function processedKey(consumer: string, eventId: string): ItemKey {
  return { PK: `PROCESSED#${consumer}`, SK: `EVENT#${eventId}` };
}

/**
 * One Idempotency-Key binding per tenant and key. The tenant is URI-encoded, which leaves every
 * tenant name the API accepts (letters, digits, `._-`) as it is and keeps a `#` in it from making
 * two (tenant, key) pairs one partition.
 */
export function idempotencyKeyKey(tenant: string, key: string): ItemKey {
  return { PK: `IDEMPOTENCY#${encodeURIComponent(tenant)}#${key}`, SK: 'IDEMPOTENCY' };
}

/** The record that a one-off migration of the table finished (see `backfills.ts`). */
export function migrationKey(name: string): ItemKey {
  return { PK: `MIGRATION#${name}`, SK: 'MIGRATION' };
}

/**
 * One schedule's partition: its cursor and one item per fire. Pipeline and schedule names are
 * lowercase letters, digits and `-` (the contracts' name rule), so `#` separates them unambiguously.
 */
export function schedulePartition(pipeline: string, schedule: string): string {
  return `SCHEDULE#${pipeline}#${schedule}`;
}

export function scheduleCursorKey(pipeline: string, schedule: string): ItemKey {
  return { PK: schedulePartition(pipeline, schedule), SK: 'CURSOR' };
}

/** Sort-key prefix of a schedule's fire records; ISO-8601 UTC fire times sort lexically, so SK order is fire order. */
export const SCHEDULE_FIRE_PREFIX = 'FIRE#';

export function scheduleFireKey(pipeline: string, schedule: string, scheduledTime: string): ItemKey {
  return { PK: schedulePartition(pipeline, schedule), SK: `${SCHEDULE_FIRE_PREFIX}${scheduledTime}` };
}

/** A backfill's record: the backfill with every date (see `dynamodb-backfill-store.ts`). */
export function backfillKey(backfillId: string): ItemKey {
  return { PK: `BACKFILL#${backfillId}`, SK: 'BACKFILL' };
}

/** Every backfill's pointer, newest first (a tenantless admin's listing). Not `BACKFILL#`: the record partitions. */
export const BACKFILLS_PARTITION = 'BACKFILLS';

export function backfillIndexKey(createdAt: string, backfillId: string): ItemKey {
  return { PK: BACKFILLS_PARTITION, SK: `${createdAt}#${backfillId}` };
}

/** One tenant's copy of the BACKFILLS index; the tenant URI-encoded, as in Idempotency-Key partitions. */
export function tenantBackfillsPartition(tenant: string): string {
  return `${BACKFILLS_PARTITION}#TENANT#${encodeURIComponent(tenant)}`;
}

export function tenantBackfillIndexKey(tenant: string, createdAt: string, backfillId: string): ItemKey {
  return { PK: tenantBackfillsPartition(tenant), SK: `${createdAt}#${backfillId}` };
}

/** Pointer in the fixed OPEN_BACKFILLS partition, present while the backfill is not finished (the sweep's list). */
export const OPEN_BACKFILLS_PARTITION = 'OPEN_BACKFILLS';

export function openBackfillKey(backfillId: string): ItemKey {
  return { PK: OPEN_BACKFILLS_PARTITION, SK: backfillId };
}

/**
 * The open backfills of one tenant and pipeline with their ranges (the "lane"): the one item a new
 * backfill's overlap check reads and writes, conditioned on its version, so that two overlapping
 * backfills cannot both be created. Pipeline names cannot contain `#`; the tenant is URI-encoded.
 */
export function backfillLaneKey(tenant: string, pipeline: string): ItemKey {
  return { PK: `BACKFILL_LANE#${encodeURIComponent(tenant)}#${pipeline}`, SK: 'LANE' };
}

/**
 * The TTL attribute: epoch seconds after which the item may be deleted (DynamoDB's Time to Live
 * deletes it within days of that; the embedded server has no TTL, `TtlSweeper` does it there).
 * Only records that may go carry it: processed events, Idempotency-Key bindings, rejected
 * landings and schedule fire records. No domain object has a field of this name, so none can acquire it by accident.
 */
export const TTL_ATTRIBUTE = 'expiresAt';

/** Drops the key and the store's own bookkeeping attributes, leaving the domain object. */
export function stripInternal<T>(item: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name === 'PK' || name === 'SK' || name.startsWith('_')) continue;
    out[name] = value;
  }
  return out as T;
}
