import type { StepManifest } from '@nightshift/jobs-domain';
import { withSpan } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { ANALYTICS } from './analytics-registry.js';
import { WorkerUsageError, type WorkerConfig } from './config.js';

/**
 * One array child's work: read the step manifest, take the entry at this child's index, run the
 * analytic over that partition, write `{ analytic, step, partition, result }` to the entry's output key.
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
      const result = await analytic(entry, (key) => objects.uriFor(key));
      await objects.put(outputKey, JSON.stringify({ analytic: manifest.analytic, step: manifest.step, partition: entry.partition, result }), 'application/json');
      return { outputKey };
    },
  );
}
