import {
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

/** The console's own queue on the bus: the outcomes a person starting nightshift wants to see. */
export const CONSOLE_QUEUE = 'console';
export const CONSOLE_RULES: readonly RuleDefinition[] = [
  {
    name: 'console-outcomes',
    description: 'Rejected datasets, failed runs and published reports, shown on the terminal.',
    eventPattern: {
      source: [NightshiftSource.ingestion, NightshiftSource.planner, NightshiftSource.reporting],
      'detail-type': [DatasetRejected.detailType, RunFailed.detailType, ReportPublished.detailType],
    },
  },
];

export type FlowOutcome =
  | { kind: 'report'; detail: ReportPublishedDetail }
  | { kind: 'rejected'; detail: DatasetRejectedDetail }
  | { kind: 'failed'; detail: RunFailedDetail; run?: Run };

/**
 * Follows one flow (everything correlated to one landed event) on the terminal: progress of its
 * run per step, then the outcome. Reads outcomes from its own bus queue and progress from the job
 * store, as any other consumer would.
 */
export async function followFlow(args: {
  bus: LocalEventBus;
  store: JobStore;
  correlationId: string;
  print: (line: string) => void;
  signal?: AbortSignal;
}): Promise<FlowOutcome | undefined> {
  const { bus, store, correlationId, print } = args;
  let lastLine = '';
  let run: Run | undefined;
  while (!args.signal?.aborted) {
    run ??= (await store.listRuns({ limit: 50 })).find((r) => r.correlationId === correlationId);
    if (run) {
      const current = (await store.getRun(run.runId)) ?? run;
      const progress = runProgress(await store.listTasks(run.runId));
      const steps = Object.entries(progress.steps)
        .map(([step, s]) => `${step} ${s.done}/${s.total} done${s.running ? `, ${s.running} running` : ''}${s.failed ? `, ${s.failed} failed` : ''}`)
        .join(' | ');
      const line = `run ${current.runId} ${current.status}: ${progress.done}/${progress.total} tasks done${steps ? ` [${steps}]` : ''}`;
      if (line !== lastLine) print(line);
      lastLine = line;
    }
    for (const m of await bus.receive(CONSOLE_QUEUE, 10, { waitTimeMs: 300, ...(args.signal ? { signal: args.signal } : {}) })) {
      await bus.ack(CONSOLE_QUEUE, m.receiptHandle);
      const outcome = asOutcome(m.event, correlationId);
      if (outcome) return outcome.kind === 'failed' && run ? { ...outcome, run: (await store.getRun(run.runId)) ?? run } : outcome;
    }
  }
  return undefined;
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
