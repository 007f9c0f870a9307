import { filesOfSymbols, symbolOfFile, tableSymbols } from '@nightshift/analytics';
import type { DatasetTable } from '@nightshift/contracts';
import type { ManifestEntry, StepManifest } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';
import { TABLES_READ } from './analytics-registry.js';
import type { WorkerConfig } from './config.js';
import { WorkerUsageError } from './errors.js';

/** Objects fetched at once: enough to overlap latency, few enough not to compete for the host's disk and sockets. */
export const STAGING_CONCURRENCY = 4;

/** A step manifest and the entry of this array child. */
export interface TaskEntry {
  manifest: StepManifest;
  entry: ManifestEntry;
}

/**
 * Reads the step manifest (`NIGHTSHIFT_MANIFEST_KEY`) and takes the entry at this child's array
 * index. WorkerUsageError when there is none, or when it lacks what every task reads.
 */
export async function readTaskEntry(config: WorkerConfig, objects: ObjectStore): Promise<TaskEntry> {
  const manifest = JSON.parse(Buffer.from(await objects.get(config.manifestKey)).toString('utf8')) as StepManifest;
  const entry = manifest.entries.find((e) => e.arrayIndex === config.arrayIndex);
  if (!entry) {
    throw new WorkerUsageError(`manifest ${config.manifestKey} has no entry for array index ${config.arrayIndex}`);
  }
  // A manifest from before shared inputs were marked cannot tell a benchmark from a portfolio: say so rather than guess.
  if (typeof entry.inputs !== 'object' || typeof (entry as Partial<typeof entry>).sharedInputs !== 'object') {
    throw new WorkerUsageError(
      `manifest ${config.manifestKey} entry ${config.arrayIndex} lacks inputs or sharedInputs (written by an older planner?): request the run again`,
    );
  }
  return { manifest, entry };
}

/** Every input key of the entry, its own and shared, once each. */
export function inputKeys(entry: ManifestEntry): string[] {
  return [
    ...new Set([...Object.values(entry.inputs), ...Object.values(entry.sharedInputs)].flatMap((keys) => keys ?? [])),
  ];
}

/**
 * The analytics that read quotes and trades only for the symbols of the partition's orders: their
 * SQL keeps the market rows of those symbols and nothing else, so files of other symbols are never
 * needed. The execution report, risk, performance and backtests read no quotes or trades.
 */
export const READS_MARKET_DATA_OF_ORDER_SYMBOLS: ReadonlySet<string> = new Set(['tca']);

/** Market tables a landing may split by symbol (`symbol=<SYM>` in the key). */
const SYMBOL_TABLES = ['quotes', 'trades'] as const;

/**
 * Stages the partition's inputs into `scratchDir` (`stageInputs`) and returns them with the entry
 * the analytic is to run. For an analytic of `READS_MARKET_DATA_OF_ORDER_SYMBOLS` whose quotes or
 * trades landed one file per symbol, the orders are staged first, their symbols read, and only the
 * quote and trade files of those symbols (and any file of several symbols) are staged and left in
 * the entry: a desk reads its own symbols' market data, not the whole day's, and in the AWS mode
 * fetches nothing else. Before that, tables the analytic does not read (`TABLES_READ`) are dropped
 * from the entry, so they are not fetched either. An unknown analytic gets every input.
 */
export async function stagePartitionInputs(
  objects: ObjectStore,
  analytic: string,
  entry: ManifestEntry,
  scratchDir: string,
): Promise<{ entry: ManifestEntry; paths: Map<string, string> }> {
  entry = onlyTablesRead(analytic, entry);
  const orderKeys = entry.inputs.orders ?? [];
  const splitBySymbol = SYMBOL_TABLES.some((t) => (entry.inputs[t] ?? []).some((key) => symbolOfFile(key) !== undefined));
  // Without orders there is nothing to narrow by: the analytic says what is missing.
  if (!READS_MARKET_DATA_OF_ORDER_SYMBOLS.has(analytic) || !splitBySymbol || orderKeys.length === 0) {
    return { entry, paths: await stageInputs(objects, inputKeys(entry), scratchDir) };
  }
  const paths = await stageInputs(objects, orderKeys, scratchDir);
  const symbols = new Set(await tableSymbols('orders', orderKeys.map((key) => paths.get(key)!)));
  const narrow = (keys: string[] | undefined): string[] | undefined => (keys === undefined ? undefined : filesOfSymbols(keys, symbols));
  const narrowed: ManifestEntry = { ...entry, inputs: { ...entry.inputs }, sharedInputs: { ...entry.sharedInputs } };
  for (const table of SYMBOL_TABLES) {
    const inputs = narrow(entry.inputs[table]);
    if (inputs !== undefined) narrowed.inputs[table] = inputs;
    const shared = entry.sharedInputs[table]?.filter((key) => inputs?.includes(key));
    if (shared !== undefined) narrowed.sharedInputs[table] = shared;
  }
  const rest = inputKeys(narrowed).filter((key) => !paths.has(key));
  for (const [key, path] of await stageInputs(objects, rest, scratchDir)) paths.set(key, path);
  return { entry: narrowed, paths };
}

/** The entry with only the input tables `analytic` reads (the same entry for an analytic not in TABLES_READ). */
function onlyTablesRead(analytic: string, entry: ManifestEntry): ManifestEntry {
  const read = Object.hasOwn(TABLES_READ, analytic) ? TABLES_READ[analytic as keyof typeof TABLES_READ] : undefined;
  const unread = (inputs: ManifestEntry['inputs']) => Object.keys(inputs).some((table) => !read!.includes(table as DatasetTable));
  if (!read || (!unread(entry.inputs) && !unread(entry.sharedInputs))) return entry;
  const keep = (inputs: ManifestEntry['inputs']): ManifestEntry['inputs'] =>
    Object.fromEntries(Object.entries(inputs).filter(([table]) => read.includes(table as DatasetTable)));
  return { ...entry, inputs: keep(entry.inputs), sharedInputs: keep(entry.sharedInputs) };
}

/**
 * Each key as a local file (`ObjectStore.localFile`), by key, a few downloads at a time. The
 * directory store answers its own files (which the caller must not modify); other stores write
 * under `scratchDir`, which the caller removes.
 */
export async function stageInputs(
  objects: ObjectStore,
  keys: readonly string[],
  scratchDir: string,
): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  await forEachConcurrently(keys, STAGING_CONCURRENCY, async (key) => {
    paths.set(key, await objects.localFile(key, scratchDir));
  });
  return paths;
}

/** Runs `fn` over every item, at most `limit` at a time; rejects with the first failure once the running calls settle. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  // After a failure no new call starts, and the running ones finish before this rejects: a caller
  // that then removes its scratch directory must not race downloads still writing into it.
  const runner = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failure !== undefined) throw failure.error;
}
