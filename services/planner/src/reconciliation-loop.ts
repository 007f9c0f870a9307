import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { BackfillRunner } from './backfills.js';
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(Reconciler) private readonly reconciler: Reconciler,
    @Inject(RECONCILE_INTERVAL_MS) private readonly intervalMs: number,
    @Inject(PLANNER_CORE) private readonly core: PlannerCore,
    // Open backfills are advanced after the runs are repaired, so they see what the sweep repaired.
    @Optional() @Inject(BackfillRunner) private readonly backfills?: BackfillRunner,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.sweepOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One sweep now (or joins the one under way); errors are logged, the next sweep tries again. */
  sweepOnce(): Promise<void> {
    this.running ??= this.reconciler
      .sweep()
      .then((o) => {
        if (o.lost + o.repaired + o.resumed > 0) this.log.log(`swept ${o.runs} open run(s): ${o.lost} lost task(s) resolved, ${o.repaired} missed state(s) applied, ${o.resumed} submission(s) resumed`);
      })
      .catch((e: unknown) => this.log.error(`sweep failed: ${e instanceof Error ? e.message : String(e)}`))
      .then(async () => {
        await this.backfills?.sweep();
      })
      .catch((e: unknown) => this.log.error(`backfill sweep failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // The engine's wake-ups go with the sweep that backs them up.
    this.core.wakes.stop();
    await this.running;
  }
}
