import { setTimeout as sleep } from 'node:timers/promises';
import {
  backfillAcceptedSchema,
  backfillActionAcceptedSchema,
  backfillSchema,
  backfillsPageSchema,
  backfillStatusSchema,
  type BackfillResource,
  type BackfillSummaryResource,
} from '@nightshift/api-contract';
import { intFlag, numberFlag, optional, required, type FlagValues } from './args.js';
import { choiceList, type Command } from './command.js';
import { BackfillFailedError, CliUsageError } from './errors.js';
import { clip, formatDuration, formatTable, formatTime, plural, progressBar } from './format.js';
import { PAGING, pages, printListing } from './listing.js';
import { PLATFORM_FLAGS_USAGE, queryString, runPlatformSubcommand, segment, type PlatformContext, type PlatformSubcommand } from './platform-options.js';

const USAGE = `nightshift backfill start <pipeline> --from D --to D [--concurrency 1] [--tenant T]
                         [--idempotency-key K] [--wait] [--interval 2]
nightshift backfill show <backfill-id>
nightshift backfill list [--pipeline P] [--status S1,S2] [--tenant T] [--limit N] [--cursor C] [--all]
nightshift backfill cancel <backfill-id> [--reason TEXT]

  start   one run of the pipeline per business date of its calendar from --from to --to
          (inclusive), at most --concurrency (1-50) open at a time, over the tenant's latest
          dataset version of each date; a date without one is reported MISSING_DATASET. Refused
          while an open backfill of the pipeline overlaps the range. --wait polls until it has
          finished: exit 0 when every date succeeded, 1 otherwise
  show    progress (dates per status), every date with its run and reason, the summary
  list    backfills, newest first (statuses ${backfillStatusSchema.options.join(', ')})
  cancel  ask the planner to stop it: waiting dates are cancelled, open runs stopped

${PLATFORM_FLAGS_USAGE}

Exit codes: 0 done; 2 bad input (an unknown pipeline or backfill, a range that cannot run, an
overlapping backfill, a refused token); 1 other failures (the platform unreachable, a waited-for
backfill that did not succeed).`;

const SUBCOMMANDS: Record<string, PlatformSubcommand> = {
  start: {
    flags: { from: { type: 'string' }, to: { type: 'string' }, concurrency: { type: 'string' }, tenant: { type: 'string' }, 'idempotency-key': { type: 'string' }, wait: { type: 'boolean' }, interval: { type: 'string' } },
    operands: { min: 1, max: 1, names: '<pipeline>' },
    run: start,
  },
  show: { flags: {}, operands: { min: 1, max: 1, names: '<backfill-id>' }, run: show },
  list: { flags: { pipeline: { type: 'string' }, status: { type: 'string' }, tenant: { type: 'string' }, ...PAGING }, operands: { min: 0, max: 0, names: '' }, run: list },
  cancel: { flags: { reason: { type: 'string' } }, operands: { min: 1, max: 1, names: '<backfill-id>' }, run: cancel },
};

/** `nightshift backfill ...`: backfills through the REST API. */
export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'run a pipeline over a range of business dates, a few at a time; show, list and cancel backfills',
  usage: USAGE,
  run: runPlatformSubcommand('backfill', SUBCOMMANDS),
};

async function start(ctx: PlatformContext, [pipeline]: string[], values: FlagValues): Promise<void> {
  const body = { pipeline: pipeline!, from: required(values, 'from'), to: required(values, 'to'), ...optionalInt(values, 'concurrency') };
  const interval = numberFlag(values, 'interval') ?? 2;
  if (interval <= 0) throw new CliUsageError(`--interval must be a positive number of seconds, got ${interval}`);
  const key = optional(values, 'idempotency-key');
  const tenant = optional(values, 'tenant');
  const { data, json } = await ctx.api.post(`/backfills${queryString({ tenant })}`, body, backfillAcceptedSchema, 'backfill', key !== undefined ? { 'idempotency-key': key } : {});
  if (values['wait'] === true) {
    if (!ctx.json) ctx.print(`backfill ${data.backfillId} accepted: ${plural(data.total, 'business date')} of ${data.pipeline} from ${data.from} to ${data.to}, ${data.concurrency} at a time`);
    await waitForBackfill(ctx, data.backfillId, interval * 1_000);
    return;
  }
  if (ctx.json) {
    ctx.print(JSON.stringify(json, null, 2));
    return;
  }
  ctx.print(`backfill ${data.backfillId} accepted: ${plural(data.total, 'business date')} of ${data.pipeline} from ${data.from} to ${data.to}, ${data.concurrency} at a time`);
  ctx.print(`follow it: nightshift backfill show ${data.backfillId}   (${ctx.api.apiUrl}${data.location})`);
}

async function show(ctx: PlatformContext, [backfillId]: string[]): Promise<void> {
  const { data, json } = await ctx.api.get(`/backfills/${segment(backfillId!)}`, backfillSchema, 'backfill');
  if (ctx.json) {
    ctx.print(JSON.stringify(json, null, 2));
    return;
  }
  for (const line of describeBackfill(data)) ctx.print(line);
}

