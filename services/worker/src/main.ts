#!/usr/bin/env node
import { InputDataError } from '@nightshift/analytics';
import { startTracing } from '@nightshift/observability';
import { S3Client } from '@aws-sdk/client-s3';
import { s3ObjectStoreForBuckets } from '@nightshift/storage-aws';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { loadWorkerConfig, WorkerUsageError } from './config.js';
import { runTask } from './run-task.js';

/** One log line, stamped with the time as CloudWatch Logs would stamp it: `<ISO-8601> <text>`. */
function log(stream: NodeJS.WriteStream, text: string): void {
  const at = new Date().toISOString();
  stream.write(text.split('\n').map((line) => `${at} ${line}`).join('\n') + '\n');
}

/**
 * The batch job entrypoint. Exit codes: 0 done; 2 bad input or usage (retrying will not help);
 * 1 anything else (worth retrying). The reason goes to stderr, which becomes the job's log stream.
 */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command !== 'run-task') {
    log(process.stderr, 'usage: nightshift-worker run-task   (configured by NIGHTSHIFT_* and AWS_BATCH_* environment variables)');
    return 2;
  }
  let config;
  try {
    config = loadWorkerConfig();
  } catch (e) {
    log(process.stderr, (e as Error).message);
    return 2;
  }
  const tracing = startTracing({ serviceName: 'nightshift-worker', otlpEndpoint: config.otlpEndpoint, traceFile: config.traceFile });
  // The object store by mode: S3 (its endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, as the SDK reads them),
  // with landing and claim-check keys in their own buckets when set, or the directory.
  const s3 = config.mode === 'aws' ? new S3Client({ forcePathStyle: config.s3ForcePathStyle }) : undefined;
  const objects: ObjectStore = s3
    ? s3ObjectStoreForBuckets(s3, { bucket: config.bucket!, landingBucket: config.landingBucket, claimCheckBucket: config.claimCheckBucket })
    : new DirectoryObjectStore(config.objectStoreDir!);
  try {
    const { outputKey } = await runTask(config, objects);
    log(process.stdout, `wrote ${outputKey}`);
    return 0;
  } catch (e) {
    const usage = e instanceof WorkerUsageError || e instanceof InputDataError;
    log(process.stderr, `${usage ? 'bad input' : 'failed'}: ${(e as Error).message}`);
    return usage ? 2 : 1;
  } finally {
    s3?.destroy();
    await tracing.shutdown();
  }
}

process.exitCode = await main(process.argv.slice(2));
