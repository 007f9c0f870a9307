import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskIdFor, type ManifestEntry, type StepManifest } from '@nightshift/jobs-domain';
import { runTraceparent, withSpan, type Logger } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { runProcess } from './command-process.js';
import { prepareWorkspace, readCommandResult, type CommandWorkspace } from './command-workspace.js';
import type { WorkerConfig } from './config.js';
import { CommandFailedError, WorkerUsageError } from './errors.js';
import { loggingFailures, type LogStream } from './log.js';
import { readTaskEntry } from './task-entry.js';

/** The manifest's `analytic` of a step that runs a user's command. */
export const COMMAND_ANALYTIC = 'command';

/** A W3C traceparent with real ids: without tracing started the span's ids are all zero, and the inherited one stays. */
const VALID_TRACEPARENT = /^00-(?!0{32}-)[0-9a-f]{32}-(?!0{16}-)[0-9a-f]{16}-[0-9a-f]{2}$/;

/** How `runCommand` runs the user's program. */
export interface CommandOptions {
  /** The program and its arguments, run without a shell (`sh -c '…'` for one). */
  argv: readonly string[];
  /** The environment the command starts from (the worker's own, `commandBaseEnvironment()`); nightshift's variables go over it. */
  env: Readonly<Record<string, string>>;
  /** Where the command's stdout and stderr lines go (the job's log). */
  stdout: LogStream;
  stderr: LogStream;
  /** The worker's own lines (`workerLogger`: JSON, to the job's log too). */
  log: Logger;
  /** Aborted when the job is being stopped (SIGTERM to the worker): the command gets SIGTERM. */
  stop?: AbortSignal;
}

/** The output document of a command's task: what the report and Choice conditions read at the entry's output key. */
export interface CommandOutput {
  analytic: typeof COMMAND_ANALYTIC;
  step: string;
  partition: string;
  /** The command's `result.json`, or null when it wrote none. */
  result: unknown;
  command: { argv: string[]; exitCode: 0 };
}

/**
 * One array child of a command step: lays out a scratch directory for the entry at this child's
 * index (its inputs, the entry, a chained run's upstream outputs, an empty output directory), runs
 * the user's program there with the NIGHTSHIFT_* variables that point at them, and when it exits 0
 * writes the output document (its `result.json`, or null) to the entry's output key. The scratch
 * directory is removed whatever happens.
 *
 * Errors: WorkerUsageError (exit 2: arguments or manifest); CommandFailedError (the command exited
 * non-zero or was killed: its own code, nothing written); CommandNotStartedError (127/126);
 * CommandResultError (exit 2: `result.json` not JSON); the store's errors as they came.
 */
