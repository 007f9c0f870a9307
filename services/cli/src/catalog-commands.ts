import {
  datasetDetailSchema,
  datasetsPageSchema,
  deadLettersPageSchema,
  pipelineSchema,
  pipelinesPageSchema,
  redriveResultSchema,
} from '@nightshift/api-contract';
import { intFlag, optional, parseCommandLine } from './args.js';
import type { CliIo, Command } from './command.js';
import type { CliEnvironment } from './config.js';
import { CliUsageError } from './errors.js';
import { clip, formatDuration, formatTable, formatTime, plural } from './format.js';
import { PAGING, pages, printListing } from './listing.js';
import { PLATFORM_FLAGS, PLATFORM_FLAGS_USAGE, platformContext, queryString, segment } from './platform-options.js';
import { runTable } from './run-view.js';

/*
 * The platform's catalog and operations through the REST API: pipeline definitions, registered
 * dataset versions, and the services' dead-letter queues.
 */

export const pipelinesCommand: Command = {
  name: 'pipelines',
  summary: 'list the pipeline definitions, or show one: steps, fan-out, resources, triggers',
  usage: `nightshift pipelines [NAME] [--all]

  Without NAME: every pipeline (one page of 100 unless --all), with the datasets that trigger it
  and its steps. With NAME: its steps, their dependencies, fan-out, resources and retries.

${PLATFORM_FLAGS_USAGE}`,
  async run(argv: string[], io: CliIo, env: CliEnvironment) {
    const { values, positionals } = parseCommandLine(argv, { ...PLATFORM_FLAGS, ...PAGING }, { min: 0, max: 1, names: '[NAME]' });
    if (values['help']) return null;
    const ctx = platformContext(values, env, io);
    const [name] = positionals;
    if (name === undefined) {
      const limit = intFlag(values, 'limit', 1);
      const listing = await pages(ctx, (cursor) => `/pipelines${queryString({ limit, cursor })}`, pipelinesPageSchema, 'page of pipelines', values);
      const table = formatTable(
        ['PIPELINE', 'TRIGGERED BY', 'STEPS', 'DESCRIPTION'],
        listing.items.map((p) => [p.name, p.trigger.datasets.join(', ') || '-', p.steps.map((s) => s.name).join(' -> '), clip(p.description, 70)]),
      );
      printListing(ctx, listing, table, 'no pipelines');
      return undefined;
    }
    const { data: p, json } = await ctx.api.get(`/pipelines/${segment(name)}`, pipelineSchema, 'pipeline');
    if (ctx.json) {
      ctx.print(JSON.stringify(json, null, 2));
      return undefined;
    }
    ctx.print(`pipeline      ${p.name}: ${p.description}`);
    ctx.print(`triggered by  ${p.trigger.datasets.length > 0 ? p.trigger.datasets.join(', ') : '(requests only)'}`);
    ctx.print(`needs tables  ${p.requiredTables.length > 0 ? p.requiredTables.join(', ') : '-'}${p.timeoutSeconds !== undefined ? `   run timeout ${formatDuration(p.timeoutSeconds * 1_000)}` : ''}`);
    ctx.print('');
    const rows = p.steps.map((s) => [
      s.name,
      s.fanOut,
      s.dependsOn.join(', ') || '-',
      String(s.vcpus),
      `${s.memoryMiB} MiB`,
      String(s.attempts),
      formatDuration(s.timeoutSeconds * 1_000),
      s.queue,
      s.analytic ?? clip((s.command ?? []).join(' '), 40),
    ]);
    for (const line of formatTable(['STEP', 'FAN-OUT', 'DEPENDS ON', 'VCPU', 'MEMORY', 'ATTEMPTS', 'TIMEOUT', 'QUEUE', 'RUNS'], rows)) ctx.print(line);
    return undefined;
  },
};

