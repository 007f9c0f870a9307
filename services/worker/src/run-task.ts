import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskIdFor } from '@nightshift/jobs-domain';
import { runTraceparent, withSpan, type Logger } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { ANALYTICS } from './analytics-registry.js';
import type { WorkerConfig } from './config.js';
import { WorkerUsageError } from './errors.js';
import { loggingFailures } from './log.js';
import { inputKeys, readTaskEntry, stageInputs } from './task-entry.js';

/**
 * One array child's work: read the step manifest, take the entry at this child's index, run the
 * analytic over that partition, write `{ analytic, step, partition, result }` to the entry's output key.
 * DuckDB reads local files only, so the partition's inputs are staged first (`localFile`) into a
 * scratch directory of this task, removed afterwards whatever happens; the directory store stages
 * nothing, its files are read in place.
 */
export async function runTask(config: WorkerConfig, objects: ObjectStore, log: Logger): Promise<{ outputKey: string }> {
  const { manifest, entry } = await readTaskEntry(config, objects);
  if (manifest.analytic === 'command') {
    throw new WorkerUsageError(`step ${manifest.step} runs a command: start the worker with run-command -- <program> [args...]`);
  }
  if (entry.outputKey === undefined) throw new WorkerUsageError(`manifest ${config.manifestKey} entry ${config.arrayIndex} has no output key (written by an older planner?): request the run again`);
  const outputKey = entry.outputKey;
  const analytic = ANALYTICS[manifest.analytic];
  if (!analytic) throw new WorkerUsageError(`unknown analytic "${manifest.analytic}" (known: ${Object.keys(ANALYTICS).join(', ')})`);
  return withSpan(
    `worker: ${manifest.analytic} ${entry.partition}`,
    {
      // The job's TRACEPARENT is its run attempt's span (derived from the run id when a job has none).
      traceparent: config.traceparent ?? runTraceparent(manifest.runId),
      service: `nightshift-worker-${manifest.analytic}`,
      attributes: {
        'nightshift.run_id': manifest.runId,
        'nightshift.task_id': taskIdFor(manifest.step, entry.partition),
        'nightshift.step': manifest.step,
        'nightshift.partition': entry.partition,
        'aws.batch.job_id': config.jobId,
        'aws.batch.attempt': config.attempt,
      },
    },
    () => loggingFailures(log, async () => {
      log.info({ analytic: manifest.analytic }, `running ${manifest.analytic} for ${manifest.step} ${entry.partition}`);
      const scratch = await mkdtemp(join(tmpdir(), 'nightshift-task-'));
      let result: unknown;
      try {
        const paths = await stageInputs(objects, inputKeys(entry), scratch);
        result = await analytic(entry, (key) => {
          const path = paths.get(key);
          if (path === undefined) throw new WorkerUsageError(`analytic "${manifest.analytic}" asked for ${key}, which is not an input of partition ${entry.partition}`);
          return path;
        });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      await objects.put(outputKey, JSON.stringify({ analytic: manifest.analytic, step: manifest.step, partition: entry.partition, result }), 'application/json');
      log.info({ output_key: outputKey }, `wrote ${outputKey}`);
      return { outputKey };
    }),
  );
}