export async function runCommand(
  config: WorkerConfig,
  objects: ObjectStore,
  options: CommandOptions,
): Promise<{ outputKey: string; output: CommandOutput }> {
  const argv = [...options.argv];
  if (argv.length === 0 || argv[0] === '') {
    throw new WorkerUsageError('run-command needs a program: run-command -- <program> [args...]');
  }
  const { manifest, entry } = await readTaskEntry(config, objects);
  if (manifest.analytic !== COMMAND_ANALYTIC) {
    throw new WorkerUsageError(
      `step ${manifest.step} runs the analytic "${manifest.analytic}": start the worker with run-task`,
    );
  }
  // Checked before the command runs: a command whose output cannot be published must not run for nothing.
  const outputKey = entry.outputKey;
  if (outputKey === undefined) {
    throw new WorkerUsageError(
      `manifest ${config.manifestKey} entry ${config.arrayIndex} has no output key (written by an older planner?): request the run again`,
    );
  }
  const attributes = {
    'nightshift.run_id': manifest.runId,
    'nightshift.task_id': taskIdFor(manifest.step, entry.partition),
    'nightshift.step': manifest.step,
    'nightshift.partition': entry.partition,
    'nightshift.command': argv[0]!,
    'aws.batch.job_id': config.jobId,
    'aws.batch.attempt': config.attempt,
  };
  return withSpan(
    `worker: command ${entry.partition}`,
    { traceparent: config.traceparent ?? runTraceparent(manifest.runId), service: `nightshift-worker-${COMMAND_ANALYTIC}`, attributes },
    (span) => loggingFailures(options.log, async () => {
      const { log } = options;
      const root = await mkdtemp(join(tmpdir(), 'nightshift-command-'));
      let result: unknown;
      try {
        const workspace = await prepareWorkspace(objects, manifest, entry, root);
        log.info({ argv }, `running ${JSON.stringify(argv)} for ${manifest.step} ${entry.partition}`);
        const env = commandEnvironment(options.env, manifest, entry, workspace, span.traceparent());
        const { exitCode, signal } = await runProcess(argv, {
          cwd: root,
          env,
          stdout: options.stdout,
          stderr: options.stderr,
          log,
          stop: options.stop,
        });
        span.setAttributes({ 'process.exit.code': exitCode });
        const failed = exitCode !== 0 ? new CommandFailedError(exitCode, signal) : undefined;
        if (failed) log.error({ exit_code: exitCode, ...(signal ? { signal } : {}) }, failed.message);
        else log.info({ exit_code: 0 }, 'command exited with code 0');
        if (failed) throw failed;
        result = await readCommandResult(workspace);
      } finally {
        await removeScratch(root, log);
      }
      const output: CommandOutput = {
        analytic: COMMAND_ANALYTIC,
        step: manifest.step,
        partition: entry.partition,
        result,
        command: { argv, exitCode: 0 },
      };
      await objects.put(outputKey, JSON.stringify(output), 'application/json');
      log.info({ output_key: outputKey }, `wrote ${outputKey}`);
      return { outputKey, output };
    }),
  );
}

/**
 * The command's environment: the worker's, then nightshift's variables. The two that are set only
 * sometimes are removed first, so their absence means what it says whatever the worker inherited.
 * TRACEPARENT becomes the worker's span (when tracing runs), so a traced program continues the run's
 * trace under it.
 */
function commandEnvironment(
  base: Readonly<Record<string, string>>,
  manifest: StepManifest,
  entry: ManifestEntry,
  workspace: CommandWorkspace,
  traceparent: string,
): Record<string, string> {
  const { NIGHTSHIFT_UPSTREAM_DIR: _upstream, NIGHTSHIFT_PARAMETERS: _parameters, ...inherited } = base;
  return {
    ...inherited,
    NIGHTSHIFT_RUN_ID: manifest.runId,
    NIGHTSHIFT_STEP: manifest.step,
    NIGHTSHIFT_PARTITION: entry.partition,
    NIGHTSHIFT_BUSINESS_DATE: manifest.businessDate,
    NIGHTSHIFT_DATASET_ID: manifest.datasetId,
    NIGHTSHIFT_ENTRY_FILE: workspace.entryFile,
    NIGHTSHIFT_INPUT_DIR: workspace.inputDir,
    NIGHTSHIFT_OUTPUT_DIR: workspace.outputDir,
    ...(workspace.upstreamDir !== undefined ? { NIGHTSHIFT_UPSTREAM_DIR: workspace.upstreamDir } : {}),
    ...(entry.parameters !== undefined ? { NIGHTSHIFT_PARAMETERS: JSON.stringify(entry.parameters) } : {}),
    ...(VALID_TRACEPARENT.test(traceparent) ? { TRACEPARENT: traceparent } : {}),
  };
}

/**
 * Removes the scratch directory. A failure to remove it (a command that left a directory without
 * write permission) is logged, not thrown: it must not replace the outcome of the command, which
 * has run, and a retry makes a directory of its own.
 */
async function removeScratch(root: string, log: Logger): Promise<void> {
  try {
    await rm(root, { recursive: true, force: true });
  } catch (e) {
    log.warn(`could not remove the scratch directory ${root}: ${(e as Error).message}`);
  }
}
