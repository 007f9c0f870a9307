#!/usr/bin/env node
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DatasetLanded } from '@nightshift/contracts';
import { startTracing, withSpan } from '@nightshift/observability';
import { InvalidPipelineFilesError } from '@nightshift/platform';
import { InvalidSubscriptionsError } from '@nightshift/reporting';
import { describeApiKeys } from './api-keys.js';
import { CONSOLE_QUEUE, CONSOLE_RULES, flowSummary, followFlow, purgeConsoleQueue, reportLines, type FlowResult } from './console.js';
import { FIELD_NAMES, HostHelpRequested, HostUsageError, loadHostConfig } from './config.js';
import { startEmbeddedPlatform, type EmbeddedPlatform } from './embedded-platform.js';
import { acquireHomeLock, HomeInUseError, type HomeLock } from './home-lock.js';
import { asPortUnavailable, checkPortsFree, PortUnavailableError, type HostPort } from './ports.js';
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
  // Before anything opens the home or a port: a second host on this home, or a port another process
  // holds, is refused with what to change (exit 2), not a stack trace from LevelDB's lock or a listen.
  const ports: HostPort[] = [
    { port: config.apiPort, host: '127.0.0.1', what: 'the REST API', variable: FIELD_NAMES['apiPort']! },
    { port: config.eventsPort, host: '127.0.0.1', what: 'the AWS APIs gateway', variable: FIELD_NAMES['eventsPort']! },
  ];
  let lock: HomeLock;
  try {
    lock = await acquireHomeLock(config.home);
  } catch (e) {
    if (!(e instanceof HomeInUseError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  try {
    await checkPortsFree(ports);
  } catch (e) {
    await lock.release();
    if (!(e instanceof PortUnavailableError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  const tracing = startTracing({ serviceName: 'nightshift-host', otlpEndpoint: config.otlpEndpoint, traceFile: join(config.home, 'traces', 'traces.jsonl') });
  print(`nightshift (embedded${config.split ? ', split' : ''}) home=${config.home} compute=${config.vcpus} vCPU/${config.memoryMiB} MiB`);
  let platform: EmbeddedPlatform;
  try {
    // Log lines go to <home>/logs/nightshift.jsonl, and readable to stderr on a terminal: stdout is the console's.
    const logger = { level: config.logLevel, ...(process.stderr.isTTY ? { console: process.stderr } : {}) };
    platform = await startEmbeddedPlatform({ ...config, logger, topology: config.split ? 'split' : 'one-process', extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES } });
  } catch (e) {
    // Bad pipeline or webhooks files are the user's to fix: each problem with its file and line, no stack trace.
    // So is a port taken after the check above (the platform has stopped what it had started).
    const refused = e instanceof InvalidPipelineFilesError || e instanceof InvalidSubscriptionsError ? e : asPortUnavailable(e, ports);
    if (!refused) throw e;
    process.stderr.write(`${refused.message}\n`);
    await tracing.shutdown();
    await lock.release();
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
    await lock.release();
  };
  process.once('SIGINT', () => void shutdown().then(() => process.exit(130)));
  process.once('SIGTERM', () => void shutdown().then(() => process.exit(143)));
  if (config.once) {
    // Nothing is served once --once exits: no links and keys that would be dead by the time they are read.
    print('API           not served with --once: `npm start` (without --once) serves REST, GraphQL, /docs, the /ui dashboard and /metrics until Ctrl-C');
  } else {
    print(`REST API      ${platform.apiUrl}/runs   ${platform.apiUrl}/reports   reference ${platform.apiUrl}/docs   GraphQL ${platform.apiUrl}/graphql`);
    print(`dashboard     ${platform.apiUrl}/ui   (paste the admin key from ${platform.apiKeys.adminKeyFile})   metrics ${platform.apiUrl}/metrics (admin key)`);
    print(await describeApiKeys(platform.apiKeys, platform.apiUrl));
    print(`AWS APIs      ${platform.eventsUrl}  (AWS_ENDPOINT_URL: PutEvents, SQS, Batch, S3 bucket nightshift, CloudWatch Logs, DynamoDB; SigV4)`);
    const upstream = platform.credentials.upstream;
    print(`upstream key  export AWS_ENDPOINT_URL=${platform.eventsUrl} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=${upstream.accessKeyId} AWS_SECRET_ACCESS_KEY=${upstream.secretAccessKey}`);
    print(`              (PutEvents and S3; every key in ${platform.credentials.file})`);
  }
  if (platform.services) {
    const pids = (['ingestion', 'planner', 'reporting'] as const).map((s) => `${s} pid ${platform.services!.pid(s)}`).join(', ');
    print(`services      ${pids} (aws mode; logs in ${join(config.home, 'services')})`);
  }

  let exitCode = 0;
  let flow: FlowResult | undefined;
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
    flow = await followFlow({
      bus: platform.bus,
      store: platform.store,
      correlationId: landedId,
      pipelines: platform.pipelinesFor(detail.dataset),
      print,
      signal: abort.signal,
    });
    for (const outcome of flow.outcomes) {
      if (outcome.kind === 'report') {
        // The document's file in the object store directory: still there after --once exits.
        const file = platform.objects.pathOf(outcome.detail.data.key);
        for (const line of reportLines(outcome.detail, { file, ...(config.once ? {} : { apiUrl: platform.apiUrl }) })) print(line);
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
  if (platform.logFile) print(`logs:   ${platform.logFile} (JSON lines; NIGHTSHIFT_LOG_LEVEL)`);
  // The one closing line; elapsed since the process started, as the person who started it counts.
  print(flowSummary(flow, performance.now()));
  if (config.once) {
    await shutdown();
    return exitCode;
  }
  print('serving; Ctrl-C to stop');
  await new Promise<void>(() => {});
  return 0;
}

process.exitCode = await main();
