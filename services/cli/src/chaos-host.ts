#!/usr/bin/env node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBusinessDay } from '@nightshift/analytics';
import { type DatasetLandedDetail, ReportPublished, RunFailed, RunSucceeded, runOutputsListingSchema } from '@nightshift/contracts';
// The chaos run kills and restarts the embedded platform as composed for `npm start`, not a copy of
// it: like the bench, the one app that may load the host app (see bench-nightshift.ts).
// eslint-disable-next-line @nx/enforce-module-boundaries -- the chaos run exercises the host's composition itself
import { type EmbeddedPlatform, startEmbeddedPlatform } from '@nightshift/host';
import { definePipeline, type PipelineDefinition, type Task } from '@nightshift/jobs-domain';
import type { ChaosFacts, ChaosHostMessage, ChaosParentMessage, RunProgress, TerminalCount } from './chaos-protocol.js';

/**
 * The host of a chaos run, forked by `nightshift chaos` (chaos.ts) and killed -9 by it at random
 * points: the embedded platform on a home that survives it, with a backtest pipeline of `--tasks`
 * parameter sets and a queue that keeps every terminal event, so that the parent can count them at
 * the end. It tells the parent over IPC when it is up (with the landing to send), how the run is
 * doing (every second), and, when asked, what the home holds (ChaosFacts).
 */

export const CHAOS_PIPELINE = 'chaos-backtest';
export const CHAOS_DATASET = 'chaos-history';
export const CHAOS_BUSINESS_DATE = '2026-06-30';
/** Keeps every terminal event the platform publishes; nothing consumes it but the final count. */
const TERMINAL_QUEUE = 'chaos-terminal';
const TERMINAL_TYPES = [RunSucceeded, RunFailed, ReportPublished] as const;
const PRICES_KEY = `landing/${CHAOS_DATASET}/prices/business_date=${CHAOS_BUSINESS_DATE}/part-0.csv`;

/**
 * The backtest sweep over `tasks` parameter sets: fast x slow x costBps, factored as evenly as
 * `tasks` allows (1,000 = 10 x 10 x 10). Ten attempts, AWS Batch's maximum: every host kill costs
 * the attempts of the tasks it was running, and a task may be hit more than once.
 */
export function chaosPipeline(tasks: number): PipelineDefinition {
  const [f, s, c] = factor3(tasks);
  return definePipeline({
    name: CHAOS_PIPELINE,
    description: `chaos run: a backtest sweep of ${tasks} parameter sets`,
    trigger: { datasets: [CHAOS_DATASET] },
    requiredTables: ['prices'],
    steps: [
      {
        name: 'sweep',
        analytic: 'backtest',
        fanOut: 'parameters',
        parameters: {
          fast: range(f, (i) => 2 + i),
          slow: range(s, (i) => 30 + 5 * i),
          costBps: range(c, (i) => i),
        },
        vcpus: 0.5,
        memoryMiB: 256,
        attempts: 10,
        timeoutSeconds: 300,
      },
    ],
  });
}

/** `n` as a x b x c with a <= b <= c as close to each other as its divisors allow. */
function factor3(n: number): [number, number, number] {
  const largestDivisorUpTo = (m: number, limit: number): number => {
    for (let d = Math.floor(limit); d > 1; d--) if (m % d === 0) return d;
    return 1;
  };
  const a = largestDivisorUpTo(n, Math.cbrt(n) + 1e-9);
  const b = largestDivisorUpTo(n / a, Math.sqrt(n / a) + 1e-9);
  return [a, b, n / a / b];
}

const range = (n: number, at: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => at(i));

interface HostArgs {
  home: string;
  tasks: number;
  vcpus: number;
}

function parseHostArgs(argv: string[]): HostArgs {
  const value = (name: string): string => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (v === undefined) throw new Error(`chaos-host: missing --${name}`);
    return v;
  };
  return { home: value('home'), tasks: Number(value('tasks')), vcpus: Number(value('vcpus')) };
}

