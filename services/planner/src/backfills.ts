import {
  backfillRunId,
  backfillTriggerEventId,
  cancelBackfill,
  countBackfillDates,
  DatasetLacksTablesError,
  DatasetOfAnotherTenantError,
  finishBackfillIfDone,
  freeBackfillSlots,
  isOpenBackfill,
  isTerminalRunStatus,
  missingDatasetReason,
  moveBackfillDate,
  settleBackfillDate,
  StaleStateError,
  tenantOf,
  type Backfill,
  type BackfillDate,
  type BackfillStore,
  type Clock,
  type DatasetVersion,
  type JobStore,
  type PipelineDefinition,
  type Run,
} from '@nightshift/jobs-domain';
import { BackfillContentionError } from './errors.js';
import type { RunEngine } from './run-engine.js';

/** Rounds of "read the backfill, decide, write it conditioned on its version" before giving up (retryably). */
const MAX_ROUNDS = 25;

/** What one `advance` did. */
export interface BackfillAdvance {
  /** The backfill as it stands after (undefined: no such backfill). */
  backfill?: Backfill;
  /** Dates whose runs this call recorded and started. */
  started: string[];
}

/** What advancing decided on a record as read: the record to write, and the effects to carry out once it is written. */
interface Step {
  next: Backfill;
  /** Dates recorded RUNNING in `next` whose runs are to be started (just recorded, or recorded earlier and never started), with their datasets when known. */
  start: Array<{ date: string; dataset?: DatasetVersion }>;
  /** Open runs of a cancelled backfill, to cancel. */
  stop: string[];
  /** RUNNING dates of a cancelled backfill whose runs were never started: recorded as failed runs, so that no late start can run them. */
  tombstones: string[];
}

/**
 * Runs backfills (`Backfill`, `BackfillStore`): on Backfill Requested, when one of its runs
 * finishes (Run Succeeded / Run Failed carry `backfillId`), on Backfill Cancel Requested, and in the
 * reconciliation sweep. Every call reads the record and the runs it names, decides with the
 * domain's pure functions, writes the record conditioned on its version (a lost race reads again),
 * and only then carries out what the written record says: a date is recorded RUNNING, with its run
 * id, before its run is started. So the RUNNING dates always include every open run of the backfill,
 * never more than `concurrency`; a crash between the write and the start leaves a RUNNING date
 * without a run, which the next advance starts (run ids are deterministic: starting twice is one run).
 * Nothing is kept in memory between calls: any planner process may advance any backfill.
 */
export class BackfillRunner {
  constructor(
    private readonly backfills: BackfillStore,
    private readonly store: JobStore,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
  ) {}

