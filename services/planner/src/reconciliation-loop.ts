import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { BackfillRunner } from './backfills.js';
import { PeriodicTask } from './periodic-task.js';
import type { PlannerCore } from './planner-core.js';
import { Reconciler } from './reconciler.js';
import { PLANNER_CORE, RECONCILE_INTERVAL_MS } from './tokens.js';

/**
 * Runs the reconciliation sweep every `reconcileIntervalMs`, one sweep at a time. Started by
 * `start()` (the composition decides when: the embedded host sweeps once before taking events);
 * stopped with the application.
 */
@Injectable()
export class ReconciliationLoop implements OnApplicationShutdown {
  private readonly log = new Logger('reconciler');
  private readonly sweeps: PeriodicTask<void>;

  constructor(
    @Inject(Reconciler) private readonly reconciler: Reconciler,
    @Inject(RECONCILE_INTERVAL_MS) intervalMs: number,
    @Inject(PLANNER_CORE) private readonly core: PlannerCore,
    // Open backfills are advanced after the runs are repaired, so they see what the sweep repaired.
    @Optional() @Inject(BackfillRunner) private readonly backfills?: BackfillRunner,
  ) {
    this.sweeps = new PeriodicTask(() => this.sweep(), intervalMs);
  }

  start(): void {
    this.sweeps.start();
  }

  /** One sweep now (or joins the one under way); errors are logged, the next sweep tries again. */
  sweepOnce(): Promise<void> {
    return this.sweeps.runOnce();
  }

  async onApplicationShutdown(): Promise<void> {
    const stopped = this.sweeps.stop();
    // The engine's wake-ups go with the sweep that backs them up.
    this.core.wakes.stop();
    await stopped;
  }

  private sweep(): Promise<void> {
    return this.reconciler
      .sweep()
      .then((o) => {
        if (o.lost + o.repaired + o.resumed > 0) this.log.log(`swept ${o.runs} open run(s): ${o.lost} lost task(s) resolved, ${o.repaired} missed state(s) applied, ${o.resumed} submission(s) resumed`);
      })
      .catch((e: unknown) => this.log.error(`sweep failed: ${e instanceof Error ? e.message : String(e)}`))
      .then(async () => {
        await this.backfills?.sweep();
      })
      .catch((e: unknown) => this.log.error(`backfill sweep failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}
