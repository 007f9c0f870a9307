import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskIdFor } from '@nightshift/jobs-domain';
import { runTraceparent, withSpan, type Logger } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { ANALYTICS, type AnalyticOutputs } from './analytics-registry.js';
import type { WorkerConfig } from './config.js';
import { WorkerUsageError } from './errors.js';
import { loggingFailures } from './log.js';
import { readTaskEntry, stagePartitionInputs } from './task-entry.js';

/**
 * One array child's work: read the step manifest, take the entry at this child's index, run the
 * analytic over that partition, write `{ analytic, step, partition, result }` to the entry's output key.
 * DuckDB reads local files only, so the partition's inputs are staged first (`localFile`) into a
 * scratch directory of this task, removed afterwards whatever happens; the directory store stages
 * nothing, its files are read in place. Quotes and trades landed one file per symbol are staged
 * (and read) for the symbols of the partition's orders only.
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
      const outDir = await mkdtemp(join(tmpdir(), 'nightshift-out-'));
      let result: unknown;
      try {
        // Quotes and trades split by symbol: only the symbols of the partition's orders (stagePartitionInputs).
        const staged = await stagePartitionInputs(objects, manifest.analytic, entry, scratch);
        const outputs = new TaskOutputs(outDir, outputKey);
        result = await analytic(staged.entry, (key) => {
          const path = staged.paths.get(key);
          if (path === undefined) throw new WorkerUsageError(`analytic "${manifest.analytic}" asked for ${key}, which is not an input of partition ${entry.partition}`);
          return path;
        }, manifest.options, outputs);
        // Stored before the result that lists their keys: a result never names a missing object.
        for (const file of outputs.files) await objects.putFile(file.key, file.path);
      } finally {
        await rm(scratch, { recursive: true, force: true });
        await rm(outDir, { recursive: true, force: true });
      }
      await objects.put(outputKey, JSON.stringify({ analytic: manifest.analytic, step: manifest.step, partition: entry.partition, result }), 'application/json');
      log.info({ output_key: outputKey }, `wrote ${outputKey}`);
      return { outputKey };
    }),
  );
}

/**
 * Where a task's published files go: `<outDir>/<name>` locally, `<result dir>/detail/<name>` in the
 * store (what the worker's object grant lets it put). A name is one plain path segment.
 */
class TaskOutputs implements AnalyticOutputs {
  readonly files: Array<{ path: string; key: string }> = [];

  constructor(
    private readonly outDir: string,
    private readonly outputKey: string,
  ) {}

  file(name: string): { path: string; key: string } {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new WorkerUsageError(`output file name ${JSON.stringify(name)} must be one plain path segment`);
    const file = { path: join(this.outDir, name), key: detailKeyFor(this.outputKey, name) };
    this.files.push(file);
    return file;
  }
}

/** `runs/<run>/<step>/partition=<p>/result.json` -> `runs/<run>/<step>/partition=<p>/detail/<name>`. */
export function detailKeyFor(outputKey: string, name: string): string {
  return `${outputKey.slice(0, outputKey.lastIndexOf('/') + 1)}detail/${name}`;
}
