import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { landingSchema, type Problem } from '@nightshift/api-contract';
import { classifyAwsError, type AwsCredentials } from '@nightshift/aws-wire';
import { DatasetLanded, type DataProblem, type DatasetLandedDetail } from '@nightshift/contracts';
import { S3AccessDeniedError, S3BucketNotFoundError, S3ObjectStore } from '@nightshift/storage-aws';
import { z } from 'zod';
import { networkFailure } from './api-client.js';
import { intFlag, optional, parseCommandLine, required } from './args.js';
import type { CliIo, Command } from './command.js';
import type { CliEnvironment } from './config.js';
import { ApiProblemError, CliUsageError, LandingRefusedError, LandingRejectedError, PlatformUnreachableError, WaitTimeoutError } from './errors.js';
import { baseUrl, PLATFORM_FLAGS, PLATFORM_FLAGS_USAGE, platformContext, segment, type PlatformContext } from './platform-options.js';
import { newLandingId, planLanding, type LandingFile } from './landing-plan.js';
import { plural } from './format.js';

/** The source `land` publishes Dataset Landed with: an upstream one (any but `aws.*` and `nightshift.*`, which ingestion ignores). */
const DEFAULT_SOURCE = 'nightshift-cli';
/** The embedded platform's one bucket. */
const DEFAULT_BUCKET = 'nightshift';

const USAGE = `nightshift land --dataset NAME --date YYYY-MM-DD [--desk D] [--tenant T] [--force] [--no-wait]
                [--timeout 300] [--aws-endpoint URL] [--bucket nightshift] [--source ${DEFAULT_SOURCE}] FILE...

  Lands files as an upstream system does, through the AWS SDK: S3 PutObject of each FILE to
  landing/<dataset>/<table>/business_date=<date>/[desk=<desk>/]<landing id>/<file name>, then
  one Dataset Landed event (EventBridge PutEvents). Prints the event id, then (unless --no-wait)
  waits for ingestion's verdict (GET /landings/<event id>): the dataset version registered, or
  every reason it was rejected (exit 1).

  FILE is named after its table (fills.csv, quotes.parquet: prices, quotes, trades, orders,
  fills, returns), or given as table=FILE, or lies in a <table>/ directory (nightshift generate's
  layout, whose desk=<desk>/ directories give the desk). --desk is the desk of files of per-desk
  tables that name none; market tables (prices, quotes, trades) have no desk. --force registers
  a new version even when the content is that of one already registered.

  --aws-endpoint  default AWS_ENDPOINT_URL, else the embedded gateway http://127.0.0.1:4010 (the port
                  NIGHTSHIFT_EVENTS_PORT when set)
  credentials     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set, else the upstream key in
                  <home>/credentials.json (written by npm start); region AWS_REGION, else us-east-1
${PLATFORM_FLAGS_USAGE}`;

const FLAGS = {
  ...PLATFORM_FLAGS,
  dataset: { type: 'string' },
  date: { type: 'string' },
  desk: { type: 'string' },
  tenant: { type: 'string' },
  force: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  'aws-endpoint': { type: 'string' },
  bucket: { type: 'string' },
  source: { type: 'string' },
} as const;

