import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS } from '@nightshift/observability';
import { previousBusinessDayBefore, type CalendarId, type PipelineDefinition } from '@nightshift/jobs-domain';

/**
 * The business day before `now`'s date (UTC) in `calendar`: the business day a nightly run covers
 * by default. The host's `--date` default keeps the weekday calendar (the sample day is no
 * exchange's); a pipeline's default is its own calendar's (`XNYS`, `XLON`: holidays skipped).
 */
export function previousBusinessDay(now: Date, calendar: CalendarId = 'WEEKDAYS'): string {
  return previousBusinessDayBefore(calendar, now);
}

/** The default business date of a run of `pipeline` requested at `now`: its calendar's business day before today (UTC). */
export function defaultBusinessDate(pipeline: Pick<PipelineDefinition, 'calendar'>, now: Date): string {
  return previousBusinessDay(now, pipeline.calendar);
}

/** The embedded host's configuration: environment plus command-line flags, parsed once at boot. */
export const hostConfigSchema = z.object({
  /** Everything the embedded mode keeps on disk: DynamoDB data, bus queues, objects, traces, logs. */
  home: z.string().min(1),
  /** The REST API's port (`NIGHTSHIFT_API_PORT`; 3000, but any free one with --once: nothing is served after it exits). */
  apiPort: z.coerce.number().int().min(0).max(65535),
  /** The AWS APIs gateway's port (`NIGHTSHIFT_EVENTS_PORT`; 4010, any free one with --once). */
  eventsPort: z.coerce.number().int().min(0).max(65535),
  /** The local compute environment's budget. */
  vcpus: z.coerce.number().positive(),
  memoryMiB: z.coerce.number().int().positive(),
  otlpEndpoint: z.string().url().optional(),
  /** Exit once the sample day's runs have ended (reports or failures) instead of serving until Ctrl-C. */
  once: z.boolean(),
  /** Skip creating and landing the sample business day. */
  noSample: z.boolean(),
  /** Run ingestion, planner and reporting as three `aws`-mode processes against the platform's AWS APIs. */
  split: z.boolean(),
  businessDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
    .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'is not a calendar date'),
  seed: z.coerce.number().int(),
  desks: z.array(z.string().min(1)).min(1),
  /**
   * Pipelines users define, one per `*.yaml`, `*.yml` or `*.json` file, run beside the built-in ones
   * (`NIGHTSHIFT_PIPELINES_DIR`; by default `<home>/pipelines` when that directory exists). Read
   * once at start: a bad file refuses the start, naming each problem's file, path and line.
   */
  pipelinesDir: z.string().min(1).optional(),
  /**
   * Notification subscriptions: webhooks signed with HMAC-SHA256 (`NIGHTSHIFT_WEBHOOKS_FILE`; by
   * default `<home>/webhooks.yaml` when that file exists; docs/notifications.md). A bad file refuses
   * the start, naming its entry and field.
   */
  webhooksFile: z.string().min(1).optional(),
  /** The least severe line the platform logs (`<home>/logs/nightshift.jsonl`, and stderr on a terminal); the workers' too. */
  logLevel: z.enum(LOG_LEVELS),
}).superRefine((c, ctx) => {
  // The sample day is generated for a business day: refused here, before anything starts, not by the generator after.
  const day = new Date(`${c.businessDate}T00:00:00Z`).getUTCDay();
  if (!c.noSample && (day === 0 || day === 6)) {
    ctx.addIssue({ code: 'custom', path: ['businessDate'], message: `${c.businessDate} is a ${day === 0 ? 'Sunday' : 'Saturday'}: the sample day is a weekday (or pass --no-sample)` });
  }
});
export type HostConfig = z.infer<typeof hostConfigSchema>;

/** Thrown for a bad flag or variable; main prints it and exits 2. */
export class HostUsageError extends Error {
  readonly retryable = false;
}

/** `--help`: not an error; main prints `usage` on stdout and exits 0. */
export class HostHelpRequested extends Error {
  constructor(readonly usage: string) {
    super(usage);
    this.name = 'HostHelpRequested';
  }
}

