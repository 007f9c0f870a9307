#!/usr/bin/env node
import { InputDataError } from '@nightshift/analytics';
import { startTracing } from '@nightshift/observability';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { loadWorkerConfig, WorkerUsageError } from './config.js';
import { runTask } from './run-task.js';

/**
 * The batch job entrypoint. Exit codes: 0 done; 2 bad input or usage (retrying will not help);
 * 1 anything else (worth retrying). The reason goes to stderr, which becomes the job's log stream.
 */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command !== 'run-task') {
    process.stderr.write(`usage: nightshift-worker run-task   (configured by NIGHTSHIFT_* and AWS_BATCH_* environment variables)\n`);
    return 2;
  }
  let config;
  try {
    config = loadWorkerConfig();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const tracing = startTracing({ serviceName: 'nightshift-worker', otlpEndpoint: config.otlpEndpoint, traceFile: config.traceFile });
  try {
    const { outputKey } = await runTask(config, new DirectoryObjectStore(config.objectStoreDir));
    process.stdout.write(`wrote ${outputKey}\n`);
    return 0;
  } catch (e) {
    const usage = e instanceof WorkerUsageError || e instanceof InputDataError;
    process.stderr.write(`${usage ? 'bad input' : 'failed'}: ${(e as Error).message}\n`);
    return usage ? 2 : 1;
  } finally {
    await tracing.shutdown();
  }
}

process.exitCode = await main(process.argv.slice(2));
