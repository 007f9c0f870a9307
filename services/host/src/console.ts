import {
  DatasetRegistered,
  DatasetRejected,
  NightshiftSource,
  ReportPublished,
  RunFailed,
  type DatasetRejectedDetail,
  type EventBridgeEvent,
  type ReportPublishedDetail,
  type RuleDefinition,
  type RunFailedDetail,
} from '@nightshift/contracts';
import type { LocalEventBus } from '@nightshift/events-local';
import { runProgress, type JobStore, type Run } from '@nightshift/jobs-domain';
import { formatHeadlineFigure } from '@nightshift/reporting';

/** The console's own queue on the bus: the outcomes a person starting nightshift wants to see. */
export const CONSOLE_QUEUE = 'console';
export const CONSOLE_RULES: readonly RuleDefinition[] = [
  {
    name: 'console-outcomes',
    description: 'Registered and rejected datasets, failed runs and published reports, shown on the terminal.',
    eventPattern: {
      source: [NightshiftSource.ingestion, NightshiftSource.planner, NightshiftSource.reporting],
      'detail-type': [DatasetRegistered.detailType, DatasetRejected.detailType, RunFailed.detailType, ReportPublished.detailType],
    },
  },
];

/**
 * Empties the console's queue; call it once the platform is up, before anything is published. The
 * console shows only the flows this start follows (each by its correlation id), so what an earlier
 * life left there (outcomes published while it served with nobody following, or with --no-sample)
 * is of no use to anyone; purged, it is not kept and reloaded at every start for ever. Resolves
 * with how many messages were dropped.
 */
export function purgeConsoleQueue(bus: Pick<LocalEventBus, 'purge'>): Promise<number> {
  return bus.purge(CONSOLE_QUEUE);
}

/** How one run of a flow ended, or the rejection that ended the flow before any run. */
export type FlowOutcome =
  | { kind: 'report'; detail: ReportPublishedDetail }
  | { kind: 'rejected'; detail: DatasetRejectedDetail }
  | { kind: 'failed'; detail: RunFailedDetail; run?: Run };

/** A followed flow: every outcome seen, and whether the flow ended (false when aborted first). */
export interface FlowResult {
  outcomes: FlowOutcome[];
  complete: boolean;
  /** The landing's content was already registered as this dataset version: nothing new was started. */
  alreadyRegistered?: string;
}

/**
 * Follows one flow (everything correlated to one landed event or run request) on the terminal: the
 * registration, the progress of each of its runs per step, then the outcomes. The flow ends when
 * the dataset is rejected, or when every pipeline in `pipelines` (those the landed dataset
 * triggers, or the one requested) has a report or a failure; a landing that triggers none ends
 * once it is registered.
 * Reads outcomes from its own bus queue and progress from the job store, as any other consumer would.
 */
export async function followFlow(args: {
  bus: LocalEventBus;
  store: JobStore;
  correlationId: string;
  pipelines: readonly string[];
  print: (line: string) => void;
  signal?: AbortSignal;
}): Promise<FlowResult> {
  const { bus, store, correlationId, print } = args;
  const lastLines = new Map<string, string>();
  const ended = new Map<string, FlowOutcome>();
  const outcomes: FlowOutcome[] = [];
  let registered = false;
  let alreadyRegistered: string | undefined;
  // With no pipeline to wait for, the registration is what tells an accepted landing from a lost one;
  // a landing of content already registered starts nothing, so it ends there too.
  const complete = () =>
    outcomes.some((o) => o.kind === 'rejected') ||
    alreadyRegistered !== undefined ||
    (args.pipelines.length === 0 ? registered : args.pipelines.every((p) => ended.has(p)));
  const printProgress = async () => {
    for (const run of (await store.listRuns({ limit: 100 })).items.filter((r) => r.correlationId === correlationId).reverse()) {
      const line = await progressLine(store, run);
      if (line !== lastLines.get(run.runId)) print(line);
      lastLines.set(run.runId, line);
    }
  };
  while (!args.signal?.aborted && !complete()) {
    await printProgress();
    for (const m of await bus.receive(CONSOLE_QUEUE, 10, { waitTimeMs: 300, ...(args.signal ? { signal: args.signal } : {}) })) {
      await bus.ack(CONSOLE_QUEUE, m.receiptHandle);
      if (!registered && isRegistration(m.event, correlationId)) {
        registered = true;
        const d = DatasetRegistered.detail.parse(m.event.detail).data;
        if (d.alreadyRegistered) {
          alreadyRegistered = d.datasetId;
          print(`Dataset already registered as ${d.datasetId} (same files, same checksums): nothing new started; land it with "force": true to run it again`);
          continue;
        }
        print(`Dataset Registered ${d.datasetId}: ${d.rowCount} rows in ${d.files.length} files, partitions ${d.partitions.join(', ') || '-'}`);
        continue;
      }
      const outcome = asOutcome(m.event, correlationId);
      if (!outcome) continue;
      if (outcome.kind === 'rejected') {
        outcomes.push(outcome);
        continue;
      }
      // A run's terminal event may be delivered twice; its first delivery is its outcome.
      if (ended.has(outcome.detail.data.pipeline)) continue;
      const full = outcome.kind === 'failed' ? { ...outcome, ...(await runOf(store, outcome.detail.data.runId)) } : outcome;
      ended.set(outcome.detail.data.pipeline, full);
      outcomes.push(full);
    }
  }
  // The last run's final state, which its outcome may have overtaken.
  if (complete()) await printProgress();
  return { outcomes, complete: complete(), ...(alreadyRegistered !== undefined ? { alreadyRegistered } : {}) };
}