/** The landed day: the price history of a generated business day (deterministic from its seed), written once per home. */
async function ensureDataset(platform: EmbeddedPlatform): Promise<DatasetLandedDetail> {
  if (!(await platform.objects.head(PRICES_KEY))) {
    const outDir = await mkdtemp(join(tmpdir(), 'nightshift-chaos-'));
    try {
      const { files } = await generateBusinessDay({ outDir, businessDate: CHAOS_BUSINESS_DATE, seed: 7, desks: ['chaos'], symbols: 10, ordersPerDesk: 5, quotesPerSymbol: 10 });
      const prices = files.find((f) => f.table === 'prices');
      if (!prices) throw new Error('chaos-host: the generated day has no prices table');
      await platform.objects.putFile(PRICES_KEY, prices.path);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }
  return { dataset: CHAOS_DATASET, businessDate: CHAOS_BUSINESS_DATE, producer: 'nightshift-chaos', files: [{ table: 'prices', key: PRICES_KEY }] };
}

/** The pipeline's runs; a task is counted finished from its own record (a step's counts are folded 25 tasks at a time). */
async function progress(platform: EmbeddedPlatform): Promise<RunProgress[]> {
  const runs = (await platform.store.listRuns()).items.filter((r) => r.pipeline === CHAOS_PIPELINE);
  const out: RunProgress[] = [];
  for (const run of runs) {
    const tasks = await allTasks(platform, run.runId);
    const reports = await platform.store.listReports({ runId: run.runId });
    out.push({
      runId: run.runId,
      status: run.status,
      tasksTotal: run.tasksTotal,
      succeeded: tasks.filter((t) => t.status === 'SUCCEEDED').length,
      failed: tasks.filter((t) => t.status === 'FAILED').length,
      outboxPending: run.outbox?.length ?? 0,
      reportId: reports.items[0]?.reportId,
    });
  }
  return out;
}

async function allTasks(platform: EmbeddedPlatform, runId: string): Promise<Task[]> {
  const tasks: Task[] = [];
  let nextToken: string | undefined;
  do {
    const page = await platform.store.listTasks(runId, { limit: 1000, ...(nextToken ? { nextToken } : {}) });
    tasks.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return tasks;
}

/** What the home holds once the run has ended: every run of the pipeline, its tasks, outputs, report and terminal events. */
async function facts(platform: EmbeddedPlatform): Promise<ChaosFacts> {
  const runs = await progress(platform);
  const run = runs[0];
  const tasks = run ? await allTasks(platform, run.runId) : [];
  let outputs: ChaosFacts['outputs'] = { entries: 0, distinctTasks: 0 };
  let report: ChaosFacts['report'];
  if (run) {
    const stored = await platform.store.getRun(run.runId);
    const listingKey = `runs/${run.runId}/outputs.json`;
    if (stored?.status === 'SUCCEEDED' && (await platform.objects.head(listingKey))) {
      const listing = runOutputsListingSchema.parse(JSON.parse(Buffer.from(await platform.objects.get(listingKey)).toString('utf8')));
      outputs = { entries: listing.outputs.length, distinctTasks: new Set(listing.outputs.map((o) => `${o.step}#${o.partition}`)).size };
    }
    if (run.reportId) {
      const meta = await platform.store.getReport(run.reportId);
      if (meta) {
        const doc = JSON.parse(Buffer.from(await platform.objects.get(meta.key)).toString('utf8')) as Record<string, unknown>;
        // What does not depend on the data: ids, times, and the run's own facts in the provenance
        // (the dataset's files and checksums, the pipeline and the code version stay compared).
        for (const k of ['reportId', 'runId', 'datasetId', 'generatedAt']) delete doc[k];
        const provenance = doc['provenance'] as { run?: unknown; dataset?: Record<string, unknown> } | undefined;
        if (provenance) {
          delete provenance.run;
          if (provenance.dataset) for (const k of ['datasetId', 'registeredAt', 'manifestKey']) delete provenance.dataset[k];
        }
        // Keys under the run's prefix (a section's detail files) name the run.
        report = JSON.parse(JSON.stringify(doc).replaceAll(run.runId, '<run>')) as Record<string, unknown>;
      }
    }
  }
  const steps = run ? await platform.store.listSteps(run.runId) : [];
  return {
    runs,
    steps: { succeeded: steps.reduce((n, s) => n + s.succeeded, 0), failed: steps.reduce((n, s) => n + s.failed, 0) },
    tasks: {
      total: tasks.length,
      succeeded: tasks.filter((t) => t.status === 'SUCCEEDED').length,
      notSucceeded: tasks.filter((t) => t.status !== 'SUCCEEDED').slice(0, 5).map((t) => `${t.taskId} ${t.status}`),
      // A result is committed by a successful attempt; two would be a duplicate.
      withSeveralSuccesses: tasks.filter((t) => t.attempts.filter((a) => a.exitCode === 0).length > 1).map((t) => t.taskId),
      attempts: tasks.reduce((n, t) => n + t.attempts.length, 0),
    },
    outputs,
    terminal: await drainTerminal(platform),
    report,
  };
}

/** Reads every message of the terminal queue (without deleting it): per run and type, distinct event ids and deliveries. */
async function drainTerminal(platform: EmbeddedPlatform): Promise<TerminalCount[]> {
  const consumer = platform.bus.consumer(TERMINAL_QUEUE);
  const counts = new Map<string, TerminalCount & { ids: Set<string> }>();
  for (;;) {
    const batch = await consumer.receive(10, { waitTimeMs: 0 });
    if (batch.length === 0) break;
    for (const m of batch) {
      const detail = m.event.detail as { data?: { runId?: string } };
      const runId = detail.data?.runId ?? '?';
      const key = `${runId} ${m.event['detail-type']}`;
      const c = counts.get(key) ?? { runId, detailType: m.event['detail-type'], events: 0, deliveries: 0, ids: new Set<string>() };
      c.deliveries++;
      c.ids.add(m.event.id);
      c.events = c.ids.size;
      counts.set(key, c);
    }
  }
  return [...counts.values()].map(({ ids: _ids, ...c }) => c);
}

async function main(): Promise<void> {
  const args = parseHostArgs(process.argv.slice(2));
  const send = (message: ChaosHostMessage): void => {
    process.send?.(message);
  };
  const platform = await startEmbeddedPlatform({
    home: args.home,
    apiPort: 0,
    eventsPort: 0,
    vcpus: args.vcpus,
    memoryMiB: 4096,
    extraPipelines: [chaosPipeline(args.tasks)],
    extraQueues: {
      [TERMINAL_QUEUE]: [
        {
          name: TERMINAL_QUEUE,
          description: 'Every terminal event of the chaos run, counted at its end.',
          eventPattern: { source: TERMINAL_TYPES.map((t) => t.source), 'detail-type': TERMINAL_TYPES.map((t) => t.detailType) },
        },
      ],
    },
    // Recovery in seconds rather than the defaults' minutes, so 20 restarts fit in one run: what a
    // killed host held comes back after 5 s, the sweep looks every 2 s, a stale claim is taken after 5 s.
    visibilityTimeoutMs: 5_000,
    reconcileIntervalMs: 2_000,
    claimTimeoutMs: 5_000,
    logger: false,
  });
  const landing = await ensureDataset(platform);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  process.on('message', (message: ChaosParentMessage) => {
    if (message.type === 'facts') void facts(platform).then((f) => send({ type: 'facts', facts: f }), (e: unknown) => send({ type: 'error', message: String(e) }));
  });
  const timer = setInterval(() => {
    void progress(platform).then((runs) => send({ type: 'progress', runs }), () => undefined);
  }, 1000);
  send({ type: 'ready', eventsUrl: platform.eventsUrl, credentials: platform.credentials.upstream, landing });
}

await main().catch((e: unknown) => {
  const message: ChaosHostMessage = { type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  if (process.send) process.send(message, () => process.exit(1));
  else process.exit(1);
});
