#!/usr/bin/env node
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DatasetLanded } from '@nightshift/contracts';
import { startTracing, withSpan } from '@nightshift/observability';
import { InvalidPipelineFilesError } from '@nightshift/platform';
import { describeApiKeys } from './api-keys.js';
import { CONSOLE_QUEUE, CONSOLE_RULES, followFlow, purgeConsoleQueue } from './console.js';
import { HostHelpRequested, HostUsageError, loadHostConfig } from './config.js';
import { startEmbeddedPlatform, type EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';

const print = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `npm start`: nightshift's embedded mode on this machine. Starts the platform, lands a sample
 * business day the way an upstream system would (PutEvents through the AWS SDK), follows the
 * runs it starts (TCA, execution report, desk risk) to their reports, then serves until Ctrl-C (or
 * exits, with --once).
 */
async function main(): Promise<number> {
  let config;
  try {
    config = loadHostConfig(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HostHelpRequested) {
      print(e.usage);
      return 0;
    }
    if (e instanceof HostUsageError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const tracing = startTracing({ serviceName: 'nightshift', otlpEndpoint: config.otlpEndpoint, traceFile: join(config.home, 'traces', 'traces.jsonl') });
  print(`nightshift (embedded${config.split ? ', split' : ''}) home=${config.home} compute=${config.vcpus} vCPU/${config.memoryMiB} MiB`);
  let platform: EmbeddedPlatform;
  try {
    platform = await startEmbeddedPlatform({ ...config, topology: config.split ? 'split' : 'one-process', extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES } });
  } catch (e) {
    // Bad pipeline files are the user's to fix: each problem with its file and line, no stack trace.
    if (!(e instanceof InvalidPipelineFilesError)) throw e;
    process.stderr.write(`${e.message}\n`);
    await tracing.shutdown();
    return 2;
  }
  // What an earlier host left in the console's queue was for its terminal, not this one.
  await purgeConsoleQueue(platform.bus);
  const abort = new AbortController();
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    await platform.stop();
    await tracing.shutdown();
  };
  process.once('SIGINT', () => void shutdown().then(() => process.exit(130)));
  process.once('SIGTERM', () => void shutdown().then(() => process.exit(143)));
  print(`REST API      ${platform.apiUrl}/runs   ${platform.apiUrl}/reports   reference ${platform.apiUrl}/docs   GraphQL ${platform.apiUrl}/graphql`);
  print(await describeApiKeys(platform.apiKeys, platform.apiUrl));
  print(`AWS APIs      ${platform.eventsUrl}  (AWS_ENDPOINT_URL: PutEvents, SQS, Batch, S3 bucket nightshift, CloudWatch Logs, DynamoDB; SigV4)`);
  const upstream = platform.credentials.upstream;
  print(`upstream key  export AWS_ENDPOINT_URL=${platform.eventsUrl} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=${upstream.accessKeyId} AWS_SECRET_ACCESS_KEY=${upstream.secretAccessKey}`);
  print(`              (PutEvents and S3; every key in ${platform.credentials.file})`);
  if (platform.services) {
    const pids = (['ingestion', 'planner', 'reporting'] as const).map((s) => `${s} pid ${platform.services!.pid(s)}`).join(', ');
    print(`services      ${pids} (aws mode; logs in ${join(config.home, 'services')})`);
  }

  let exitCode = 0;
  if (!config.noSample) {
    const { detail, generated } = await ensureSampleDay(platform.objects, { businessDate: config.businessDate, seed: config.seed, desks: config.desks });
    print(`${generated ? 'generated' : 'found'} sample business day ${config.businessDate}: ${detail.files.length} files, desks ${config.desks.join(', ')}`);
    const events = new EventBridgeClient({ endpoint: platform.eventsUrl, region: 'us-east-1', credentials: platform.credentials.upstream });
    const landedId = await withSpan('upstream: Dataset Landed', { kind: 'producer' }, async (span) => {
      const out = await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify({ ...detail, traceparent: span.traceparent() }) }],
        }),
      );
      const entry = out.Entries?.[0];
      if (!entry?.EventId) throw new Error(`PutEvents refused the landed event: ${entry?.ErrorCode} ${entry?.ErrorMessage}`);
      return entry.EventId;
    });
    events.destroy();
    print(`Dataset Landed ${landedId}`);
    const flow = await followFlow({
      bus: platform.bus,
      store: platform.store,
      correlationId: landedId,
      pipelines: platform.pipelinesFor(detail.dataset),
      print,
      signal: abort.signal,
    });
    for (const outcome of flow.outcomes) {
      if (outcome.kind === 'report') {
        const d = outcome.detail.data;
        print(`Report Published ${d.reportId} (${d.pipeline}, ${d.businessDate})`);
        for (const [k, v] of Object.entries(d.headline)) print(`  ${k.padEnd(30)} ${v}`);
        print(`  report: ${platform.apiUrl}/reports/${d.reportId}`);
        print(`  run:    ${platform.apiUrl}/runs/${d.runId}`);
      } else if (outcome.kind === 'rejected') {
        exitCode = 1;
        print(`Dataset Rejected: ${outcome.detail.data.reasons.map((r) => `${r.file ?? r.path ?? ''}${r.line ? `:${r.line}` : ''} ${r.message}`).join('; ')}`);
      } else {
        exitCode = 1;
        print(`Run Failed ${outcome.detail.data.runId} (${outcome.detail.data.pipeline}): ${outcome.detail.data.reason}`);
      }
    }
  }
  print(`traces: ${platform.traceFile}`);
  if (config.once) {
    await shutdown();
    return exitCode;
  }
  print('serving; Ctrl-C to stop');
  await new Promise<void>(() => {});
  return 0;
}

process.exitCode = await main();