export const datasetsCommand: Command = {
  name: 'datasets',
  summary: 'list registered dataset versions, or show one: files, checksums, the runs it started',
  usage: `nightshift datasets [--dataset NAME] [--tenant T] [--limit N] [--cursor C] [--all]
nightshift datasets ID

  Without ID: registered versions, newest first (one page unless --all). With ID
  (<dataset>@<date>#v<version>): its files with rows and checksums, and the runs over it.

${PLATFORM_FLAGS_USAGE}`,
  async run(argv: string[], io: CliIo, env: CliEnvironment) {
    const { values, positionals } = parseCommandLine(argv, { ...PLATFORM_FLAGS, ...PAGING, dataset: { type: 'string' }, tenant: { type: 'string' } }, { min: 0, max: 1, names: '[ID]' });
    if (values['help']) return null;
    const ctx = platformContext(values, env, io);
    const [id] = positionals;
    if (id === undefined) {
      const query = { dataset: optional(values, 'dataset'), tenant: optional(values, 'tenant'), limit: intFlag(values, 'limit', 1) };
      const listing = await pages(ctx, (cursor) => `/datasets${queryString({ ...query, cursor })}`, datasetsPageSchema, 'page of dataset versions', values);
      const table = formatTable(
        ['DATASET VERSION', 'DATE', 'FILES', 'ROWS', 'PARTITIONS', 'REGISTERED'],
        listing.items.map((d) => [d.datasetId, d.businessDate, String(d.files.length), String(d.rowCount), clip(d.partitions.join(',') || '-', 40), formatTime(d.registeredAt)]),
      );
      printListing(ctx, listing, table, 'no dataset versions match');
      return undefined;
    }
    if (optional(values, 'dataset') !== undefined) throw new CliUsageError('give an ID or --dataset, not both');
    const { data: d, json } = await ctx.api.get(`/datasets/${segment(id)}`, datasetDetailSchema, 'dataset version');
    if (ctx.json) {
      ctx.print(JSON.stringify(json, null, 2));
      return undefined;
    }
    ctx.print(`dataset version  ${d.datasetId}${d.tenant ? `   tenant ${d.tenant}` : ''}`);
    ctx.print(`registered       ${formatTime(d.registeredAt)} from Dataset Landed ${d.landedEventId}`);
    ctx.print(`rows             ${d.rowCount} in ${plural(d.files.length, 'file')}; partitions ${d.partitions.join(', ') || '-'}`);
    ctx.print(`manifest         ${d.manifestKey}`);
    ctx.print('');
    for (const line of formatTable(['TABLE', 'DESK', 'ROWS', 'BYTES', 'SHA-256', 'KEY'], d.files.map((f) => [f.table, f.desk ?? '-', String(f.rows), String(f.bytes), f.checksum.slice(0, 12), f.key]))) ctx.print(line);
    ctx.print('');
    if (d.runs.length === 0) ctx.print('no runs over this version');
    else for (const line of runTable(d.runs)) ctx.print(line);
    return undefined;
  },
};

export const dlqCommand: Command = {
  name: 'dlq',
  summary: "list the services' dead letters, or move a queue's back for another delivery",
  usage: `nightshift dlq list [QUEUE] [--limit N] [--cursor C] [--all]
nightshift dlq redrive QUEUE [--max N]

  list     messages in the dead-letter queues (of QUEUE, e.g. planner), oldest first, with why
  redrive  move QUEUE's dead letters (at most --max) back to it; needs a tenantless admin token

${PLATFORM_FLAGS_USAGE}`,
  async run(argv: string[], io: CliIo, env: CliEnvironment) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h') return null;
    if (sub === 'list') {
      const { values, positionals } = parseCommandLine(rest, { ...PLATFORM_FLAGS, ...PAGING }, { min: 0, max: 1, names: '[QUEUE]' });
      if (values['help']) return null;
      const ctx = platformContext(values, env, io);
      const query = { queue: positionals[0], limit: intFlag(values, 'limit', 1) };
      const listing = await pages(ctx, (cursor) => `/dlq${queryString({ ...query, cursor })}`, deadLettersPageSchema, 'page of dead letters', values);
      const table = formatTable(
        ['QUEUE', 'EVENT ID', 'DETAIL TYPE', 'SOURCE', 'RECEIVES', 'DEAD-LETTERED', 'REASON'],
        listing.items.map((d) => [d.queue, d.event?.id ?? `message ${d.messageId}`, d.event?.detailType ?? '(not an event)', d.event?.source ?? '-', String(d.receiveCount ?? '-'), formatTime(d.deadLetteredAt), clip(d.reason ?? '', 80)]),
      );
      printListing(ctx, listing, table, `no dead letters${query.queue ? ` in ${query.queue}` : ''}`);
      return undefined;
    }
    if (sub === 'redrive') {
      const { values, positionals } = parseCommandLine(rest, { ...PLATFORM_FLAGS, max: { type: 'string' } }, { min: 1, max: 1, names: 'QUEUE' });
      if (values['help']) return null;
      const ctx = platformContext(values, env, io);
      const max = intFlag(values, 'max', 1);
      const { data, json } = await ctx.api.post(`/dlq/${segment(positionals[0]!)}/redrive`, max !== undefined ? { max } : {}, redriveResultSchema, 'redrive result');
      if (ctx.json) ctx.print(JSON.stringify(json, null, 2));
      else ctx.print(`moved ${plural(data.moved, 'message')} from ${data.queue}'s dead-letter queue back to ${data.queue}`);
      return undefined;
    }
    throw new CliUsageError(sub === undefined ? 'missing subcommand (list, redrive)' : `unknown subcommand "${sub}" (expected list, redrive)`);
  },
};