async function list(ctx: PlatformContext, _args: string[], values: FlagValues): Promise<void> {
  const status = choiceList(values, 'status', backfillStatusSchema.options);
  const query = { pipeline: optional(values, 'pipeline'), status: status?.join(','), tenant: optional(values, 'tenant'), limit: intFlag(values, 'limit', 1) };
  const listing = await pages(ctx, (cursor) => `/backfills${queryString({ ...query, cursor })}`, backfillsPageSchema, 'page of backfills', values);
  const table = formatTable(
    ['BACKFILL', 'PIPELINE', 'FROM', 'TO', 'STATUS', 'DONE', 'CREATED'],
    listing.items.map((b) => [b.backfillId, b.pipeline, b.from, b.to, b.status, `${settled(b)}/${b.total}`, formatTime(b.createdAt)]),
  );
  printListing(ctx, listing, table, 'no backfills match');
}

async function cancel(ctx: PlatformContext, [backfillId]: string[], values: FlagValues): Promise<void> {
  const reason = optional(values, 'reason');
  const { data, json } = await ctx.api.post(`/backfills/${segment(backfillId!)}/cancel`, reason !== undefined ? { reason } : {}, backfillActionAcceptedSchema, 'cancel acceptance');
  if (ctx.json) {
    ctx.print(JSON.stringify(json, null, 2));
    return;
  }
  ctx.print(`cancel of backfill ${data.backfillId} accepted: its waiting dates will be cancelled and its open runs stopped`);
  ctx.print(`follow it: nightshift backfill show ${data.backfillId}   (${ctx.api.apiUrl}${data.location})`);
}

/**
 * Polls the backfill until it has finished, printing a line whenever its progress changes (the
 * final backfill as JSON with --json). Resolves when it SUCCEEDED; @throws BackfillFailedError otherwise.
 */
async function waitForBackfill(ctx: PlatformContext, backfillId: string, intervalMs: number): Promise<void> {
  let last = '';
  for (;;) {
    const { data, json } = await ctx.api.get(`/backfills/${segment(backfillId)}`, backfillSchema, 'backfill');
    const line = progressLine(data);
    if (!ctx.json && line !== last) ctx.print(line);
    last = line;
    if (data.finishedAt !== undefined) {
      if (ctx.json) ctx.print(JSON.stringify(json, null, 2));
      else for (const l of problemLines(data)) ctx.print(l);
      if (data.status !== 'SUCCEEDED') throw new BackfillFailedError(data.backfillId, data.status, data.summary);
      if (!ctx.json) ctx.print(`backfill ${data.backfillId} SUCCEEDED${data.durationMs !== undefined ? ` in ${formatDuration(data.durationMs)}` : ''}`);
      return;
    }
    await sleep(intervalMs);
  }
}

/** `show`: the backfill, its progress, every date, and the summary once finished. */
export function describeBackfill(b: BackfillResource): string[] {
  const lines = [
    `backfill     ${b.backfillId}${b.tenant ? `   tenant ${b.tenant}` : ''}`,
    `pipeline     ${b.pipeline}, ${b.from} to ${b.to} (${plural(b.total, 'business date')}), ${b.concurrency} at a time`,
    `status       ${b.status}   requested by ${b.requestedBy} at ${formatTime(b.createdAt)}${b.finishedAt ? `, finished ${formatTime(b.finishedAt)} (${formatDuration(b.durationMs)})` : ''}`,
    `progress     ${progressBar(settled(b), b.total)} ${countsText(b)}`,
  ];
  if (b.summary) lines.push(`summary      ${b.summary}`);
  lines.push('', ...formatTable(['DATE', 'STATUS', 'RUN', 'REASON'], b.dates.map((d) => [d.date, d.status, d.runId ?? '-', clip(d.reason ?? '', 100)])));
  return lines;
}

function progressLine(b: BackfillResource): string {
  return `${b.status.padEnd(9)} ${progressBar(settled(b), b.total)} ${settled(b)}/${b.total}  ${countsText(b)}`;
}

/** The dates that did not succeed, once it has finished: each with why. */
function problemLines(b: BackfillResource): string[] {
  return b.dates.filter((d) => d.status !== 'SUCCEEDED').map((d) => `  ${d.date} ${d.status}${d.reason ? `: ${clip(d.reason, 120)}` : ''}`);
}

function settled(b: BackfillSummaryResource): number {
  return b.total - b.counts.PENDING - b.counts.RUNNING;
}

function countsText(b: BackfillSummaryResource): string {
  const parts = Object.entries(b.counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`);
  return parts.join(', ');
}

function optionalInt(values: FlagValues, name: string): { concurrency?: number } {
  const n = intFlag(values, name, 1);
  return n === undefined ? {} : { [name]: n };
}