/** How a field of the configuration is named to the person who sets it. */
export const FIELD_NAMES: Readonly<Record<string, string>> = {
  businessDate: '--date',
  seed: '--seed',
  desks: '--desks',
  home: 'NIGHTSHIFT_HOME',
  apiPort: 'NIGHTSHIFT_API_PORT',
  eventsPort: 'NIGHTSHIFT_EVENTS_PORT',
  vcpus: 'NIGHTSHIFT_VCPUS',
  memoryMiB: 'NIGHTSHIFT_MEMORY_MIB',
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  pipelinesDir: 'NIGHTSHIFT_PIPELINES_DIR',
  webhooksFile: 'NIGHTSHIFT_WEBHOOKS_FILE',
  logLevel: 'NIGHTSHIFT_LOG_LEVEL',
};

const USAGE = `usage: npm start -- [--once] [--no-sample] [--split] [--date YYYY-MM-DD] [--seed N] [--desks a,b,c]
       --split (npm run start:split): the services as three aws-mode processes on the platform's AWS APIs
       --once: run the sample day, print the reports' files and a summary line, exit (1 if a run failed or the day was rejected)
environment: NIGHTSHIFT_HOME (default ./.nightshift), NIGHTSHIFT_API_PORT (3000), NIGHTSHIFT_EVENTS_PORT (4010: the AWS APIs;
             with --once both default to any free port),
             NIGHTSHIFT_VCPUS (all cores), NIGHTSHIFT_MEMORY_MIB (4096), OTEL_EXPORTER_OTLP_ENDPOINT,
             NIGHTSHIFT_PIPELINES_DIR (pipelines of your own, one per *.yaml, *.yml or *.json file; default
             <home>/pipelines when it exists), NIGHTSHIFT_WEBHOOKS_FILE (webhooks to notify; default
             <home>/webhooks.yaml when it exists), NIGHTSHIFT_LOG_LEVEL (info; trace|debug|info|warn|error|fatal|silent)`;

export function loadHostConfig(argv: string[], env: NodeJS.ProcessEnv = process.env, now = new Date()): HostConfig {
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--once' || a === '--no-sample' || a === '--split') flags[a.slice(2)] = true;
    else if (['--date', '--seed', '--desks'].includes(a)) {
      const v = argv[++i];
      if (v === undefined) throw new HostUsageError(`${a} needs a value\n${USAGE}`);
      flags[a.slice(2)] = v;
    } else if (a === '--help' || a === '-h') throw new HostHelpRequested(USAGE);
    else throw new HostUsageError(`unknown argument ${a}\n${USAGE}`);
  }
  const home = resolve(env['NIGHTSHIFT_HOME'] ?? '.nightshift');
  const defaultPipelinesDir = join(home, 'pipelines');
  const defaultWebhooksFile = join(home, 'webhooks.yaml');
  const result = hostConfigSchema.safeParse({
    home,
    // --once serves nobody after it exits: any free ports, unless asked for, so it runs beside a serving host.
    apiPort: env['NIGHTSHIFT_API_PORT'] || (flags['once'] === true ? 0 : 3000),
    eventsPort: env['NIGHTSHIFT_EVENTS_PORT'] || (flags['once'] === true ? 0 : 4010),
    vcpus: env['NIGHTSHIFT_VCPUS'] ?? availableParallelism(),
    memoryMiB: env['NIGHTSHIFT_MEMORY_MIB'] ?? 4096,
    otlpEndpoint: env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
    once: flags['once'] === true,
    noSample: flags['no-sample'] === true,
    split: flags['split'] === true,
    businessDate: flags['date'] ?? previousBusinessDay(now),
    seed: flags['seed'] ?? 42,
    desks: typeof flags['desks'] === 'string' ? flags['desks'].split(',').map((s) => s.trim()) : ['equities-cash', 'equities-pt', 'etf', 'futures'],
    // Set explicitly, it must exist (the start says so otherwise); the default only when it does.
    pipelinesDir: env['NIGHTSHIFT_PIPELINES_DIR']
      ? resolve(env['NIGHTSHIFT_PIPELINES_DIR'])
      : statSync(defaultPipelinesDir, { throwIfNoEntry: false })?.isDirectory()
        ? defaultPipelinesDir
        : undefined,
    webhooksFile: env['NIGHTSHIFT_WEBHOOKS_FILE']
      ? resolve(env['NIGHTSHIFT_WEBHOOKS_FILE'])
      : statSync(defaultWebhooksFile, { throwIfNoEntry: false })?.isFile()
        ? defaultWebhooksFile
        : undefined,
    logLevel: env['NIGHTSHIFT_LOG_LEVEL'] || 'info',
  });
  if (!result.success) {
    throw new HostUsageError(result.error.issues.map((i) => `${FIELD_NAMES[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`).join('\n') + `\n${USAGE}`);
  }
  return result.data;
}
