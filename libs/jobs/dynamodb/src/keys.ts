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
export const REPORTS_PARTITION = 'REPORTS';
export const TASK_PREFIX = 'TASK#';
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

/** Which version a landed event was given; written before the version item (see registerDatasetVersion). */
export function landedEventKey(landedEventId: string): ItemKey {
  return { PK: `LANDED#${landedEventId}`, SK: 'LANDED' };
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

export function taskKey(runId: string, taskId: string): ItemKey {
  return { PK: runPartition(runId), SK: `${TASK_PREFIX}${taskId}` };
}

export function reportKey(reportId: string): ItemKey {
  return { PK: `REPORT#${reportId}`, SK: 'REPORT' };
}

export function reportIndexKey(publishedAt: string, reportId: string): ItemKey {
  return { PK: REPORTS_PARTITION, SK: `${publishedAt}#${reportId}` };
}

export function runReportKey(runId: string, publishedAt: string, reportId: string): ItemKey {
  return { PK: runPartition(runId), SK: `${RUN_REPORT_PREFIX}${publishedAt}#${reportId}` };
}

export function processedKey(consumer: string, eventId: string): ItemKey {
  return { PK: `PROCESSED#${consumer}`, SK: `EVENT#${eventId}` };
}

/** Drops the key and the store's own bookkeeping attributes, leaving the domain object. */
export function stripInternal<T>(item: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name === 'PK' || name === 'SK' || name.startsWith('_')) continue;
    out[name] = value;
  }
  return out as T;
}
