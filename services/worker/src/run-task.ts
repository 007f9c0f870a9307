import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManifestEntry, StepManifest } from '@nightshift/jobs-domain';
import { withSpan } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { ANALYTICS } from './analytics-registry.js';
import { WorkerUsageError, type WorkerConfig } from './config.js';

/** Inputs downloaded at once: enough to overlap latency, few enough not to compete for the host's disk and sockets. */
const STAGING_CONCURRENCY = 4;

/**
 * One array child's work: read the step manifest, take the entry at this child's index, run the
 * analytic over that partition, write `{ analytic, step, partition, result }` to the entry's output key.
 * DuckDB reads local files only, so the partition's inputs are staged first (`localFile`) into a
 * scratch directory of this task, removed afterwards whatever happens; the directory store stages
 * nothing, its files are read in place.
 */
export async function runTask(config: WorkerConfig, objects: ObjectStore): Promise<{ outputKey: string }> {
  const manifest = JSON.parse(Buffer.from(await objects.get(config.manifestKey)).toString('utf8')) as StepManifest;
  const entry = manifest.entries.find((e) => e.arrayIndex === config.arrayIndex);
  if (!entry) throw new WorkerUsageError(`manifest ${config.manifestKey} has no entry for array index ${config.arrayIndex}`);
  // A manifest from before shared inputs were marked cannot tell a benchmark from a portfolio: say so rather than guess.
  if (typeof entry.inputs !== 'object' || typeof (entry as Partial<typeof entry>).sharedInputs !== 'object') {
    throw new WorkerUsageError(`manifest ${config.manifestKey} entry ${config.arrayIndex} lacks inputs or sharedInputs (written by an older planner?): request the run again`);
  }
  if (entry.outputKey === undefined) throw new WorkerUsageError(`manifest ${config.manifestKey} entry ${config.arrayIndex} has no output key: its step runs a command, not an analytic`);
  const outputKey = entry.outputKey;
  const analytic = ANALYTICS[manifest.analytic];
  if (!analytic) throw new WorkerUsageError(`unknown analytic "${manifest.analytic}" (known: ${Object.keys(ANALYTICS).join(', ')})`);
  return withSpan(
    `worker: ${manifest.analytic} ${entry.partition}`,
    {
      traceparent: config.traceparent,
      attributes: { 'nightshift.run_id': manifest.runId, 'nightshift.step': manifest.step, 'nightshift.partition': entry.partition, 'aws.batch.job_id': config.jobId, 'aws.batch.attempt': config.attempt },
    },
    async () => {
      const scratch = await mkdtemp(join(tmpdir(), 'nightshift-task-'));
      let result: unknown;
      try {
        const paths = await stageInputs(objects, entry, scratch);
        result = await analytic(entry, (key) => {
          const path = paths.get(key);
          if (path === undefined) throw new WorkerUsageError(`analytic "${manifest.analytic}" asked for ${key}, which is not an input of partition ${entry.partition}`);
          return path;
        });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      await objects.put(outputKey, JSON.stringify({ analytic: manifest.analytic, step: manifest.step, partition: entry.partition, result }), 'application/json');
      return { outputKey };
    },
  );
}

/** Every input of the partition (its own and shared files) as a local path, by key; a few downloads at a time. */
async function stageInputs(objects: ObjectStore, entry: ManifestEntry, scratch: string): Promise<Map<string, string>> {
  const keys = [...new Set([...Object.values(entry.inputs), ...Object.values(entry.sharedInputs)].flatMap((k) => k ?? []))];
  const paths = new Map<string, string>();
  let next = 0;
  const stager = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      paths.set(key, await objects.localFile(key, scratch));
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAGING_CONCURRENCY, keys.length) }, stager));
  return paths;
}
