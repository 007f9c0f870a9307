import type { ManifestEntry, StepManifest } from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';
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