async function runOf(store: JobStore, runId: string): Promise<{ run?: Run }> {
  const run = await store.getRun(runId);
  return run ? { run } : {};
}

/** `run <id> <status>: n/m tasks done [step SUBMITTED n/m done, k failed | …]`, from the steps' counts (no task reads). */
async function progressLine(store: JobStore, run: Run): Promise<string> {
  const current = (await store.getRun(run.runId)) ?? run;
  const progress = runProgress(await store.listSteps(run.runId));
  const steps = Object.entries(progress.steps)
    .map(([step, s]) => `${step} ${s.status} ${s.done}/${s.total} done${s.failed ? `, ${s.failed} failed` : ''}`)
    .join(' | ');
  return `run ${current.runId} ${current.status}: ${progress.done}/${progress.total} tasks done${steps ? ` [${steps}]` : ''}`;
}

function isRegistration(event: EventBridgeEvent, correlationId: string): boolean {
  return event['detail-type'] === DatasetRegistered.detailType && DatasetRegistered.detail.parse(event.detail).metadata.correlationId === correlationId;
}

function asOutcome(event: EventBridgeEvent, correlationId: string): FlowOutcome | undefined {
  const type = event['detail-type'];
  if (type === ReportPublished.detailType) {
    const d = ReportPublished.detail.parse(event.detail);
    return d.metadata.correlationId === correlationId ? { kind: 'report', detail: d } : undefined;
  }
  if (type === DatasetRejected.detailType) {
    const d = DatasetRejected.detail.parse(event.detail);
    return d.metadata.correlationId === correlationId ? { kind: 'rejected', detail: d } : undefined;
  }
  if (type === RunFailed.detailType) {
    const d = RunFailed.detail.parse(event.detail);
    return d.metadata.correlationId === correlationId ? { kind: 'failed', detail: d } : undefined;
  }
  return undefined;
}

/**
 * What the terminal shows of a published report: its headline figures with their units, the file
 * the document was written to, and (while the API serves) where to read it.
 */
export function reportLines(detail: ReportPublishedDetail, where: { file: string; apiUrl?: string }): string[] {
  const d = detail.data;
  return [
    `Report Published ${d.reportId} (${d.pipeline}, ${d.businessDate})`,
    ...Object.entries(d.headline).map(([name, value]) => `  ${name.padEnd(30)} ${formatHeadlineFigure(name, value, d.currency)}`),
    `  file:   ${where.file}`,
    ...(where.apiUrl ? [`  report: ${where.apiUrl}/reports/${d.reportId}`, `  run:    ${where.apiUrl}/runs/${d.runId}`] : []),
  ];
}

/**
 * The one closing line of a start: `done: 3 runs (3 succeeded, 0 failed), 3 reports, 0 rejected in
 * 41.2 s`. Every run of a followed flow ends in a report or a failure; `flow` is undefined when no
 * day was landed (--no-sample).
 */
export function flowSummary(flow: Pick<FlowResult, 'outcomes'> | undefined, elapsedMs: number): string {
  const outcomes = flow?.outcomes ?? [];
  const reports = outcomes.filter((o) => o.kind === 'report').length;
  const failed = outcomes.filter((o) => o.kind === 'failed').length;
  const rejected = outcomes.filter((o) => o.kind === 'rejected').length;
  const runs = reports + failed;
  return `done: ${plural(runs, 'run')} (${reports} succeeded, ${failed} failed), ${plural(reports, 'report')}, ${rejected} rejected in ${(elapsedMs / 1000).toFixed(1)} s`;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
