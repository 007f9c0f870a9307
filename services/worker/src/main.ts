#!/usr/bin/env node
import { instrumentDuckDbQueries } from '@nightshift/analytics';
import { startTracing, withSpan } from '@nightshift/observability';
import { S3Client } from '@aws-sdk/client-s3';
import { s3ObjectStoreForBuckets } from '@nightshift/storage-aws';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { commandBaseEnvironment, loadWorkerConfig } from './config.js';
import { exitCodeOf, logFailure, workerLogger } from './log.js';
import { runCommand } from './run-command.js';
import { runTask } from './run-task.js';

const USAGE = [
  "usage: nightshift-worker run-task                             run the step's analytic over this child's partition",
  "       nightshift-worker run-command -- <program> [args...]   run a program (no shell) over this child's partition",
  'both configured by NIGHTSHIFT_* and AWS_BATCH_* environment variables (see services/worker/README.md)',
].join('\n');

type Invocation = { command: 'run-task' } | { command: 'run-command'; argv: string[] };

function parseArguments(args: readonly string[]): Invocation | undefined {
  const [command, separator, ...argv] = args;
  if (command === 'run-task') return { command };
  if (command === 'run-command' && separator === '--' && argv.length > 0 && argv[0] !== '') return { command, argv };
  return undefined;
}

/**
 * The batch job entrypoint. Exit codes: 0 done; 2 bad input or usage (retrying will not help);
 * a user command's own code when it failed (128 + n for signal n), 127/126 when it could not start;
 * 1 anything else (worth retrying). The reason goes to stderr, which becomes the job's log stream,
 * as JSON lines (`workerLogger`), written inside the task's span where it has one: with its run and task.
 */
async function main(args: string[]): Promise<number> {
  const invocation = parseArguments(args);
  if (!invocation) {
    workerLogger(process.stdout, process.stderr).error(USAGE);
    return 2;
  }
  let config;
  try {
    config = loadWorkerConfig();
  } catch (e) {
    workerLogger(process.stdout, process.stderr).error((e as Error).message);
    return 2;
  }
  // The job and attempt on every line: what the planner's lines about the task name too.
  const log = workerLogger(process.stdout, process.stderr, config.logLevel).child({ job_id: config.jobId, attempt: config.attempt });
  const tracing = startTracing({ serviceName: 'nightshift-worker', otlpEndpoint: config.otlpEndpoint, traceFile: config.traceFile });
  // Each DuckDB statement of the task is a span under the task's (its service: the task's analytic).
  instrumentDuckDbQueries((query, run) => {
    const operation = /^\s*(\w+)/.exec(query.sql)?.[1]?.toUpperCase() ?? 'QUERY';
    const attributes = { 'db.system': 'duckdb', 'db.system.name': 'duckdb', 'db.operation.name': operation, 'db.query.text': query.sql.slice(0, 2_000) };
    return withSpan(`duckdb ${operation}`, { requireParent: true, attributes }, run);
  });
  // The object store by mode: S3 (its endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, as the SDK reads them),
  // with landing and claim-check keys in their own buckets when set, or the directory.
  const s3 = config.mode === 'aws' ? new S3Client({ forcePathStyle: config.s3ForcePathStyle }) : undefined;
  const objects: ObjectStore = s3
    ? s3ObjectStoreForBuckets(s3, { bucket: config.bucket!, landingBucket: config.landingBucket, claimCheckBucket: config.claimCheckBucket })
    : new DirectoryObjectStore(config.objectStoreDir!);
  // The compute environment stops a job with SIGTERM (to the worker alone in a container, where the worker is
  // PID 1): a command is told too, and the worker ends with the command's code once it has exited.
  const stop = new AbortController();
  const onSigterm = (): void => stop.abort();
  if (invocation.command === 'run-command') process.on('SIGTERM', onSigterm);
  try {
    // Each logs what it wrote, in the task's span.
    if (invocation.command === 'run-task') await runTask(config, objects, log);
    else await runCommand(config, objects, { argv: invocation.argv, env: commandBaseEnvironment(), stdout: process.stdout, stderr: process.stderr, log, stop: stop.signal });
    return 0;
  } catch (e) {
    // Logged already when it failed inside the task's span (and a command's end, as it happened).
    logFailure(log, e);
    return exitCodeOf(e);
  } finally {
    process.off('SIGTERM', onSigterm);
    s3?.destroy();
    await tracing.shutdown();
  }
}

process.exitCode = await main(process.argv.slice(2));