  /**
   * Moves a backfill on: settles RUNNING dates whose runs ended, records the next PENDING dates as
   * RUNNING while fewer than `concurrency` are (a date without a registered dataset becomes
   * MISSING_DATASET with the reason instead), finishes it once every date is settled, then starts
   * the runs the record says should run (and, for a cancelled backfill, cancels those still open).
   * Idempotent: call it as often as anything happens.
   */
  async advance(backfillId: string, traceparent?: string): Promise<BackfillAdvance> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.backfills.get(backfillId);
      if (!current) return { started: [] };
      if (!isOpenBackfill(current)) return { backfill: current, started: [] };
      const step = await this.decide(current);
      let stored = current;
      if (step.next !== current) {
        try {
          stored = await this.backfills.update(current.version, step.next);
        } catch (e) {
          if (e instanceof StaleStateError) continue;
          throw e;
        }
      }
      await this.carryOut(stored, step, traceparent);
      return { backfill: stored, started: step.start.map((s) => s.date) };
    }
    throw new BackfillContentionError(backfillId, MAX_ROUNDS);
  }

  /**
   * Cancels a backfill: CANCELLED, its PENDING dates CANCELLED with the reason, then advanced (which
   * cancels its open runs and finishes it once they have ended). Undefined when there is no such
   * backfill; a finished or already cancelled one is advanced as it is (cancelling twice is once).
   */
  async cancel(backfillId: string, reason: string, traceparent?: string): Promise<BackfillAdvance> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.backfills.get(backfillId);
      if (!current) return { started: [] };
      const next = cancelBackfill(current, reason, this.clock.now());
      if (next) {
        try {
          await this.backfills.update(current.version, next);
        } catch (e) {
          if (e instanceof StaleStateError) continue;
          throw e;
        }
      }
      return this.advance(backfillId, traceparent);
    }
    throw new BackfillContentionError(backfillId, MAX_ROUNDS);
  }

  /**
   * Advances every open backfill: repairs what a lost event or a crashed process left (a run that
   * ended unnoticed, a date recorded but never started). One backfill's failure does not stop the
   * others; the first is rethrown once all were tried. Resolves how many were advanced.
   */
  async sweep(): Promise<{ backfills: number }> {
    let count = 0;
    let firstError: { error: unknown } | undefined;
    let nextToken: string | undefined;
    do {
      const page = await this.backfills.listOpen({ limit: 100, ...(nextToken ? { nextToken } : {}) });
      for (const summary of page.items) {
        count += 1;
        await this.advance(summary.backfillId).catch((error: unknown) => (firstError ??= { error }));
      }
      nextToken = page.nextToken;
    } while (nextToken);
    if (firstError) throw firstError.error;
    return { backfills: count };
  }

  /** Decides the next record from the one read and the runs it names; `next` is `current` itself when nothing changes. */
  private async decide(current: Backfill): Promise<Step> {
    const now = this.clock.now();
    const cancelled = current.status === 'CANCELLED';
    const dates: BackfillDate[] = [...current.dates];
    const step: Step = { next: current, start: [], stop: [], tombstones: [] };

    // What became of the runs the record names (a handful: at most `concurrency`).
    const running = dates.flatMap((d, i) => (d.status === 'RUNNING' ? [i] : []));
    const runs = await Promise.all(running.map((i) => this.store.getRun(dates[i]!.runId ?? backfillRunId(current, dates[i]!.date))));
    running.forEach((i, k) => {
      const date = dates[i]!;
      const run = runs[k];
      if (!run) {
        if (cancelled) step.tombstones.push(date.date);
        else step.start.push({ date: date.date });
        return;
      }
      const settled = settleBackfillDate(date, run, cancelled);
      if (settled) dates[i] = settled;
      else if (cancelled && !isTerminalRunStatus(run.status)) step.stop.push(run.runId);
    });

    if (!cancelled) await this.fill(current, dates, step);
    const changed = dates.some((d, i) => d !== current.dates[i]);
    const next = finishBackfillIfDone(changed ? { ...current, dates, updatedAt: now.toISOString() } : current, now);
    step.next = next;
    return step;
  }

  /** Records PENDING dates, in order, as RUNNING (or MISSING_DATASET) while the backfill has free slots. */
  private async fill(current: Backfill, dates: BackfillDate[], step: Step): Promise<void> {
    const pipeline = this.engine.pipeline(current.pipeline);
    const input = pipeline?.trigger.datasets[0];
    let free = freeBackfillSlots({ concurrency: current.concurrency, dates });
    for (let i = 0; i < dates.length && free > 0; i++) {
      const date = dates[i]!;
      if (date.status !== 'PENDING') continue;
      if (!pipeline || input === undefined) {
        const why = pipeline ? `pipeline ${current.pipeline} has no trigger dataset to run over` : `pipeline ${current.pipeline} is not configured in this planner`;
        dates[i] = moveBackfillDate(date, { status: 'FAILED', reason: why });
        continue;
      }
      const dataset = await this.store.latestDatasetVersion(input, date.date, { tenant: tenantOf(current) });
      if (!dataset) {
        dates[i] = moveBackfillDate(date, { status: 'MISSING_DATASET', reason: missingDatasetReason(input, date.date) });
        continue;
      }
      dates[i] = moveBackfillDate(date, { status: 'RUNNING', runId: backfillRunId(current, date.date) });
      step.start.push({ date: date.date, dataset });
      free -= 1;
    }
  }

  /** The effects of the record as written: runs started, cancelled runs stopped, never-started runs of a cancelled backfill made impossible. */
  private async carryOut(backfill: Backfill, step: Step, traceparent: string | undefined): Promise<void> {
    const pipeline = this.engine.pipeline(backfill.pipeline);
    for (const { date, dataset } of step.start) {
      if (!pipeline) continue;
      const found = dataset ?? (await this.store.latestDatasetVersion(pipeline.trigger.datasets[0] ?? '', date, { tenant: tenantOf(backfill) }));
      if (found) await this.startRun(backfill, pipeline, found, traceparent);
      else await this.failRun(backfill, date, `no registered ${pipeline.trigger.datasets[0] ?? 'input'} dataset for ${date} any more`, traceparent);
    }
    const reason = `backfill ${backfill.backfillId} cancelled`;
    for (const runId of step.stop) await this.engine.cancelRun(runId, reason);
    for (const date of step.tombstones) {
      // Recorded as a FAILED run unless a late start made it first: then that run is stopped instead.
      await this.failRun(backfill, date, `cancelled: ${reason} before the run started`, traceparent);
      const run: Run | undefined = await this.store.getRun(backfillRunId(backfill, date));
      if (run && !isTerminalRunStatus(run.status)) await this.engine.cancelRun(run.runId, reason);
    }
  }

  /** Starts the date's run, or records it FAILED (Run Failed, with the backfill) when its dataset cannot feed the pipeline. */
  private async startRun(backfill: Backfill, pipeline: PipelineDefinition, dataset: DatasetVersion, traceparent: string | undefined): Promise<void> {
    try {
      await this.engine.startRun({ pipeline, dataset, ...this.meta(backfill, dataset.businessDate, traceparent) });
    } catch (e) {
      if (!(e instanceof DatasetLacksTablesError) && !(e instanceof DatasetOfAnotherTenantError)) throw e;
      await this.failRun(backfill, dataset.businessDate, e.message, traceparent, dataset.datasetId);
    }
  }

  private failRun(backfill: Backfill, date: string, reason: string, traceparent: string | undefined, datasetId?: string): Promise<void> {
    return this.engine.failUnplannable({ ...this.meta(backfill, date, traceparent), pipeline: backfill.pipeline, businessDate: date, reason, ...(datasetId ? { datasetId } : {}) });
  }

  /** A backfill's run: triggered by the backfill and the date (its id derives from both), correlated with the backfill, its tenant's. */
  private meta(backfill: Backfill, date: string, traceparent: string | undefined) {
    return {
      triggerEventId: backfillTriggerEventId(backfill.backfillId, date),
      correlationId: backfill.backfillId,
      ...(traceparent ? { traceparent } : {}),
      tenant: tenantOf(backfill),
      backfillId: backfill.backfillId,
    };
  }
}

/** One line for the log: the backfill's status, its dates per status, and what this call started. */
export function describeAdvance(outcome: BackfillAdvance): string {
  const b = outcome.backfill;
  if (!b) return 'no such backfill';
  const counts = Object.entries(countBackfillDates(b.dates))
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  return `${b.status} (${counts})${outcome.started.length > 0 ? `; started ${outcome.started.join(', ')}` : ''}`;
}