/** `nightshift land`: upload files and announce them as a Dataset Landed event, then report ingestion's verdict. */
export const landCommand: Command = {
  name: 'land',
  summary: 'upload files to the landing zone and publish Dataset Landed (AWS SDK); print whether it was accepted',
  usage: USAGE,
  async run(argv: string[], io: CliIo, env: CliEnvironment) {
    const { values, positionals } = parseCommandLine(argv, FLAGS, { min: 0, max: Number.POSITIVE_INFINITY, names: 'FILE...' });
    if (values['help']) return null;
    const ctx = platformContext(values, env, io);
    const desk = optional(values, 'desk');
    const tenant = optional(values, 'tenant');
    const { files, detail } = planLanding({
      dataset: required(values, 'dataset'),
      businessDate: required(values, 'date'),
      ...(desk !== undefined ? { desk } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
      force: values['force'] === true,
      operands: positionals,
      landingId: newLandingId(),
      producer: DEFAULT_SOURCE,
    });
    const timeoutMs = (intFlag(values, 'timeout', 1) ?? 300) * 1_000;
    for (const f of files) await mustBeFile(f.path);
    const aws = await awsTarget(ctx, optional(values, 'aws-endpoint'));
    const bucket = optional(values, 'bucket') ?? DEFAULT_BUCKET;
    await upload(aws, bucket, files);
    const eventId = await publishLanded(aws, optional(values, 'source') ?? DEFAULT_SOURCE, detail);
    const summary = { eventId, files: files.map(({ table, desk: d, key, path }) => ({ table, ...(d !== undefined ? { desk: d } : {}), key, path })) };
    if (!ctx.json) ctx.print(`landed ${plural(files.length, 'file')} to s3://${bucket}/ and published Dataset Landed ${eventId}`);
    if (values['no-wait'] === true) {
      if (ctx.json) ctx.print(JSON.stringify(summary, null, 2));
      return undefined;
    }
    const { data: landing, json } = await awaitLanding(ctx, eventId, timeoutMs, tenant);
    if (ctx.json) ctx.print(JSON.stringify({ ...summary, landing: json }, null, 2));
    if (landing.status === 'REJECTED') {
      const total = landing.reasons.length + (landing.omittedReasons ?? 0);
      if (!ctx.json) {
        ctx.print(`rejected: ${plural(total, 'reason')}`);
        for (const r of landing.reasons) ctx.print(`  ${problemText(r)}`);
        if (landing.omittedReasons) ctx.print(`  (and ${landing.omittedReasons} more the platform did not keep)`);
      }
      throw new LandingRejectedError(eventId, total);
    }
    if (!ctx.json) {
      const d = landing.version;
      const what = d ? ` (${plural(d.files.length, 'file')}, ${plural(d.rowCount, 'row')}${d.partitions.length > 0 ? `, partitions ${d.partitions.join(', ')}` : ''})` : '';
      if (landing.alreadyRegistered) ctx.print(`accepted: the content of ${landing.datasetId}, already registered: nothing new starts (--force registers a new version)`);
      else ctx.print(`accepted: ${landing.datasetId}${what}`);
      ctx.print(`its runs: nightshift runs list --dataset '${landing.datasetId}'`);
    }
    return undefined;
  },
};

/** Where the AWS calls go and as whom. */
interface AwsTarget {
  endpoint: string;
  region: string;
  credentials: AwsCredentials & { sessionToken?: string };
}

async function awsTarget(ctx: PlatformContext, flag: string | undefined): Promise<AwsTarget> {
  const { env } = ctx;
  const endpoint = baseUrl(flag ?? env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${env.NIGHTSHIFT_EVENTS_PORT ?? 4010}`, '--aws-endpoint');
  const region = env.AWS_REGION ?? 'us-east-1';
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { endpoint, region, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } };
  }
  return { endpoint, region, credentials: await upstreamKey(join(ctx.home, 'credentials.json')) };
}

/** The embedded platform's credentials file, as `npm start` writes it (`@nightshift/aws-wire`'s access keys). */
const credentialsFileSchema = z.object({ keys: z.array(z.object({ principal: z.string(), accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) })) });

/** The upstream key of the embedded platform: the one allowed to write the landing zone and publish upstream events. */
async function upstreamKey(file: string): Promise<AwsCredentials> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new CliUsageError(`no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or point --home at the platform's home (${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
  let parsed;
  try {
    parsed = credentialsFileSchema.safeParse(JSON.parse(text));
  } catch (cause) {
    throw new CliUsageError(`${file} is not JSON`, { cause });
  }
  const key = parsed.success ? parsed.data.keys.find((k) => k.principal === 'upstream') : undefined;
  if (!key) throw new CliUsageError(`${file} holds no upstream key (is it the platform's credentials file?)`);
  return { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}

async function mustBeFile(path: string): Promise<void> {
  try {
    if ((await stat(path)).isFile()) return;
  } catch (cause) {
    throw new CliUsageError(`${path}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (cause as Error).message}`, { cause });
  }
  throw new CliUsageError(`${path}: not a file`);
}

/** The files to the landing zone through S3 (PutObject, multipart above 8 MiB), each with its SHA-256 checksum. */
async function upload(aws: AwsTarget, bucket: string, files: readonly LandingFile[]): Promise<void> {
  const client = new S3Client({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials, forcePathStyle: true, maxAttempts: 2 });
  const store = new S3ObjectStore(client, { bucket });
  try {
    for (const f of files) await store.putFile(f.key, f.path);
  } catch (e) {
    const unreachable = networkFailure(e);
    if (unreachable) throw new PlatformUnreachableError(aws.endpoint, unreachable, { cause: e });
    if (e instanceof S3AccessDeniedError || e instanceof S3BucketNotFoundError) {
      throw new LandingRefusedError(`${e.message}: check the credentials (AWS_ACCESS_KEY_ID or <home>/credentials.json), --aws-endpoint and --bucket`, { cause: e });
    }
    throw e;
  } finally {
    client.destroy();
  }
}

/** Publishes Dataset Landed (PutEvents) and answers its event id, which ingestion keys the landing by. */
async function publishLanded(aws: AwsTarget, source: string, detail: DatasetLandedDetail): Promise<string> {
  const client = new EventBridgeClient({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials, maxAttempts: 2 });
  try {
    const out = await client.send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] }));
    const entry = out.Entries?.[0];
    if (!entry?.EventId) throw new LandingRefusedError(`PutEvents refused the Dataset Landed event: ${entry?.ErrorCode ?? 'no entry'} ${entry?.ErrorMessage ?? ''}`.trim());
    return entry.EventId;
  } catch (e) {
    if (e instanceof LandingRefusedError) throw e;
    const unreachable = networkFailure(e);
    if (unreachable) throw new PlatformUnreachableError(aws.endpoint, unreachable, { cause: e });
    if (classifyAwsError(e) === 'client') throw new LandingRefusedError(`PutEvents failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
    throw e;
  } finally {
    client.destroy();
  }
}

/** Polls `GET /landings/:eventId` until ingestion has handled the event (404 until then). */
async function awaitLanding(ctx: PlatformContext, eventId: string, timeoutMs: number, tenant: string | undefined) {
  const deadline = Date.now() + timeoutMs;
  let last: Problem | undefined;
  for (;;) {
    try {
      return await ctx.api.get(`/landings/${segment(eventId)}`, landingSchema, 'landing');
    } catch (e) {
      if (!(e instanceof ApiProblemError && e.status === 404)) throw e;
      last = e.problem;
    }
    if (Date.now() >= deadline) {
      const who = tenant !== undefined ? `; a token of tenant ${tenant} is needed to see a landing of that tenant` : '';
      throw new WaitTimeoutError(`ingestion had not handled Dataset Landed ${eventId} after ${timeoutMs / 1_000} s (last answer: ${last?.detail ?? 'none'}${who}); a longer --timeout waits more`);
    }
    await sleep(500);
  }
}

/** One rejection reason: where (file, line, column, field) and what. */
export function problemText(p: DataProblem): string {
  const where = [p.file ? `${p.file}${p.line !== undefined ? `:${p.line}` : ''}` : undefined, p.column ? `column ${p.column}` : undefined, p.path && !p.file ? p.path : undefined].filter((s) => s !== undefined);
  return `${where.length > 0 ? `${where.join(' ')}: ` : ''}${p.message}`;
}
