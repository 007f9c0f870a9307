import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PeriodicTask } from './periodic-task.js';
import { Scheduler, type ScheduleTickOutcome } from './scheduler.js';
import { SCHEDULE_LOOP_OPTIONS } from './tokens.js';

/** How the embedded schedule loop runs. */
export interface ScheduleLoopOptions {
  /** Time between two ticks (`schedulerIntervalMs`). */
  intervalMs: number;
}

/**
 * The embedded scheduler's clock: a {@link Scheduler} tick every `intervalMs`, one tick at a time,
 * from the application's bootstrap to its shutdown. Registered only when the planner's config says
 * `scheduler: embedded` (local mode's default); in AWS, EventBridge Scheduler fires instead.
 */
@Injectable()
export class ScheduleLoop implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('scheduler');
  private readonly ticks: PeriodicTask<ScheduleTickOutcome[]>;

  constructor(
    @Inject(Scheduler) private readonly scheduler: Scheduler,
    @Inject(SCHEDULE_LOOP_OPTIONS) options: ScheduleLoopOptions,
  ) {
    this.ticks = new PeriodicTask(() => this.tick(), options.intervalMs);
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  start(): void {
    this.ticks.start({ runNow: true });
  }

  /** One tick now (or joins the one under way); what each schedule published and dropped. Never rejects. */
  tickOnce(): Promise<ScheduleTickOutcome[]> {
    return this.ticks.runOnce();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ticks.stop();
  }

  private tick(): Promise<ScheduleTickOutcome[]> {
    return this.scheduler
      .tick()
      .then((outcomes) => {
        for (const o of outcomes) if (o.published.length > 0) this.log.log(`schedule ${o.schedule} of ${o.pipeline}: fired ${o.published.join(', ')}`);
        return outcomes;
      })
      .catch((e: unknown) => {
        this.log.error(`tick failed: ${e instanceof Error ? e.message : String(e)}`);
        return [];
      });
  }
}
